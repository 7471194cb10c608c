"""The packed-weight product: a wide dense op's weights packed once, on its first call, into the
layouts its compiled kernels stream.

A BLAS product ``W @ x`` copies ``W`` into blocks of its own layout on every call: for a batch of a
few samples that copy costs more than the arithmetic (784 x 512 float32 weights, 8 samples: about
two thirds of the product). ``pack_weights`` has that copy made once, by the first product, and
``packed_product`` runs the kernels of ``nngraph.compiler.gemm_kernels`` (numba, compiled on first
use and cached on disk) over the packed weights: per call it copies only the samples, a few
hundred times fewer numbers. From a few dozen samples on, where that copy matters less, the
product still saves passes over its output: it adds the bias, and (``relu_out``) applies relu,
while the sums are in registers, where numpy makes a pass of its own for each (for 256 samples of
784-512-512-10 in float32, the two relu layers' bias and relu passes took about 8% of the call,
and the product's multiply-adds cost what OpenBLAS's do, 0.014 ns each). Which ops and batches it
serves is ``nngraph.compiler.costs.packed_batch_limit``; without numba, or on a CPU without
AVX-512 (``PACKED`` is false), it serves none, and the generated code keeps ``np.matmul``.

Two layouts, one per kernel (a panel is a run of targets, each source's weights for them
contiguous, the targets past the last zero):

- ``panels``: panels of ``2 * lanes`` targets (a vector holds ``lanes`` numbers: 16 float32, 8
  float64), for few samples;
- ``rows``: panels of ``ROWS`` targets, for whole blocks of ``2 * lanes`` samples.

The kernels add the terms of each sum in source order and round each product-and-add once (a
fused multiply-add), in blocks of sources, as a BLAS does; a weight of 0.0 times NaN or infinity
gives NaN as in ``np.matmul``, so the fused numpy pass stays the reference of its non-finite
values.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from nngraph.compiler.costs import PACKED_VECTOR_BYTES as VECTOR_BYTES
from nngraph.compiler.native import NATIVE_AVAILABLE

ROWS = 12  # targets of a tile of the ``rows`` kernel


def _has_vector_registers() -> bool:
    """Whether the CPU has AVX-512, as numpy found at import: the kernels hold 24 vectors of 64
    bytes in registers, which AVX2's 16 registers of 32 bytes cannot, and the cost model's figures
    are measured with it."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy 2, numpy 1
        try:
            features = importlib.import_module(module).__cpu_features__
        except (ImportError, AttributeError):
            continue
        return bool(features.get("AVX512F"))
    return False


PACKED = NATIVE_AVAILABLE and _has_vector_registers()


@dataclass(frozen=True, eq=False)
class PackedWeights:
    """An op's weights (``targets x sources``, the generated code's ``W<k>``) and their layouts for
    the kernels (see the module doc), packed on the first product that needs them: compiling a
    plan packs nothing, and a plan never run at those batches never holds the copies."""

    weights: np.ndarray
    _layouts: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def layouts(self) -> tuple[np.ndarray, np.ndarray]:
        """``panels`` and ``rows`` (see the module doc), flat and read-only; packed once, by the
        first caller, while threads asking at the same time wait for it."""
        if not self._layouts:
            with self._lock:
                if not self._layouts:
                    self._layouts.append((_panels(self.weights, 2 * lanes(self.weights.dtype)),
                                          _panels(self.weights, ROWS)))
        return self._layouts[0]


def lanes(dtype: np.dtype) -> int:
    """How many numbers of ``dtype`` a vector holds.

    Examples
    --------
    >>> lanes(np.dtype(np.float32)), lanes(np.dtype(np.float64))
    (16, 8)
    """
    return VECTOR_BYTES // np.dtype(dtype).itemsize


def pack_weights(weights: np.ndarray) -> PackedWeights:
    """``weights`` (``targets x sources``) for ``packed_product``, packed on first use.

    Examples
    --------
    >>> panels, rows = pack_weights(np.arange(6.0).reshape(2, 3)).layouts()  # 2 targets, 3 sources
    >>> panels.reshape(3, 16)[:, :3]  # source-major, 16 float64 targets a panel (the last 14 zero)
    array([[0., 3., 0.],
           [1., 4., 0.],
           [2., 5., 0.]])
    >>> rows.shape  # 12 targets a panel
    (36,)
    """
    return PackedWeights(weights)


def _panels(weights: np.ndarray, width: int) -> np.ndarray:
    """``weights`` as panels of ``width`` targets, each source-major, flat (targets padded with zeros)."""
    targets, sources = weights.shape
    count = -(-targets // width)
    padded = np.zeros((count * width, sources), dtype=weights.dtype)
    padded[:targets] = weights
    panels = np.ascontiguousarray(padded.reshape(count, width, sources).transpose(0, 2, 1)).reshape(-1)
    panels.flags.writeable = False
    return panels


def packed_product(packed: PackedWeights, values: np.ndarray, bias: np.ndarray, out: np.ndarray, *,
                   relu_out: np.ndarray | None = None) -> None:
    """``out[...] = weights @ values + bias`` for the weights ``packed`` holds, and, given
    ``relu_out`` (an array like ``out``, or ``out`` itself), ``relu_out[...] = max(out, 0)``, while
    the sums are still in registers: no pass of its own. ``values`` is ``(sources, batch)``,
    ``bias`` ``(targets, 1)`` and ``out`` ``(targets, batch)``, all of the weights' dtype.

    Examples
    --------
    >>> weights = np.array([[1.0, 2.0], [3.0, 4.0], [-5.0, -6.0]])
    >>> out, values = np.empty((3, 2)), np.empty((3, 2))
    >>> packed_product(pack_weights(weights), np.array([[1.0, 0.0], [1.0, 1.0]]), np.ones((3, 1)), out,
    ...                relu_out=values)
    >>> out
    array([[  4.,   3.],
           [  8.,   5.],
           [-10.,  -5.]])
    >>> values
    array([[4., 3.],
           [8., 5.],
           [0., 0.]])
    """
    if out.shape[1] == 0:  # no samples: nothing to write (the kernels divide by the batch)
        return
    if values.flags.c_contiguous:  # the buffers: each source's samples contiguous
        flat, k_step, j_step = values.reshape(-1), values.shape[1], 1
    elif values.flags.f_contiguous:  # the inputs (the batch transposed): each sample's sources contiguous
        flat, k_step, j_step = values.T.reshape(-1), 1, values.shape[0]
    else:
        flat, k_step, j_step = np.ascontiguousarray(values).reshape(-1), values.shape[1], 1
    panels, rows = packed.layouts()
    # The kernels write C-contiguous arrays (the buffers' blocks always are); others through a copy.
    sums = out if out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    if relu_out is None or relu_out is out:
        activated = sums
    else:
        activated = relu_out if relu_out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    _kernels().product(panels, rows, flat, k_step, j_step, bias.reshape(-1), relu_out is not None, sums, activated)
    if sums is not out:
        out[...] = sums
    if relu_out is not None and activated is not sums and activated is not relu_out:
        relu_out[...] = activated


@functools.cache
def _kernels() -> ModuleType:
    """The compiled kernels' module, imported on first use (it imports numba: half a second)."""
    from nngraph.compiler import gemm_kernels

    return gemm_kernels
