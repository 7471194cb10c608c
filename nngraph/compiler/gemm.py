"""The packed-weight product: a wide dense op's weights packed once, on its first call, into the
layouts its compiled kernels stream.

A BLAS product ``W @ x`` copies ``W`` into blocks of its own layout on every call: for a batch of a
few samples that copy costs more than the arithmetic (784 x 512 float32 weights, 8 samples: about
two thirds of the product). ``pack_weights`` has that copy made once, by the first product, and
``packed_product`` runs the kernels of ``nngraph.compiler.gemm_kernels`` (numba, compiled on first
use and cached on disk) over the packed weights: per call it copies only the samples, a few
hundred times fewer numbers (the generated code calls ``packed_sums``, the same without the
checks its arrays meet by construction). From a few dozen samples on, where that copy matters less, the
product still saves passes over its output: it adds the bias, and (``relu_out``) applies relu,
while the sums are in registers, where numpy makes a pass of its own for each (for 256 samples of
784-512-512-10 in float32, the two relu layers' bias and relu passes took about 8% of the call,
and the product's multiply-adds cost what OpenBLAS's do, 0.014 ns each with AVX-512; with AVX2,
within a few percent of OpenBLAS's too). For one sample, which BLAS multiplies without a copy,
the product streams the weights as fast as BLAS does and still saves those passes. Which ops
and batches it serves is ``nngraph.compiler.costs.packed_batches``; without numba, or on a CPU with neither AVX-512 nor
AVX2 (``PACKED`` is false), it serves none, and the generated code keeps ``np.matmul``.

Two layouts, one per kernel (a panel is a run of targets, each source's weights for them
contiguous, the targets past the last zero):

- ``panels``: panels of ``2 * lanes`` targets (a vector holds ``lanes`` numbers: 16 float32, 8
  float64 with AVX-512; half as many with AVX2), for few samples, and for one;
- ``rows``: panels of ``ROWS`` targets, for whole blocks of ``2 * lanes`` samples, and for one
  vector of samples (two panels at a time).

The kernels add the terms of each sum in source order and round each product-and-add once (a
fused multiply-add), as a BLAS does: for whole blocks of samples in blocks of sources, for a few
samples in one run, for one sample in one run too, except the panels left after the whole
groups of four, each in four interleaved runs (source ``k`` into run ``k % 4``) added at the end
(see ``nngraph.compiler.gemm_kernels``); a weight of 0.0 times NaN or infinity gives NaN as in
``np.matmul``, so the fused numpy pass stays the reference of its non-finite values.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass, field
from collections.abc import Mapping
from types import ModuleType

import numpy as np

from nngraph.compiler.native import NATIVE_AVAILABLE
from nngraph.errors import ArgumentError


def _cpu_features() -> dict[str, bool]:
    """The CPU's features, as numpy found them at import (empty if it does not say)."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy 2, numpy 1
        try:
            return dict(importlib.import_module(module).__cpu_features__)
        except (ImportError, AttributeError):
            continue
    return {}


def vector_bytes(features: Mapping[str, bool]) -> int:
    """The bytes of the kernels' vector on a CPU of ``features``: one register, 64 with AVX-512
    (32 registers), 32 with AVX2 and fused multiply-adds (16 registers); 0 on any other CPU,
    where LLVM would split the vectors and spill sums, a few times slower than BLAS.

    Examples
    --------
    >>> vector_bytes({"AVX512F": True, "AVX2": True, "FMA3": True}), vector_bytes({"AVX2": True, "FMA3": True})
    (64, 32)
    >>> vector_bytes({"SSE42": True})
    0
    """
    if features.get("AVX512F"):
        return 64
    return 32 if features.get("AVX2") and features.get("FMA3") else 0


