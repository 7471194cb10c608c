"""The buffer ``plan(x)`` runs in, kept between calls: one per plan and thread.

A plan's numpy pass writes every neuron's column of a ``(rows, batch)`` buffer. A fresh buffer of
megabytes costs the page faults of its first touch (the kernel zeroes every page) on every call:
for an LSTM(32) unrolled over 20 steps, a batch of 256 is a 6 MB buffer, and those faults were a
fifth of the call. A kept buffer pays them once. Each thread keeps its own, so concurrent calls
share nothing mutable, and a call copies what it returns out of the buffer. A buffer larger than
``KEPT_BYTES`` is not kept, so that one huge batch does not hold its memory after the call; a
trace keeps its buffers in the ``Trace``, so it always gets fresh ones.

A trace also holds the inputs in its value buffer, neuron-major: ``copy_transposed`` writes them
there a block of samples at a time, since numpy's plain transposing copy strides through the whole
destination for every sample (784 inputs x 4096 samples in float64: 24 ms plain, 8 ms by blocks,
4 ms for a straight copy of the same bytes).
"""

from __future__ import annotations

import threading

import numpy as np

KEPT_BYTES = 64 * 2**20  # larger buffers are allocated per call and freed after it
BLOCK_BYTES = 2**20  # ``copy_transposed`` reads samples in blocks of this size, well within a core's cache


class Scratch:
    """One plan's kept buffers, one per thread.

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
        size = rows * batch
        if size * dtype.itemsize > KEPT_BYTES:
            return np.empty((rows, batch), dtype=dtype)
        kept = getattr(self._local, "array", None)
        if kept is None or kept.dtype != dtype or kept.size < size:
            kept = self._local.array = np.empty(size, dtype=dtype)
        return kept[:size].reshape(rows, batch)


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
