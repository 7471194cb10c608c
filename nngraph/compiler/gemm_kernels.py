"""The packed-weight product's compiled kernels: numba code over explicit SIMD vectors.

Imported by ``nngraph.compiler.gemm`` on the first product only (it imports numba). LLVM
vectorises loops on its own, but it neither keeps a block of sums in registers across a loop nor
uses 512-bit registers unasked; so the kernels hold their sums in ``Vector`` values (one SIMD
register of the array's dtype: 16 float32 or 8 float64) through a few intrinsics (``_load``,
``_splat``, ``_fma``, ...: compiled code only), and LLVM only allocates registers. Two kernels,
each adding products one source at a time (``k``) into a tile of sums:

- ``columns`` (few samples): a panel of ``2 * lanes`` targets (two vectors of weights, from the
  packed weights) times 8 samples, each sample's value broadcast: 16 vectors of sums.
- ``rows`` (whole blocks of ``2 * lanes`` samples): ``ROWS`` (12) targets (each weight broadcast,
  from the packed rows) times ``2 * lanes`` samples (two vectors of values): 24 vectors of sums,
  written out as contiguous runs of the output.

The samples are copied first into blocks laid out as each kernel reads them, zero-padded to whole
blocks (``rows`` reads them in place where each source's samples are contiguous, as in the
buffers; the inputs come sample by sample); the sums of padding, and of the targets of padding in
the last panel, are never written out. Every sum adds its terms in source order, one fused
multiply-add each, as a BLAS does.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, models, register_model

from nngraph.compiler.gemm import ROWS, VECTOR_BYTES
from nngraph.compiler.native import compiled

COLUMNS = 8    # samples of a ``columns`` tile
PREFETCH = 16  # sources ahead that ``columns`` asks the cache for: its panels come from L3 between layers


class Vector(types.Type):
    """``VECTOR_BYTES`` of ``dtype``: what the kernels keep in one register (where the CPU has no
    AVX-512, LLVM splits it in two)."""

    def __init__(self, dtype: types.Float) -> None:
        self.dtype = dtype
        self.lanes = VECTOR_BYTES * 8 // dtype.bitwidth
        super().__init__(name=f"Vector({dtype})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm: object, fe_type: Vector) -> None:
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _address(context: object, builder: ir.IRBuilder, array_type: types.Array, array: object,
             index: ir.Value) -> ir.Value:
    """The address of ``array[index]`` (a flat index, no bounds check: the kernels stay in bounds)."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def _zero(typingctx: object, array: types.Array) -> tuple:
    """A vector of zeros of ``array``'s dtype."""
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vector), None)
    return vector(array), codegen


@intrinsic
def _load(typingctx: object, array: types.Array, index: types.Integer) -> tuple:
    """The vector ``array[index:index + lanes]`` (a flat C-contiguous array)."""
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        pointer = _address(context, builder, signature.args[0], args[0], args[1])
        return builder.load(builder.bitcast(pointer, context.get_value_type(vector).as_pointer()),
                            align=array.dtype.bitwidth // 8)
    return vector(array, index), codegen


@intrinsic
def _splat(typingctx: object, array: types.Array, index: types.Integer) -> tuple:
    """A vector holding ``array[index]`` in every lane."""
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(vector)
        value = builder.load(_address(context, builder, signature.args[0], args[0], args[1]))
        single = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        everywhere = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), None)
        return builder.shuffle_vector(single, ir.Constant(vector_type, ir.Undefined), everywhere)
    return vector(array, index), codegen


@intrinsic
def _fma(typingctx: object, a: Vector, b: Vector, c: Vector) -> tuple:
    """``a * b + c`` lane by lane, rounded once."""
    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(signature.return_type)
        suffix = f"v{vector_type.count}f{a.dtype.bitwidth}"
        function = builder.module.declare_intrinsic(f"llvm.fma.{suffix}", (),
                                                    ir.FunctionType(vector_type, [vector_type] * 3))
        return builder.call(function, list(args))
    return c(a, b, c), codegen