_VECTOR_BYTES = vector_bytes(_cpu_features())
PACKED = NATIVE_AVAILABLE and _VECTOR_BYTES > 0
VECTOR_BYTES = _VECTOR_BYTES or 32  # elsewhere only tests run the kernels
# Targets of a tile of the ``rows`` kernel: with two vectors of samples, 24 vectors of sums in
# AVX-512's 32 registers, 12 in AVX2's 16 (with the two vectors of samples and a broadcast weight,
# 15 of 16: the 6 x 16 float32 tile of the AVX2 kernels of BLIS and MLAS).
ROWS = 12 if VECTOR_BYTES == 64 else 6
# Samples of a tile of the ``columns`` kernel: 8 with AVX-512 (16 vectors of sums), 4 with AVX2 (8).
COLUMNS = 8 if VECTOR_BYTES == 64 else 4


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
    >>> lanes(np.dtype(np.float32)) == 2 * lanes(np.dtype(np.float64)) == VECTOR_BYTES // 4
    True
    """
    return VECTOR_BYTES // np.dtype(dtype).itemsize


def pack_weights(weights: np.ndarray) -> PackedWeights:
    """``weights`` (``targets x sources``) for ``packed_product``, packed on first use.

    Examples
    --------
    >>> panels, rows = pack_weights(np.arange(6.0).reshape(2, 3)).layouts()  # 2 targets, 3 sources
    >>> panels.reshape(3, -1)[:, :3]  # source-major, two vectors of targets a panel (padded with zeros)
    array([[0., 3., 0.],
           [1., 4., 0.],
           [2., 5., 0.]])
    >>> rows.shape == (3 * ROWS,)  # ROWS targets a panel
    True
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
    ``bias`` ``(targets, 1)`` and ``out`` ``(targets, batch)``, all of the weights' dtype (else
    ``ArgumentError`` naming the one that is not: the kernels are compiled for one dtype).

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
    dtype = packed.weights.dtype
    if (values.dtype != dtype or bias.dtype != dtype or out.dtype != dtype
            or (relu_out is not None and relu_out.dtype != dtype)):
        _dtype_error(dtype, values=values, bias=bias, out=out, relu_out=relu_out)
    if out.shape[1] == 0:  # no samples: nothing to write (the kernels would pack an empty block)
        return
    flags = values.flags
    if not (flags.c_contiguous or flags.f_contiguous):  # the kernels read the buffers or the inputs
        values = np.ascontiguousarray(values)
    # The kernels write C-contiguous arrays (the buffers' blocks always are); others through a copy.
    sums = out if out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    if relu_out is None or relu_out is out:
        activated = sums
    else:
        activated = relu_out if relu_out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    packed_sums(packed, values, bias, sums, activated, relu_out is not None)
    if sums is not out:
        out[...] = sums
    if activated is not sums and activated is not relu_out:
        relu_out[...] = activated


def packed_sums(packed: PackedWeights, values: np.ndarray, bias: np.ndarray, out: np.ndarray,
                activated: np.ndarray, relu: bool) -> None:
    """``packed_product`` for arrays known to meet its terms, without its checks: the generated
    code's (the plan's dtype throughout, ``values`` C- or F-contiguous, ``out`` and ``activated``
    C-contiguous blocks of its buffers, ``activated`` ``out``'s block when not tracing), where
    they took 1.2 to 1.8 us of the 2.6 to 3.4 of a call; ``activated`` is written (relu's values)
    only if ``relu``.

    Examples
    --------
    >>> out = np.empty((2, 1))
    >>> packed_sums(pack_weights(np.array([[1.0, -1.0], [-2.0, 1.0]])), np.array([[3.0], [1.0]]),
    ...             np.zeros((2, 1)), out, out, True)
    >>> out
    array([[2.],
           [0.]])
    """
    panels, rows = packed.layouts()
    _kernels().product(panels, rows, values, bias, relu, out, activated)


def _dtype_error(dtype: np.dtype, **arrays: np.ndarray | None) -> None:
    """Raise ``ArgumentError`` naming the first of ``arrays`` not of ``dtype``."""
    name, array = next((name, array) for name, array in arrays.items()
                       if array is not None and array.dtype != dtype)
    raise ArgumentError(f"packed_product: {name} is {array.dtype}, the packed weights {dtype}")


@functools.cache
def _kernels() -> ModuleType:
    """The compiled kernels' module, imported on first use (it imports numba: half a second)."""
    from nngraph.compiler import gemm_kernels

    return gemm_kernels
