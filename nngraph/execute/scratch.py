"""The buffers calls of a plan run in, kept between calls: one set per plan and thread.

A plan's numpy pass writes every neuron's column of a ``(rows, batch)`` buffer. A fresh buffer of
megabytes costs the page faults of its first touch (the kernel zeroes every page) on every call:
for an LSTM(32) unrolled over 20 steps, a batch of 256 is a 6 MB buffer, and those faults were a
fifth of the call. A kept buffer pays them once. Each thread keeps its own, so concurrent calls
share nothing mutable, and a call copies what it returns out of the buffer. A buffer larger than
``KEPT_BYTES`` is not kept, so that one huge batch does not hold its memory after the call.

A trace hands its two buffers (weighted sums, values) to the ``Trace`` it returns, so they cannot
be the kept buffer. Fresh ones cost the same faults: 784-512-512-10 at 4096 samples in float64
traces into two buffers of 60 MB, whose faults took 20 to 25 ms of a 120 ms call. So
``trace_buffers`` keeps the last trace's buffers as well and gives them to the next trace once
nothing else refers to them: the ``Trace`` is dropped, and every view of its arrays (a view holds
the array it views), as when a loop reads what it needs of each trace. While they are in use, the
next trace gets fresh ones, kept in their place.

A trace also holds the inputs in its value buffer, neuron-major: ``copy_transposed`` writes them
there a block of samples at a time, since numpy's plain transposing copy strides through the whole
destination for every sample (784 inputs x 4096 samples in float64: 24 ms plain, 8 ms by blocks,
4 ms for a straight copy of the same bytes).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

KEPT_BYTES = 64 * 2**20  # larger buffers are allocated per call and freed after it
# Smaller trace buffers are always fresh: looking for a dropped trace's takes about 4 us, np.empty
# under 1 us, and the heap hands out small arrays without page faults.
REUSED_BYTES = 2**20
BLOCK_BYTES = 2**20  # ``copy_transposed`` reads samples in blocks of this size, well within a core's cache


class Scratch:
    """One plan's kept buffers, one set per thread: ``plan(x)``'s, and its last trace's.

    Examples
    --------
    >>> scratch = Scratch()
    >>> first = scratch.buffer(rows=3, batch=4, dtype=np.dtype(np.float64))
    >>> first.shape, first.flags.c_contiguous
    ((3, 4), True)
    >>> np.shares_memory(first, scratch.buffer(rows=3, batch=2, dtype=np.dtype(np.float64)))
    True
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def buffer(self, *, rows: int, batch: int, dtype: np.dtype) -> np.ndarray:
        """A C-contiguous ``(rows, batch)`` array of ``dtype``, with any contents: this thread's kept
        buffer (grown when too small), or a fresh one above ``KEPT_BYTES``."""
        view = getattr(self._local, "view", None)
        if view is not None and view.shape == (rows, batch) and view.dtype == dtype:
            return view  # the last call's: a call of one sample spent a microsecond on the lines below
        size = rows * batch
        if size * dtype.itemsize > KEPT_BYTES:
            return np.empty((rows, batch), dtype=dtype)
        kept = getattr(self._local, "array", None)
        if kept is None or kept.dtype != dtype or kept.size < size:
            kept = self._local.array = np.empty(size, dtype=dtype)
        self._local.view = kept[:size].reshape(rows, batch)
        return self._local.view

    def trace_buffers(self, *, rows: int, batch: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Two C-contiguous ``(rows, batch)`` arrays of ``dtype``, with any contents, for a trace to
        keep: from ``REUSED_BYTES`` up, this thread's last trace's, if nothing refers to them any more
        and they are large enough but at most twice the size, else fresh ones (kept for the next trace when within
        ``KEPT_BYTES`` each); below it, fresh ones.

        Examples
        --------
        >>> scratch, float64 = Scratch(), np.dtype(np.float64)
        >>> sums, values = scratch.trace_buffers(rows=1000, batch=256, dtype=float64)  # 2 MB each
        >>> column = values[:, 0]  # a view keeps the buffers in use
        >>> del sums, values
        >>> np.shares_memory(column, scratch.trace_buffers(rows=1000, batch=256, dtype=float64)[1])
        False
        """
        size = rows * batch
        if size * dtype.itemsize < REUSED_BYTES:  # small: fresh ones cost less than looking
            return np.empty((rows, batch), dtype=dtype), np.empty((rows, batch), dtype=dtype)
        kept = getattr(self._local, "trace", [])
        # Reused only when at most twice the size asked for: a small trace the caller keeps must not
        # pin the buffers of a much larger one.
        if not (kept and kept[0].dtype == dtype and size <= kept[0].size <= 2 * size and _unused(kept)):
            kept = [np.empty(size, dtype=dtype), np.empty(size, dtype=dtype)]
            if size * dtype.itemsize <= KEPT_BYTES:
                self._local.trace = kept
        return kept[0][:size].reshape(rows, batch), kept[1][:size].reshape(rows, batch)


# What ``sys.getrefcount`` says of an object that one list alone refers to, measured rather than
# assumed (an interpreter may count the reference of the call's argument differently). An
# interpreter without reference counts (PyPy) has no ``getrefcount``: its traces get fresh buffers.
_REFCOUNT = getattr(sys, "getrefcount", None)
_PROBE = [object()]
_ALONE = _REFCOUNT(_PROBE[0]) if _REFCOUNT else 0


def _unused(arrays: list[np.ndarray]) -> bool:
    """Whether ``arrays`` alone refers to each of its arrays: no trace, and no view of one, holds it."""
    return _REFCOUNT is not None and all(_REFCOUNT(arrays[i]) == _ALONE for i in range(len(arrays)))


def copy_transposed(batch: np.ndarray, *, out: np.ndarray) -> None:
    """Write ``batch.T`` into ``out``: ``batch`` is ``(samples, features)``, C-contiguous, and
    ``out`` is ``(features, samples)``, a block of ``BLOCK_BYTES`` of samples at a time.

    Examples
    --------
    >>> batch = np.arange(6.0).reshape(3, 2)
    >>> out = np.empty((2, 3))
    >>> copy_transposed(batch, out=out)
    >>> out
    array([[0., 2., 4.],
           [1., 3., 5.]])
    """
    step = max(1, BLOCK_BYTES // max(1, batch.shape[1] * batch.itemsize))
    for start in range(0, len(batch), step):
        out[:, start:start + step] = batch[start:start + step].T