@intrinsic
def _store(typingctx: object, array: types.Array, index: types.Integer, vector: Vector) -> tuple:
    """Write ``vector`` to ``array[index:index + lanes]`` (a flat C-contiguous array)."""
    def codegen(context, builder, signature, args):
        pointer = _address(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(pointer, args[2].type.as_pointer()), align=array.dtype.bitwidth // 8)
    return types.void(array, index, vector), codegen


@intrinsic
def _prefetch(typingctx: object, array: types.Array, index: types.Integer) -> tuple:
    """Ask the cache for ``array[index]`` (never faults, even past the end)."""
    def codegen(context, builder, signature, args):
        byte_pointer = ir.IntType(8).as_pointer()
        pointer = builder.bitcast(_address(context, builder, signature.args[0], args[0], args[1]), byte_pointer)
        function = builder.module.declare_intrinsic("llvm.prefetch", (), ir.FunctionType(
            ir.VoidType(), [byte_pointer] + [ir.IntType(32)] * 3))
        read, keep_everywhere, data = (ir.Constant(ir.IntType(32), value) for value in (0, 3, 1))
        builder.call(function, [pointer, read, keep_everywhere, data])
    return types.void(array, index), codegen


@compiled
def _multiply_add(v0, v1, scalars, at, a0, c0, a1, c1, a2, c2, a3, c3):
    """One source's step for four pairs of sums: pair ``m`` adds ``v0`` and ``v1`` times
    ``scalars[at + m]`` (broadcast)."""
    x = _splat(scalars, at)
    a0, c0 = _fma(v0, x, a0), _fma(v1, x, c0)
    x = _splat(scalars, at + 1)
    a1, c1 = _fma(v0, x, a1), _fma(v1, x, c1)
    x = _splat(scalars, at + 2)
    a2, c2 = _fma(v0, x, a2), _fma(v1, x, c2)
    x = _splat(scalars, at + 3)
    a3, c3 = _fma(v0, x, a3), _fma(v1, x, c3)
    return a0, c0, a1, c1, a2, c2, a3, c3


@compiled
def _store_pairs(tile, at, step, a0, c0, a1, c1, a2, c2, a3, c3):
    """Four pairs of vectors into ``tile``: pair ``m`` at ``at + m * step``, its second vector a
    vector's length after its first."""
    lanes = VECTOR_BYTES // tile.itemsize
    _store(tile, at, a0)
    _store(tile, at + lanes, c0)
    _store(tile, at + step, a1)
    _store(tile, at + step + lanes, c1)
    _store(tile, at + 2 * step, a2)
    _store(tile, at + 2 * step + lanes, c2)
    _store(tile, at + 3 * step, a3)
    _store(tile, at + 3 * step + lanes, c3)


@compiled
def _panels_of(packed, targets, panel):
    """How many panels of ``panel`` targets the ``packed`` weights of ``targets`` targets hold, and
    how many sources each has."""
    n_panels = (targets + panel - 1) // panel
    return n_panels, len(packed) // (n_panels * panel)


@compiled
def _pack(values, k_step, j_step, sources, first, count, width, packed):
    """Samples ``first`` to ``first + count`` into ``packed``, in blocks of ``width`` samples, each
    block source-major (``packed[(block * sources + k) * width + j]``), zero-padded to whole
    blocks; sample ``j``'s value of source ``k`` is ``values[k * k_step + j * j_step]``."""
    blocks = (count + width - 1) // width
    for block in range(blocks):
        filled = min(width, count - block * width)
        for k in range(sources):
            at = (block * sources + k) * width
            for j in range(filled):
                packed[at + j] = values[k * k_step + (first + block * width + j) * j_step]
            for j in range(filled, width):
                packed[at + j] = 0.0


@compiled
def _columns(panels, samples, first, count, bias, out):
    """``out[:, first:first + count]`` = weights @ samples + bias, from the weights packed in panels
    of two vectors of targets and the samples packed in blocks of ``COLUMNS``."""
    targets = out.shape[0]
    lanes = VECTOR_BYTES // panels.itemsize
    width = 2 * lanes
    n_panels, sources = _panels_of(panels, targets, width)
    tile = np.empty(width * COLUMNS, dtype=panels.dtype)
    for p in range(n_panels):
        for block in range((count + COLUMNS - 1) // COLUMNS):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _zero(panels)
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = _zero(panels)
            w_at = p * sources * width
            s_at = block * sources * COLUMNS
            for k in range(sources):
                _prefetch(panels, w_at + PREFETCH * width)
                w0, w1 = _load(panels, w_at), _load(panels, w_at + lanes)
                a0, c0, a1, c1, a2, c2, a3, c3 = _multiply_add(w0, w1, samples, s_at, a0, c0, a1, c1, a2, c2, a3, c3)
                a4, c4, a5, c5, a6, c6, a7, c7 = _multiply_add(w0, w1, samples, s_at + 4, a4, c4, a5, c5, a6, c6,
                                                               a7, c7)
                w_at += width
                s_at += COLUMNS
            # Sample j's sums of the panel's targets: tile[j * width:(j + 1) * width].
            _store_pairs(tile, 0, width, a0, c0, a1, c1, a2, c2, a3, c3)
            _store_pairs(tile, 4 * width, width, a4, c4, a5, c5, a6, c6, a7, c7)
            column = first + block * COLUMNS
            for i in range(min(width, targets - p * width)):
                row = p * width + i
                for j in range(min(COLUMNS, count - block * COLUMNS)):
                    out[row, column + j] = tile[j * width + i] + bias[row]


@compiled
def _rows(rows, samples, block_step, k_step, blocks, bias, out):
    """``out[:, :blocks * 2 * lanes]`` = weights @ samples + bias, from the weights packed in panels
    of ``ROWS`` targets; block ``b``'s two vectors of samples of source ``k`` start at
    ``samples[b * block_step + k * k_step]`` (packed blocks, or the rows of the values)."""
    targets = out.shape[0]
    lanes = VECTOR_BYTES // rows.itemsize
    width = 2 * lanes
    n_panels, sources = _panels_of(rows, targets, ROWS)
    tile = np.empty(ROWS * width, dtype=rows.dtype)
    for p in range(n_panels):
        for block in range(blocks):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = _zero(rows)
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _zero(rows)
            w_at = p * sources * ROWS
            s_at = block * block_step
            for k in range(sources):
                x0, x1 = _load(samples, s_at), _load(samples, s_at + lanes)
                a0, c0, a1, c1, a2, c2, a3, c3 = _multiply_add(x0, x1, rows, w_at, a0, c0, a1, c1, a2, c2, a3, c3)
                a4, c4, a5, c5, a6, c6, a7, c7 = _multiply_add(x0, x1, rows, w_at + 4, a4, c4, a5, c5, a6, c6, a7, c7)
                a8, c8, a9, c9, a10, c10, a11, c11 = _multiply_add(x0, x1, rows, w_at + 8, a8, c8, a9, c9, a10, c10,
                                                                   a11, c11)
                w_at += ROWS
                s_at += k_step
            # Target i's sums of the block's samples: tile[i * width:(i + 1) * width].
            _store_pairs(tile, 0, width, a0, c0, a1, c1, a2, c2, a3, c3)
            _store_pairs(tile, 4 * width, width, a4, c4, a5, c5, a6, c6, a7, c7)
            _store_pairs(tile, 8 * width, width, a8, c8, a9, c9, a10, c10, a11, c11)
            for i in range(min(ROWS, targets - p * ROWS)):
                row = p * ROWS + i
                out_row = out[row]
                for j in range(width):
                    out_row[block * width + j] = tile[i * width + j] + bias[row]


@compiled
def product(panels, rows, values, k_step, j_step, bias, out):
    """``out = weights @ values + bias`` (``nngraph.compiler.gemm.packed_product``; ``values`` flat,
    as ``_pack`` reads them): whole blocks of ``2 * lanes`` samples by ``_rows``, reading the
    values in place where each source's samples are contiguous, the rest by ``_columns``.

    Examples
    --------
    >>> from nngraph.compiler.gemm import pack_weights
    >>> panels, rows = pack_weights(np.array([[1.0, 2.0], [3.0, 4.0]])).layouts()
    >>> out = np.empty((2, 3))
    >>> product(panels, rows, np.array([1.0, 0.0, 2.0, 1.0, 1.0, 1.0]), 3, 1, np.zeros(2), out)
    >>> out  # [[1, 2], [3, 4]] @ [[1, 0, 2], [1, 1, 1]]
    array([[ 3.,  2.,  4.],
           [ 7.,  4., 10.]])
    """
    targets, n = out.shape
    sources = len(values) // n
    width = 2 * (VECTOR_BYTES // rows.itemsize)
    blocks = n // width
    if blocks and j_step == 1:
        _rows(rows, values, width, k_step, blocks, bias, out)
    elif blocks:
        packed = np.empty(blocks * width * sources, dtype=rows.dtype)
        _pack(values, k_step, j_step, sources, 0, blocks * width, width, packed)
        _rows(rows, packed, sources * width, width, blocks, bias, out)
    rest = n - blocks * width
    if rest:
        packed = np.empty((rest + COLUMNS - 1) // COLUMNS * COLUMNS * sources, dtype=rows.dtype)
        _pack(values, k_step, j_step, sources, blocks * width, rest, COLUMNS, packed)
        _columns(panels, packed, blocks * width, rest, bias, out)
