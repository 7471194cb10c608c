"""The packed-weight product's compiled kernels: numba code over explicit SIMD vectors.

Imported by ``nngraph.compiler.gemm`` on the first product only (it imports numba). LLVM
vectorises loops on its own, but it neither keeps a block of sums in registers across a loop nor
uses 512-bit registers unasked; so the kernels hold their sums in ``Vector`` values (one SIMD
register of the array's dtype: 16 float32 or 8 float64 with AVX-512, half as many with AVX2)
through a few intrinsics (``_load``, ``_splat``, ``_fma``, ...: compiled code only), and LLVM
only allocates registers. Two kernels, each adding products one source at a time (``k``) into a
tile of sums (``_tile8`` to ``_tile24``: two vectors times a few broadcast numbers), a third for
one vector of samples (``_rows_vector``: that vector times the weights of two panels of the
``rows`` kernel, broadcast, into ``2 * ROWS`` sums) and a fourth for one sample (``_vector``: four
panels of the ``columns`` kernel at a time times that sample, into a pair of sums each; the
panels left after the groups of four one at a time, into four pairs):

- ``columns`` (few samples): a panel of ``2 * lanes`` targets (two vectors of weights, from the
  packed weights) times ``COLUMNS`` samples, each sample's value broadcast: with AVX-512 8
  samples, 16 vectors of sums; with AVX2 4, 8 vectors of sums (tiles of 6 samples, 12 sums, cost
  as much per multiply-add, but 8 samples take two of them, a third padding: the 784 x 512 float32
  layer at 8 samples took 89 us in tiles of 4, 124 to 162 in tiles of 6).
- ``rows`` (whole blocks of ``2 * lanes`` samples): ``ROWS`` targets (each weight broadcast, from
  the packed rows) times ``2 * lanes`` samples (two vectors of values): with AVX-512 12 targets,
  24 vectors of sums (with the two vectors of values and a broadcast weight, 27 of the 32
  registers); with AVX2 6 targets, 12 vectors of sums (15 of 16). Blocked over sources and
  samples as a BLIS product (``_rows``) and written out as contiguous runs of the output, where
  relu can be applied on the way (into the output, or into a second array too).

The samples are copied first into blocks laid out as each kernel reads them, zero-padded to whole
blocks (``_pack``: the inputs, which come sample by sample, by squares transposed in registers);
the sums of padding, and of the targets of padding in the last panel, are never written out
(``_vector`` reads its sample where it is: there is nothing to save by a copy). A sum adds its
terms in source order, one fused multiply-add each: ``rows`` in blocks of at most ``DEPTH``
sources, each block's sums added to the output, as a BLAS does; ``columns`` all sources in one
run; ``_vector`` all sources in one run too, but the panels past its groups of four in four
runs (source ``k`` into run ``k % 4``, the last ``sources % 4`` into run 0), added at the end.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, models, register_model

from nngraph.compiler.gemm import COLUMNS, ROWS, VECTOR_BYTES
from nngraph.compiler.native import compiled

# Sources ahead that ``columns`` asks the cache for: its panels come from L3 between layers (16
# was 1-2% slower at 8 samples of 784-512-512-10, 96 no faster).
PREFETCH = 48
# The ``rows`` kernel's blocks (see ``_rows``): DEPTH sources at most (an op's sources split
# evenly), SAMPLES samples at a time. With AVX-512 (measured on a core of 48 KiB first-level and 2
# MiB second-level cache) 256 and 512: a panel's weights for 256 sources (12 x 256 float32, 12
# KiB) stay in the first-level cache while the samples stream past, their packed values (512 KiB)
# and an op's weights for those sources (512 targets: 512 KiB) in the second-level cache together
# (784-512-512-10, float32, 256 and 1024 samples: 128 sources cost 5 to 10% more at 1024 samples,
# 512 about the same; 256 samples 6 to 12% more at 1024 and 4096, 1024 samples 0 to 10% more; a
# sample block held in the first-level cache with the weights streaming past, 5 to 10% more).
# With AVX2 (an EPYC, Zen 3: 32 KiB and 512 KiB) 2048 and 256: there each block of sources past
# the first reads the output block back (its rows 4 KiB apart at 1024 samples, from the
# third-level cache), which cost more than reading a panel's weights and the packed samples from
# further out than the caches above say (at 784 sources and 256 samples the packed samples alone
# are 784 KiB in float32). Measured in float32 only, at 784 and 512 sources: 784-512-512-10's
# plan in one block of sources (and the buffers packed source by source, see ``_pack``) took
# 0.91 to 0.93x the time of blocks of 196 and 256 at 32, 256 and 1024 samples, 0.94x at 4096
# (its time over onnxruntime's, medians of processes).
DEPTH, SAMPLES = (256, 512) if VECTOR_BYTES == 64 else (2048, 256)


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
def _add(typingctx: object, a: Vector, b: Vector) -> tuple:
    """``a + b`` lane by lane."""
    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])
    return a(a, b), codegen


@intrinsic
def _relu(typingctx: object, a: Vector) -> tuple:
    """``max(a, 0)`` lane by lane, NaN kept as NaN (as ``np.maximum``): a lane is zeroed only where
    it compares (ordered) below zero."""
    def codegen(context, builder, signature, args):
        zero = ir.Constant(args[0].type, None)
        return builder.select(builder.fcmp_ordered("<", args[0], zero), zero, args[0])
    return a(a), codegen


@intrinsic
def _store(typingctx: object, array: types.Array, index: types.Integer, vector: Vector) -> tuple:
    """Write ``vector`` to ``array[index:index + lanes]`` (a flat C-contiguous array)."""
    def codegen(context, builder, signature, args):
        pointer = _address(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(pointer, args[2].type.as_pointer()), align=array.dtype.bitwidth // 8)
    return types.void(array, index, vector), codegen


@intrinsic
def _transpose(typingctx: object, values: types.Array, at: types.Integer, step: types.Integer,
               packed: types.Array, packed_at: types.Integer, packed_step: types.Integer) -> tuple:
    """Transpose a square of ``lanes x lanes`` numbers in registers: vector ``m`` of
    ``values[at + m * step:]`` becomes lane ``m`` of the vectors written to ``packed[packed_at + s
    * packed_step:]``. Four rounds (three for float64) each swap the off-diagonal squares of
    every square twice their size, a shuffle of two vectors each (see ``_pack`` for what it saves)."""
    lanes = VECTOR_BYTES * 8 // values.dtype.bitwidth

    def codegen(context, builder, signature, args):
        array, start, stride, target, target_start, target_stride = args
        vector_type = ir.VectorType(context.get_value_type(values.dtype), lanes)
        mask_type = ir.VectorType(ir.IntType(32), lanes)

        def address(array_type, array, index):
            return builder.bitcast(_address(context, builder, array_type, array, index), vector_type.as_pointer())

        align = values.dtype.bitwidth // 8
        rows = [builder.load(address(signature.args[0], array, builder.add(start, builder.mul(stride, ir.Constant(
            stride.type, m)))), align=align) for m in range(lanes)]
        size = lanes // 2
        while size:
            low = [e if not e & size else lanes + e - size for e in range(lanes)]
            high = [e + size if not e & size else lanes + e for e in range(lanes)]
            for i in range(lanes):
                if not i & size:
                    first, second = rows[i], rows[i + size]
                    rows[i] = builder.shuffle_vector(first, second, ir.Constant(mask_type, low))
                    rows[i + size] = builder.shuffle_vector(first, second, ir.Constant(mask_type, high))
            size //= 2
        for m, row in enumerate(rows):
            index = builder.add(target_start, builder.mul(target_stride, ir.Constant(target_stride.type, m)))
            builder.store(row, address(signature.args[3], target, index), align=align)
        return context.get_dummy_value()
    return types.void(values, at, step, packed, packed_at, packed_step), codegen


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
def _multiply_add(v0, v1, scalars, at, a0, c0, a1, c1):
    """One source's step for two pairs of sums: pair ``m`` adds ``v0`` and ``v1`` times
    ``scalars[at + m]`` (broadcast)."""
    x = _splat(scalars, at)
    a0, c0 = _fma(v0, x, a0), _fma(v1, x, c0)
    x = _splat(scalars, at + 1)
    a1, c1 = _fma(v0, x, a1), _fma(v1, x, c1)
    return a0, c0, a1, c1


@compiled
def _store_pairs(tile, at, a0, c0, a1, c1):
    """Four vectors (two pairs of sums) into ``tile`` from ``at``, one after the other."""
    lanes = VECTOR_BYTES // tile.itemsize
    _store(tile, at, a0)
    _store(tile, at + lanes, c0)
    _store(tile, at + 2 * lanes, a1)
    _store(tile, at + 3 * lanes, c1)


# The tiles: sums of two vectors (``vectors[v_at:]``, two vectors a source) times ``2 * m``
# scalars (``scalars[s_at:]``, ``2 * m`` a source), over ``depth`` sources, into ``tile`` (scalar
# i's pair of sums at ``tile[i * 2 * lanes:]``), asking the cache for the vectors ``ahead`` numbers
# on (``columns``: its panels stream from L3), or not at all for ``ahead`` 0 (``rows``: its samples
# are in L2 already; a literal, so the test leaves the loop). One function per number of scalars,
# each its sums in named registers.

@compiled
def _tile8(vectors, v_at, scalars, s_at, depth, ahead, tile):
    """A tile of 4 scalars (8 sums: AVX2's columns)."""
    width = 2 * (VECTOR_BYTES // tile.itemsize)
    a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = _zero(tile)
    for k in range(depth):
        if ahead:
            _prefetch(vectors, v_at + ahead)
        v0, v1 = _load(vectors, v_at), _load(vectors, v_at + width // 2)
        a0, c0, a1, c1 = _multiply_add(v0, v1, scalars, s_at, a0, c0, a1, c1)
        a2, c2, a3, c3 = _multiply_add(v0, v1, scalars, s_at + 2, a2, c2, a3, c3)
        v_at += width
        s_at += 4
    _store_pairs(tile, 0, a0, c0, a1, c1)
    _store_pairs(tile, 2 * width, a2, c2, a3, c3)


@compiled
def _tile12(vectors, v_at, scalars, s_at, depth, ahead, tile):
    """A tile of 6 scalars (12 sums: AVX2's rows)."""
    width = 2 * (VECTOR_BYTES // tile.itemsize)
    a0 = a1 = a2 = a3 = a4 = a5 = c0 = c1 = c2 = c3 = c4 = c5 = _zero(tile)
    for k in range(depth):
        if ahead:
            _prefetch(vectors, v_at + ahead)
        v0, v1 = _load(vectors, v_at), _load(vectors, v_at + width // 2)
        a0, c0, a1, c1 = _multiply_add(v0, v1, scalars, s_at, a0, c0, a1, c1)
        a2, c2, a3, c3 = _multiply_add(v0, v1, scalars, s_at + 2, a2, c2, a3, c3)
        a4, c4, a5, c5 = _multiply_add(v0, v1, scalars, s_at + 4, a4, c4, a5, c5)
        v_at += width
        s_at += 6
    _store_pairs(tile, 0, a0, c0, a1, c1)
    _store_pairs(tile, 2 * width, a2, c2, a3, c3)
    _store_pairs(tile, 4 * width, a4, c4, a5, c5)


@compiled
def _tile16(vectors, v_at, scalars, s_at, depth, ahead, tile):
    """A tile of 8 scalars (16 sums: AVX-512's columns)."""
    width = 2 * (VECTOR_BYTES // tile.itemsize)
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = _zero(tile)
    for k in range(depth):
        if ahead:
            _prefetch(vectors, v_at + ahead)
        v0, v1 = _load(vectors, v_at), _load(vectors, v_at + width // 2)
        a0, c0, a1, c1 = _multiply_add(v0, v1, scalars, s_at, a0, c0, a1, c1)
        a2, c2, a3, c3 = _multiply_add(v0, v1, scalars, s_at + 2, a2, c2, a3, c3)
        a4, c4, a5, c5 = _multiply_add(v0, v1, scalars, s_at + 4, a4, c4, a5, c5)
        a6, c6, a7, c7 = _multiply_add(v0, v1, scalars, s_at + 6, a6, c6, a7, c7)
        v_at += width
        s_at += 8
    _store_pairs(tile, 0, a0, c0, a1, c1)
    _store_pairs(tile, 2 * width, a2, c2, a3, c3)
    _store_pairs(tile, 4 * width, a4, c4, a5, c5)
    _store_pairs(tile, 6 * width, a6, c6, a7, c7)


@compiled
def _tile24(vectors, v_at, scalars, s_at, depth, ahead, tile):
    """A tile of 12 scalars (24 sums: AVX-512's rows)."""
    width = 2 * (VECTOR_BYTES // tile.itemsize)
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = _zero(tile)
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _zero(tile)
    for k in range(depth):
        if ahead:
            _prefetch(vectors, v_at + ahead)
        v0, v1 = _load(vectors, v_at), _load(vectors, v_at + width // 2)
        a0, c0, a1, c1 = _multiply_add(v0, v1, scalars, s_at, a0, c0, a1, c1)
        a2, c2, a3, c3 = _multiply_add(v0, v1, scalars, s_at + 2, a2, c2, a3, c3)
        a4, c4, a5, c5 = _multiply_add(v0, v1, scalars, s_at + 4, a4, c4, a5, c5)
        a6, c6, a7, c7 = _multiply_add(v0, v1, scalars, s_at + 6, a6, c6, a7, c7)
        a8, c8, a9, c9 = _multiply_add(v0, v1, scalars, s_at + 8, a8, c8, a9, c9)
        a10, c10, a11, c11 = _multiply_add(v0, v1, scalars, s_at + 10, a10, c10, a11, c11)
        v_at += width
        s_at += 12
    _store_pairs(tile, 0, a0, c0, a1, c1)
    _store_pairs(tile, 2 * width, a2, c2, a3, c3)
    _store_pairs(tile, 4 * width, a4, c4, a5, c5)
    _store_pairs(tile, 6 * width, a6, c6, a7, c7)
    _store_pairs(tile, 8 * width, a8, c8, a9, c9)
    _store_pairs(tile, 10 * width, a10, c10, a11, c11)


_TILES = {4: _tile8, 6: _tile12, 8: _tile16, 12: _tile24}
# The tile functions of both kernels, by the vector's size.
_rows_tile, _columns_tile = _TILES[ROWS], _TILES[COLUMNS]


# The tiles of one vector of samples (``_rows_vector``): that vector (``vectors[k * lanes:]``) times
# the weights of two panels of the rows layout (``scalars[s_at:]`` and ``scalars[t_at:]``, ``ROWS``
# a source each) broadcast, over ``depth`` sources, into ``tile`` (target i's sums at ``tile[i *
# lanes:]``). One function per ``ROWS``, each its sums in named registers.

@compiled
def _multiply_add3(v, scalars, at, a0, a1, a2):
    """One source's step for three sums: sum ``m`` adds ``v`` times ``scalars[at + m]`` (broadcast)."""
    return (_fma(v, _splat(scalars, at), a0), _fma(v, _splat(scalars, at + 1), a1),
            _fma(v, _splat(scalars, at + 2), a2))


@compiled
def _vector_tile12(vectors, scalars, s_at, t_at, depth, tile):
    """Two panels of 6 targets (12 sums: AVX2's)."""
    lanes = VECTOR_BYTES // tile.itemsize
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = _zero(tile)
    v_at = 0
    for k in range(depth):
        v = _load(vectors, v_at)
        a0, a1, a2 = _multiply_add3(v, scalars, s_at, a0, a1, a2)
        a3, a4, a5 = _multiply_add3(v, scalars, s_at + 3, a3, a4, a5)
        a6, a7, a8 = _multiply_add3(v, scalars, t_at, a6, a7, a8)
        a9, a10, a11 = _multiply_add3(v, scalars, t_at + 3, a9, a10, a11)
        v_at += lanes
        s_at += 6
        t_at += 6
    _store_pairs(tile, 0, a0, a1, a2, a3)
    _store_pairs(tile, 4 * lanes, a4, a5, a6, a7)
    _store_pairs(tile, 8 * lanes, a8, a9, a10, a11)


@compiled
def _vector_tile24(vectors, scalars, s_at, t_at, depth, tile):
    """Two panels of 12 targets (24 sums: AVX-512's)."""
    lanes = VECTOR_BYTES // tile.itemsize
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = _zero(tile)
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _zero(tile)
    v_at = 0
    for k in range(depth):
        v = _load(vectors, v_at)
        a0, a1, a2 = _multiply_add3(v, scalars, s_at, a0, a1, a2)
        a3, a4, a5 = _multiply_add3(v, scalars, s_at + 3, a3, a4, a5)
        a6, a7, a8 = _multiply_add3(v, scalars, s_at + 6, a6, a7, a8)
        a9, a10, a11 = _multiply_add3(v, scalars, s_at + 9, a9, a10, a11)
        c0, c1, c2 = _multiply_add3(v, scalars, t_at, c0, c1, c2)
        c3, c4, c5 = _multiply_add3(v, scalars, t_at + 3, c3, c4, c5)
        c6, c7, c8 = _multiply_add3(v, scalars, t_at + 6, c6, c7, c8)
        c9, c10, c11 = _multiply_add3(v, scalars, t_at + 9, c9, c10, c11)
        v_at += lanes
        s_at += 12
        t_at += 12
    _store_pairs(tile, 0, a0, a1, a2, a3)
    _store_pairs(tile, 4 * lanes, a4, a5, a6, a7)
    _store_pairs(tile, 8 * lanes, a8, a9, a10, a11)
    _store_pairs(tile, 12 * lanes, c0, c1, c2, c3)
    _store_pairs(tile, 16 * lanes, c4, c5, c6, c7)
    _store_pairs(tile, 20 * lanes, c8, c9, c10, c11)


_VECTOR_TILES = {6: _vector_tile12, 12: _vector_tile24}
_rows_vector_tile = _VECTOR_TILES[ROWS]


@compiled
def _panels_of(packed, targets, panel):
    """How many panels of ``panel`` targets the ``packed`` weights of ``targets`` targets hold, and
    how many sources each has."""
    n_panels = (targets + panel - 1) // panel
    return n_panels, len(packed) // (n_panels * panel)


@compiled
def _pack(values, k_step, j_step, first_source, depth, first, count, width, packed):
    """Sources ``first_source`` to ``first_source + depth`` of samples ``first`` to ``first +
    count`` into ``packed``, in blocks of ``width`` samples, each block source-major
    (``packed[(block * depth + k) * width + j]``), zero-padded to whole blocks; sample ``j``'s
    value of source ``k`` is ``values[k * k_step + j * j_step]``. Where each sample's sources are
    contiguous (the inputs), a whole block of any whole number of vectors (the rows kernel's, a
    vector of ``_rows_vector``, the columns kernel's where ``COLUMNS`` is one vector) by squares
    transposed in registers (copied number by number, the inputs' packing took 15% of the time of
    OpenBLAS's product at 256 samples of 784-512-512-10; by squares, 3%); where each source's
    samples are (the buffers), all whole blocks source by source, each source's run of samples read
    in order a vector at a time (block by block, a source's few lines then the next source's, rows 4
    KiB apart at 1024 samples: 6 to 10% of ``_rows``' time at 1024 and 4096 samples of 512 x 512
    float32 with AVX2, and 784-512-512-10's plan 1.05x as long at 1024); another whole block of
    ``COLUMNS`` source by source, its ``COLUMNS`` samples a loop LLVM unrolls (8 samples of
    784-512-512-10 in float32: the inputs' packing took 0.75x the time of a loop over samples,
    the buffers' 0.45x that of a loop over the block's count)."""
    lanes = VECTOR_BYTES // packed.itemsize
    blocks = (count + width - 1) // width
    runs = count // width if j_step == 1 and width % lanes == 0 else 0  # whole blocks copied source by source
    if runs:
        for k in range(depth):
            source = (first_source + k) * k_step + first
            for block in range(runs):
                at = (block * depth + k) * width
                for half in range(0, width, lanes):
                    _store(packed, at + half, _load(values, source + block * width + half))
    for block in range(runs, blocks):
        filled = min(width, count - block * width)
        at = block * depth * width
        if k_step == 1 and filled == width and width % lanes == 0:  # squares of lanes x lanes transposed
            whole = depth // lanes * lanes
            for half in range(0, width, lanes):
                source = (first + block * width + half) * j_step + first_source
                for k in range(0, whole, lanes):
                    _transpose(values, source + k, j_step, packed, at + k * width + half, width)
                for j in range(lanes):
                    for k in range(whole, depth):
                        packed[at + k * width + half + j] = values[source + j * j_step + k]
        elif filled == width == COLUMNS:  # a whole block of the columns kernel: its samples unrolled
            for k in range(depth):
                source = (first_source + k) * k_step + (first + block * width) * j_step
                for j in range(COLUMNS):
                    packed[at + k * COLUMNS + j] = values[source + j * j_step]
        elif k_step == 1:
            for j in range(filled):
                source = (first + block * width + j) * j_step + first_source
                for k in range(depth):
                    packed[at + k * width + j] = values[source + k]
        else:
            for k in range(depth):
                source = (first_source + k) * k_step + (first + block * width) * j_step
                for j in range(filled):
                    packed[at + k * width + j] = values[source + j * j_step]
        if filled < width:
            for k in range(depth):
                packed[at + k * width + filled:at + (k + 1) * width] = 0.0


@compiled
def _write_tile(tile, samples, width, first_row, rows, first, bias, relu, out, activated):
    """Write a tile of a panel's sums out: for ``rows`` targets from ``first_row`` and ``samples``
    samples from ``first``, ``out`` = sum + bias (sample ``j``'s sum of target ``i`` at ``tile[j *
    width + i]``), and ``max(., 0)`` of it into ``activated`` if ``relu``; ``out`` and ``activated``
    flat (C-contiguous, ``targets x n``: indexed by hand, the writes of a tile's sums took a
    twentieth less time than through numba's two-dimensional indexing, at 8 samples of
    784-512-512-10)."""
    n = len(out) // bias.shape[0]
    for i in range(rows):
        row = first_row + i
        at = row * n + first
        for j in range(samples):
            value = tile[j * width + i] + bias[row]
            out[at + j] = value
            if relu:
                activated[at + j] = 0.0 if value < 0.0 else value


@compiled
def _columns(panels, samples, first, count, bias, relu, out, activated):
    """``out[:, first:first + count]`` = weights @ samples + bias (and ``max(., 0)`` of it into
    ``activated`` if ``relu``), from the weights packed in panels of two vectors of targets and the
    samples packed in blocks of ``COLUMNS``; ``out`` and ``activated`` flat (C-contiguous,
    ``targets x n``, written by ``_write_tile``)."""
    targets = bias.shape[0]
    lanes = VECTOR_BYTES // panels.itemsize
    width = 2 * lanes
    n_panels, sources = _panels_of(panels, targets, width)
    tile = np.empty(width * COLUMNS, dtype=panels.dtype)
    for p in range(n_panels):
        for block in range((count + COLUMNS - 1) // COLUMNS):
            _columns_tile(panels, p * sources * width, samples, block * sources * COLUMNS, sources,
                          PREFETCH * width, tile)
            _write_tile(tile, min(COLUMNS, count - block * COLUMNS), width, p * width,
                        min(width, targets - p * width), first + block * COLUMNS, bias, relu, out, activated)


@compiled
def _vector(panels, values, k_step, j_step, j, bias, relu, out, activated):
    """``out[:, j]`` = weights @ values[:, j] + bias (and ``max(., 0)`` of it into ``activated``
    if ``relu``) for the one sample ``j``, from the weights packed in panels of two vectors of
    targets; ``values`` as ``_pack`` reads them, unpacked (the sample's value of each source is
    broadcast from where it is); ``out`` and ``activated`` flat (C-contiguous, ``targets x n``).

    For one sample the weights are all the work, one multiply-add each: they stream from L3 once,
    at what the memory gives. Four panels at a time, each its own run of sums (a pair of vectors:
    eight multiply-adds in flight), so that four streams of weights are asked for at once, where
    one panel at a time left the memory idle between its misses: with AVX2, both relu layers of
    784-512-512-10 in float32 took 0.84 to 0.90x the time of one panel at a time, two panels at
    a time 0.90x, six 0.93x; asking for lines ahead as ``_columns`` does cost 4 to 28% more. The
    panels past the last group of four go one at a time (``_vector_panel``): a group of fewer
    panels would wait on one run of multiply-adds per panel (one panel of 784 sources took 1.8x
    as long so)."""
    targets = bias.shape[0]
    lanes = VECTOR_BYTES // panels.itemsize
    width = 2 * lanes
    n_panels, sources = _panels_of(panels, targets, width)
    step = sources * width  # one panel's weights
    grouped = n_panels // 4 * 4
    tile = np.empty(4 * width, dtype=panels.dtype)
    s_at = j * j_step
    for p in range(0, grouped, 4):
        w0 = p * step
        a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = _zero(tile)
        for k in range(sources):
            x = _splat(values, s_at + k * k_step)
            at = w0 + k * width
            a0, c0 = _panel_step(panels, at, lanes, x, a0, c0)
            a1, c1 = _panel_step(panels, at + step, lanes, x, a1, c1)
            a2, c2 = _panel_step(panels, at + 2 * step, lanes, x, a2, c2)
            a3, c3 = _panel_step(panels, at + 3 * step, lanes, x, a3, c3)
        _store_pairs(tile, 0, a0, c0, a1, c1)
        _store_pairs(tile, 2 * width, a2, c2, a3, c3)
        for i in range(4):
            first_row = (p + i) * width
            _write_tile(tile[i * width:], 1, width, first_row, min(width, targets - first_row), j, bias, relu,
                        out, activated)
    for p in range(grouped, n_panels):
        _vector_panel(panels, p * step, sources, lanes, values, s_at, k_step, tile)
        _write_tile(tile, 1, width, p * width, min(width, targets - p * width), j, bias, relu, out, activated)


@compiled
def _vector_panel(panels, w_at, sources, lanes, values, s_at, k_step, tile):
    """One panel of ``_vector`` on its own, into ``tile[:2 * lanes]``: its sums in four pairs of
    vectors, source ``k`` into pair ``k % 4`` (the last ``sources % 4`` into pair 0), so that four
    multiply-adds are in flight where one pair would wait for each in turn; the pairs added at the
    end."""
    width = 2 * lanes
    whole = sources // 4 * 4
    a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = _zero(tile)
    for k in range(0, whole, 4):
        at = w_at + k * width
        a0, c0 = _panel_step(panels, at, lanes, _splat(values, s_at + k * k_step), a0, c0)
        a1, c1 = _panel_step(panels, at + width, lanes, _splat(values, s_at + (k + 1) * k_step), a1, c1)
        a2, c2 = _panel_step(panels, at + 2 * width, lanes, _splat(values, s_at + (k + 2) * k_step), a2, c2)
        a3, c3 = _panel_step(panels, at + 3 * width, lanes, _splat(values, s_at + (k + 3) * k_step), a3, c3)
    for k in range(whole, sources):
        a0, c0 = _panel_step(panels, w_at + k * width, lanes, _splat(values, s_at + k * k_step), a0, c0)
    _store(tile, 0, _add(_add(a0, a1), _add(a2, a3)))
    _store(tile, lanes, _add(_add(c0, c1), _add(c2, c3)))


@compiled
def _panel_step(panels, at, lanes, x, a, c):
    """One source's step of a panel of ``_vector``: the pair ``a, c`` adds the two vectors of
    weights at ``panels[at:]`` times ``x`` (``lanes`` passed in: worked out from the dtype here,
    it was a division in the loop)."""
    return _fma(_load(panels, at), x, a), _fma(_load(panels, at + lanes), x, c)


@compiled
def _rows(rows, values, k_step, j_step, count, bias, relu, out, activated):
    """``out[:, :count]`` = weights @ values + bias (and ``max(., 0)`` of it into ``activated`` if
    ``relu``; ``count`` a whole number of blocks of ``2 * lanes`` samples), from the weights packed
    in panels of ``ROWS`` targets; ``values`` as ``_pack`` reads them, ``out`` and ``activated``
    flat (C-contiguous, ``targets x n``).

    Blocked as a BLIS product: ``SAMPLES`` samples at a time, their values for ``DEPTH`` sources
    at a time packed into blocks (``_pack``); then each panel's weights for those sources stay in
    cache while the blocks of samples stream past them, contiguous. Each tile adds its sums to the
    output (to the bias, at the first sources), writing relu's values too at the last. (Asking
    the cache for a tile's lines of the output before its sums, with AVX2, made 784-512-512-10's
    plan 1.25 to 1.4x as slow at 32 to 1024 samples in float32.)"""
    targets = bias.shape[0]
    n = len(out) // targets
    lanes = VECTOR_BYTES // rows.itemsize
    width = 2 * lanes
    n_panels, sources = _panels_of(rows, targets, ROWS)
    parts = (sources + DEPTH - 1) // DEPTH
    depth = (sources + parts - 1) // parts  # equal parts: no short last block of sources
    packed = np.empty(min(count, SAMPLES) * depth, dtype=rows.dtype)
    tile = np.empty(ROWS * width, dtype=rows.dtype)
    for first in range(0, count, SAMPLES):
        samples = min(SAMPLES, count - first)
        for first_source in range(0, sources, depth):
            part = min(depth, sources - first_source)
            starts, ends = first_source == 0, first_source + part == sources
            _pack(values, k_step, j_step, first_source, part, first, samples, width, packed)
            for p in range(n_panels):
                r_at = (p * sources + first_source) * ROWS
                for block in range(samples // width):
                    _rows_tile(packed, block * part * width, rows, r_at, part, 0, tile)
                    for i in range(min(ROWS, targets - p * ROWS)):
                        row = p * ROWS + i
                        at = row * n + first + block * width
                        for half in range(0, width, lanes):
                            sums = _load(tile, i * width + half)
                            sums = _add(sums, _splat(bias, row) if starts else _load(out, at + half))
                            _store(out, at + half, sums)
                            if ends and relu:
                                _store(activated, at + half, _relu(sums))


@compiled
def _rows_vector(rows, samples, first, bias, relu, out, activated):
    """``out[:, first:first + lanes]`` = weights @ samples + bias (and ``max(., 0)`` of it into
    ``activated`` if ``relu``) for one vector of samples (``samples[k * lanes:]``, packed by ``_pack``
    or, for a batch of ``lanes``, the buffer as it is), from the weights packed in panels of
    ``ROWS`` targets, two panels a tile; ``out`` and ``activated`` flat (C-contiguous, ``targets x n``).

    The weights stream past once, each broadcast against the vector of samples, where ``_columns``
    streams each panel once per tile: with AVX2, both relu layers of 784-512-512-10 took 0.92 to
    0.99x the time of two tiles of 4 at 8 float32 samples, 0.88x at 24 (a block of ``_rows`` and
    one vector; the rest of a batch in tiles of 4 after this, 12 or 15 samples, took 1.15x: it
    stays with ``_columns``, as float64, whose vector is one tile of ``COLUMNS``)."""
    targets = bias.shape[0]
    n = len(out) // targets
    lanes = VECTOR_BYTES // rows.itemsize
    n_panels, sources = _panels_of(rows, targets, ROWS)
    tile = np.empty(2 * ROWS * lanes, dtype=rows.dtype)
    for p in range(0, n_panels, 2):
        q = min(p + 1, n_panels - 1)  # an odd last panel is read twice, its second sums not written
        _rows_vector_tile(samples, rows, p * sources * ROWS, q * sources * ROWS, sources, tile)
        for i in range(min(2 * ROWS, targets - p * ROWS)):
            row = p * ROWS + i
            sums = _add(_load(tile, i * lanes), _splat(bias, row))
            _store(out, row * n + first, sums)
            if relu:
                _store(activated, row * n + first, _relu(sums))


@compiled
def product(panels, rows, values, bias, relu, out, activated):
    """``out = weights @ values + bias``, and ``activated = max(out, 0)`` if ``relu`` (``activated``
    may be ``out``; ``nngraph.compiler.gemm.packed_product`` and ``packed_sums``; ``values`` C-
    or F-contiguous, the flat views and steps ``_pack`` reads taken here: in Python they cost a
    microsecond a call):
    whole blocks of ``2 * lanes`` samples by ``_rows``, the rest by ``_columns``, or by ``_vector``
    where it is one sample, or by ``_rows_vector`` where it is one vector of samples that
    ``_columns`` would read in two tiles or more (float32: 8 samples with AVX2, 16 with AVX-512).

    Examples
    --------
    >>> from nngraph.compiler.gemm import pack_weights
    >>> panels, rows = pack_weights(np.array([[1.0, 2.0], [-3.0, -4.0]])).layouts()
    >>> out = np.empty((2, 3))
    >>> product(panels, rows, np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]]), np.zeros((2, 1)), True, out, out)
    >>> out  # max([[1, 2], [-3, -4]] @ [[1, 0, 2], [1, 1, 1]], 0)
    array([[3., 2., 4.],
           [0., 0., 0.]])
    """
    n = out.shape[1]
    if values.flags.c_contiguous:  # the buffers: each source's samples contiguous
        flat, k_step, j_step = values.reshape(-1), n, 1
    else:  # the inputs (the batch transposed): each sample's sources contiguous
        flat, k_step, j_step = values.T.reshape(-1), 1, values.shape[0]
    bias, out, activated = bias.reshape(-1), out.reshape(-1), activated.reshape(-1)
    lanes = VECTOR_BYTES // rows.itemsize
    whole = n // (2 * lanes) * 2 * lanes
    if whole:
        _rows(rows, flat, k_step, j_step, whole, bias, relu, out, activated)
    if n - whole == lanes >= 2 * COLUMNS:  # one vector of samples, two tiles or more of _columns
        if j_step == 1 and k_step == lanes:  # a buffer of one vector of samples: as _rows_vector reads it
            _rows_vector(rows, flat, whole, bias, relu, out, activated)
        else:
            packed = np.empty(lanes * values.shape[0], dtype=rows.dtype)
            _pack(flat, k_step, j_step, 0, values.shape[0], whole, lanes, lanes, packed)
            _rows_vector(rows, packed, whole, bias, relu, out, activated)
        return
    rest = n - whole
    if rest == 1:
        _vector(panels, flat, k_step, j_step, whole, bias, relu, out, activated)
    elif rest:
        packed = np.empty((rest + COLUMNS - 1) // COLUMNS * COLUMNS * values.shape[0], dtype=rows.dtype)
        _pack(flat, k_step, j_step, 0, values.shape[0], whole, rest, COLUMNS, packed)
        _columns(panels, packed, whole, rest, bias, relu, out, activated)
