"""The packed-weight product (``nngraph.compiler.gemm``): against numpy's, kernel by kernel, and in
plans, where the cost model picks it or a test forces it onto every dense op."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import RTOL, assert_close, assert_equivalent, networks_and_batches

import nngraph
from nngraph import CodegenOptions, compile_network
from nngraph.compiler import gemm, gemm_kernels, products
from nngraph.compiler.costs import packed_batches
from nngraph.compiler.gemm import lanes, pack_weights, packed_product
from nngraph.ir.plan import fused_op
from nngraph.layers import LSTM, Dense, Input
from nngraph.models import Sequential


def _check(weights: np.ndarray, values: np.ndarray, bias: np.ndarray, *, relu: bool = False) -> None:
    out = np.full((len(weights), values.shape[1]), -7.0, dtype=weights.dtype)
    activated = np.full_like(out, -7.0)
    packed_product(pack_weights(weights), values, bias, out, relu_out=activated if relu else None)
    expected = weights.astype(np.float64) @ values.astype(np.float64) + bias
    assert_close(out, expected, rtol=RTOL[weights.dtype], what="packed product")
    if relu:
        assert_close(activated, np.maximum(expected, 0.0), rtol=RTOL[weights.dtype], what="its relu")
        packed_product(pack_weights(weights), values, bias, out, relu_out=out)  # into the sums
        assert_close(out, np.maximum(expected, 0.0), rtol=RTOL[weights.dtype], what="relu in place")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 7, 8, 9, 31, 32, 33, 64, 70, "a vector", "a block and a vector"])
def test_every_tile_shape_and_tail(dtype: type, batch: int | str) -> None:
    """Batches that fill whole blocks of each kernel, and blocks and panels left partly full: 50
    targets are 1 to 4 panels of either layout and the rows kernel's last panel holds 2 of 12 (one
    vector of samples, after whole blocks or alone, takes ``_rows_vector`` where it is twice
    ``COLUMNS`` or more: float32 on any CPU; its 9 panels of 6 targets with AVX2, an odd count)."""
    if isinstance(batch, str):
        batch = lanes(np.dtype(dtype)) * (3 if batch == "a block and a vector" else 1)
    rng = np.random.default_rng(batch)
    weights = rng.uniform(-1.0, 1.0, (50, 37)).astype(dtype)
    values = rng.uniform(-1.0, 1.0, (37, batch)).astype(dtype)
    bias = rng.uniform(-1.0, 1.0, (50, 1)).astype(dtype)
    _check(weights, values, bias)
    _check(weights, np.asfortranarray(values), bias)  # the inputs reach it transposed, column-major
    wider = np.asfortranarray(rng.uniform(-1.0, 1.0, (40, batch)).astype(dtype))
    _check(weights, wider[2:39], bias)  # some of the inputs: neither layout
    _check(weights, values, bias, relu=True)
    _check(weights, np.asfortranarray(values), bias, relu=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
def test_products_past_the_rows_kernels_blocks(dtype: type, relu: bool) -> None:
    """More sources than a block of ``DEPTH`` (the sums added to the output block by block, relu
    at the last) and more samples than ``SAMPLES``, in both layouts; ``2 * DEPTH + 88`` sources,
    split in three equal blocks, are not a whole number of the transposed squares of the inputs'
    packing."""
    rng = np.random.default_rng(5)
    sources, batch = gemm_kernels.DEPTH * 2 + 88, gemm_kernels.SAMPLES + 2 * 2 * lanes(np.dtype(dtype)) + 5
    weights = rng.uniform(-1.0, 1.0, (29, sources)).astype(dtype)
    values = rng.uniform(-1.0, 1.0, (sources, batch)).astype(dtype)
    bias = rng.uniform(-1.0, 1.0, (29, 1)).astype(dtype)
    _check(weights, values, bias, relu=relu)
    _check(weights, np.asfortranarray(values), bias, relu=relu)


def test_a_block_of_output_not_contiguous_is_written_through_a_copy() -> None:
    rng = np.random.default_rng(6)
    weights, values = rng.uniform(-1.0, 1.0, (40, 20)), rng.uniform(-1.0, 1.0, (20, 35))
    out = np.zeros((40, 70))
    activated = np.zeros((40, 70))
    packed_product(pack_weights(weights), values, np.ones((40, 1)), out[:, ::2], relu_out=activated[:, 1::2])
    assert_close(out[:, ::2], weights @ values + 1.0, rtol=RTOL[np.dtype(np.float64)], what="strided output")
    assert_close(activated[:, 1::2], np.maximum(weights @ values + 1.0, 0.0), rtol=RTOL[np.dtype(np.float64)],
                 what="strided relu")
    assert not out[:, 1::2].any() and not activated[:, ::2].any()
    packed_product(pack_weights(weights), values, np.ones((40, 1)), out[:, ::2], relu_out=out[:, ::2])
    assert_close(out[:, ::2], np.maximum(weights @ values + 1.0, 0.0), rtol=RTOL[np.dtype(np.float64)],
                 what="strided relu in place")


def test_no_samples_write_nothing() -> None:
    weights = np.ones((40, 20))
    out = np.empty((40, 0))
    packed_product(pack_weights(weights), np.empty((20, 0)), np.ones((40, 1)), out, relu_out=out)
    assert out.shape == (40, 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(1, 70), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
def test_any_shape_agrees_with_numpy(targets: int, sources: int, batch: int, dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _check(rng.uniform(-1.0, 1.0, (targets, sources)).astype(dtype),
           rng.uniform(-1.0, 1.0, (sources, batch)).astype(dtype), rng.uniform(-1.0, 1.0, (targets, 1)).astype(dtype))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 80), st.data(), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
def test_packing_reads_either_layout_alike(sources: int, batch: int, data: st.DataObject, dtype: type,
                                           seed: int) -> None:
    """``_pack`` lays out any run of sources and samples as its docstring says, zero-padded, from the
    buffers (each source's samples contiguous: whole blocks copied source by source) and from the
    inputs (each sample's sources contiguous: squares transposed) alike, for the blocks of every
    kernel: the rows kernel's two vectors, ``_rows_vector``'s one, the columns kernel's."""
    first_source = data.draw(st.integers(0, sources - 1))
    first = data.draw(st.integers(0, batch - 1))
    size = lanes(np.dtype(dtype))
    width = data.draw(st.sampled_from(sorted({2 * size, size, gemm.COLUMNS})))
    # a run that may stop short of the last source and sample, as ``_rows``' blocks do
    depth = data.draw(st.integers(1, sources - first_source))
    count = data.draw(st.integers(1, batch - first))
    blocks = -(-count // width)
    values = np.random.default_rng(seed).uniform(-1.0, 1.0, (sources, batch)).astype(dtype)
    padded = np.zeros((depth, blocks * width), dtype=dtype)
    padded[:, :count] = values[first_source:first_source + depth, first:first + count]
    expected = padded.reshape(depth, blocks, width).transpose(1, 0, 2).reshape(-1)
    for flat, k_step, j_step in ((values.reshape(-1), batch, 1), (np.asfortranarray(values).T.reshape(-1), 1, sources)):
        packed = np.full(blocks * depth * width + width, np.nan, dtype=dtype)  # a tail nothing may write
        gemm_kernels._pack(flat, k_step, j_step, first_source, depth, first, count, width, packed)
        assert np.array_equal(packed[:-width], expected)
        assert np.isnan(packed[-width:]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 3, "a block and one", 40])
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("relu", [False, True])
def test_non_finite_values_spread_as_in_numpy(dtype: type, batch: int | str, layout: str, relu: bool) -> None:
    """NaN and infinities reach exactly the sums they reach in ``np.matmul``, a weight of 0.0
    included; relu keeps NaN and infinity and zeroes minus infinity, as ``np.maximum``. One sample,
    alone or after a block of the rows kernel, is the one-sample kernel's."""
    if batch == "a block and one":
        batch = 2 * lanes(np.dtype(dtype)) + 1
    rng = np.random.default_rng(batch)
    weights = rng.uniform(-1.0, 1.0, (20, 17)).astype(dtype)
    weights[3] = 0.0  # 0.0 * inf and 0.0 * NaN are NaN
    weights[5, 2] = np.inf
    weights[6, 2] = -np.inf
    values = rng.uniform(-1.0, 1.0, (17, batch)).astype(dtype)
    values[2, 1 % batch], values[4, 2 % batch] = np.inf, -np.inf
    if batch > 1:  # one sample holding NaN gives NaN everywhere: its NaN come from inf - inf and 0 * inf
        values[1, 0] = np.nan
        values[16, -1] = np.nan  # past the inputs' transposed squares of 16 or 8 sources
    values = np.asarray(values, order=layout)
    bias = np.zeros((20, 1), dtype=dtype)
    out = np.empty((20, batch), dtype=dtype)
    packed_product(pack_weights(weights), values, bias, out, relu_out=out if relu else None)
    with np.errstate(invalid="ignore"):
        expected = weights @ values + bias
        if relu:
            expected = np.maximum(expected, 0.0)
    assert np.array_equal(np.isnan(out), np.isnan(expected))
    assert np.array_equal(out[np.isinf(expected)], expected[np.isinf(expected)])
    assert np.isnan(expected).any() and np.isinf(expected).any()
    assert np.isneginf(expected).any() != relu


def test_panels_hold_two_vectors_of_targets_source_by_source() -> None:
    weights = np.arange(3 * 5, dtype=np.float32).reshape(3, 5)  # 3 targets, 5 sources
    packed = pack_weights(weights)
    panels, rows = packed.layouts()
    assert packed.layouts()[0] is panels  # packed once
    width = 2 * lanes(weights.dtype)
    assert np.array_equal(panels.reshape(5, width)[:, :3], weights.T) and not panels.reshape(5, width)[:, 3:].any()
    assert np.array_equal(rows.reshape(5, gemm.ROWS)[:, :3], weights.T)
    assert not panels.flags.writeable and not rows.flags.writeable


def test_threads_calling_at_once_pack_once() -> None:
    packed = pack_weights(np.ones((64, 50)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        layouts = list(pool.map(lambda _: packed.layouts(), range(32)))
    assert all(panels is layouts[0][0] and rows is layouts[0][1] for panels, rows in layouts)


def _always_packed(op: object, *, dtype: np.dtype, options: CodegenOptions) -> range:
    """A cost model that picks the packed-weight product for every dense op that reads a slice."""
    return range(1, 10**6 if options.packed_products else 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks_and_batches(max_batch=40), st.sampled_from([np.float32, np.float64]))
def test_plans_forced_onto_the_packed_product_agree_with_the_reference(case: tuple[nx.DiGraph, np.ndarray],
                                                                       dtype: type) -> None:
    """Small random networks, every dense op that reads a slice on the packed-weight product at
    every batch: the trace and every runner agree with the reference, NaN and infinities too."""
    G, x = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(products, "PACKED", True)  # on any CPU: without AVX2 it is only slower
        patch.setattr(products, "packed_batches", _always_packed)
        plan = compile_network(G, dtype=dtype)
        plan.program.forward  # noqa: B018  generated now, while the patches hold (it is built on first use)
    assert_equivalent(plan, G, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_op_reading_some_of_the_inputs_gets_them_contiguous(dtype: type) -> None:
    """An LSTM's gates of the first time step read that step's inputs, some of ``X``'s rows: for a
    batch of several no contiguous array, so the generated code copies them for the kernels."""
    G = Sequential([Input(shape=(2, 2)), LSTM(3)], seed=0).graph
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(products, "PACKED", True)
        patch.setattr(products, "packed_batches",  # those gates alone: the others read the buffer
                      lambda op, *, dtype, options: range(1, 10**6 if op.index == 0 else 1))
        plan = compile_network(G, dtype=dtype, options=CodegenOptions(native_kernel=False, scalar_code=False))
        assert "packed_sums(K0, np.asfortranarray(X[0:2]), b0, z, z, False)" in plan.code
    assert_equivalent(plan, G, np.random.default_rng(4).uniform(-2.0, 2.0, (5, 4)))


def _wide_network() -> nx.DiGraph:
    model = Sequential([Dense(96, input_shape=(40,), activation="relu"), Dense(64, activation="tanh"),
                        Dense(3, activation="softmax")], seed=3)
    return model.graph


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_dense_ops_take_the_packed_product_for_the_batches_the_cost_model_gives(
        dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(products, "PACKED", True)  # on any CPU, as above
    plan = compile_network(_wide_network(), dtype=dtype)
    batches = packed_batches(plan.ops[0], dtype=plan.dtype, options=plan.options)
    limit = batches[-1]
    assert batches[0] == 1 and limit > 8
    assert plan.code.count("packed_sums(K") == 2  # not the softmax op: 3 targets fill no panel
    assert "packed_sums(K0, X, b0, z, a, True)" in plan.code  # relu in the product
    assert "packed_sums(K1, A[40:136], b1, z, z, False)\n" in plan.code  # tanh apart
    assert f"if z.shape[1] <= {limit}:" in plan.code
    plain = compile_network(_wide_network(), dtype=dtype, options=CodegenOptions(packed_products=False))
    assert "packed_sums" not in plain.code
    x = np.random.default_rng(0).uniform(-2.0, 2.0, (limit + 1, 40))
    x[5, 7] = np.nan
    for batch in (1, 2, 3, 8, 33, limit, limit + 1):  # below, at and past the limits
        assert_close(plan(x[:batch]), plain(x[:batch]), rtol=RTOL[plan.dtype], what=f"batch {batch}")
        trace, plain_trace = plan.trace(x[:batch]), plain.trace(x[:batch])
        assert_close(trace.weighted_sums, plain_trace.weighted_sums, rtol=RTOL[plan.dtype], what="weighted sums")


def test_one_sample_is_served_unless_streaming_the_padding_costs_more() -> None:
    """At one sample both products stream the weights: a wide op takes the packed product from 1
    sample on, one whose panels are nearly half padding, with many sources, only from 2."""
    def op(sources: int, targets: int) -> object:
        return fused_op(index=0, targets=range(targets), sources=range(sources), activation="relu",
                        weights=np.ones((sources, targets)), bias=np.zeros(targets), level=1)

    float32 = np.dtype(np.float32)
    assert packed_batches(op(784, 512), dtype=float32, options=CodegenOptions())[0] == 1
    panel = 2 * lanes(float32)
    padded = packed_batches(op(10_000, panel + 1), dtype=float32, options=CodegenOptions())
    assert padded and padded[0] == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_narrow_op_with_many_weights_takes_the_packed_product(dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """An op of half a panel of targets or more (784-512-512-10's softmax op) takes the packed
    product where its weights are many; fewer targets, or fewer weights, keep numpy's product."""
    monkeypatch.setattr(products, "PACKED", True)
    panel = 2 * lanes(np.dtype(dtype))
    narrow, too_narrow = panel * 5 // 8, panel // 2 - 1
    model = Sequential([Input((24,)), Dense(1024, activation="relu"), Dense(narrow, activation="softmax")], seed=3)
    plan = compile_network(model.graph, dtype=dtype)
    batches = packed_batches(plan.ops[1], dtype=plan.dtype, options=plan.options)
    limit = batches[-1]
    served = f"z.shape[1] <= {limit}" if batches[0] == 1 else f"2 <= z.shape[1] <= {limit}"  # the model's call
    assert f"if {served}:  # the packed-weight product pays" in plan.code
    assert "packed_sums(K1, A[24:1048], b1, z, z, False)" in plan.code  # softmax apart
    plain = compile_network(model.graph, dtype=dtype, options=CodegenOptions(packed_products=False))
    x = np.random.default_rng(4).uniform(-1.0, 1.0, (limit + 1, 24))
    for batch in (1, 2, 5, 8, limit, limit + 1):
        assert_close(plan(x[:batch]), plain(x[:batch]), rtol=RTOL[plan.dtype], what=f"batch {batch}")
        assert_close(plan(x[:batch]), nngraph.run_reference(model.graph, x[:batch], dtype=dtype).outputs,
                     rtol=RTOL[plan.dtype], what=f"batch {batch} against the reference")
    thin = Sequential([Input((24,)), Dense(1024), Dense(too_narrow)], seed=3)
    assert "K1" not in compile_network(thin.graph, dtype=dtype).code
    few = Sequential([Input((24,)), Dense(narrow)], seed=3)  # 24 x narrow weights: under NARROW_MIN_WEIGHTS
    assert "K0" not in compile_network(few.graph, dtype=dtype).code


def test_a_product_from_two_samples_on_leaves_one_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(products, "PACKED", True)
    monkeypatch.setattr(products, "packed_batches", lambda op, *, dtype, options: range(2, 10))
    plan = compile_network(_wide_network(), dtype=np.float32)
    assert "if 2 <= z.shape[1] <= 9:" in plan.code
    plain = compile_network(_wide_network(), dtype=np.float32, options=CodegenOptions(packed_products=False))
    x = np.random.default_rng(2).uniform(-2.0, 2.0, (10, 40))
    for batch in (1, 2, 9, 10):
        assert_close(plan(x[:batch]), plain(x[:batch]), rtol=RTOL[plan.dtype], what=f"batch {batch}")


def test_the_vector_follows_the_cpu_and_its_tiles_fit_its_registers() -> None:
    assert gemm.vector_bytes({"AVX2": True, "FMA3": True, "AVX512F": True}) == 64
    assert gemm.vector_bytes({"AVX2": True, "FMA3": True, "AVX512F": False}) == 32
    assert gemm.vector_bytes({"AVX2": True}) == gemm.vector_bytes({}) == 0  # no packed product
    registers = 32 if gemm.VECTOR_BYTES == 64 else 16
    for scalars in (gemm.ROWS, gemm_kernels.COLUMNS):  # two vectors of sums each, two read, one broadcast
        assert 2 * scalars + 3 <= registers


@pytest.mark.parametrize("scalars", sorted(gemm_kernels._TILES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_tile_agrees_with_numpy(scalars: int, dtype: type) -> None:
    """Each tile function, whichever the CPU's kernels use: two vectors times ``scalars`` broadcast
    numbers, from offsets into both arrays, over a few sources."""
    rng = np.random.default_rng(scalars)
    width, depth = 2 * lanes(np.dtype(dtype)), 13
    vectors = rng.uniform(-1.0, 1.0, (depth + 2) * width).astype(dtype)
    numbers = rng.uniform(-1.0, 1.0, (depth + 3) * scalars).astype(dtype)
    tile = np.full(scalars * width, np.nan, dtype=dtype)
    gemm_kernels._TILES[scalars](vectors, width, numbers, 3 * scalars, depth, 48 * width, tile)
    expected = numbers[3 * scalars:].reshape(-1, scalars)[:depth].T.astype(np.float64) @ (
        vectors[width:].reshape(-1, width)[:depth].astype(np.float64))
    assert_close(tile.reshape(scalars, width), expected, rtol=RTOL[np.dtype(dtype)], what=f"tile of {scalars}")


@pytest.mark.parametrize("rows", sorted(gemm_kernels._VECTOR_TILES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_vector_tile_agrees_with_numpy(rows: int, dtype: type) -> None:
    """Each tile function of one vector of samples, whichever the CPU's kernels use: that vector
    times two panels of ``rows`` broadcast weights, from offsets into the weights, over a few sources."""
    rng = np.random.default_rng(rows)
    width, depth = lanes(np.dtype(dtype)), 13
    vectors = rng.uniform(-1.0, 1.0, depth * width).astype(dtype)
    numbers = rng.uniform(-1.0, 1.0, (2 * depth + 3) * rows).astype(dtype)
    tile = np.full(2 * rows * width, np.nan, dtype=dtype)
    gemm_kernels._VECTOR_TILES[rows](vectors, numbers, 3 * rows, (depth + 3) * rows, depth, tile)
    weights = numbers.reshape(-1, rows)
    both = np.hstack([weights[3:3 + depth], weights[depth + 3:]]).T.astype(np.float64)  # 2 * rows x depth
    expected = both @ vectors.reshape(depth, width).astype(np.float64)
    assert_close(tile.reshape(2 * rows, width), expected, rtol=RTOL[np.dtype(dtype)], what=f"vector tile of {rows}")


def test_without_numba_the_code_keeps_numpy_products(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(products, "PACKED", False)
    plan = compile_network(_wide_network(), dtype=np.float32)
    assert "packed" not in plan.code and "np.matmul(W0, X, out=z)" in plan.code


def test_a_pickled_plan_packs_its_weights_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(products, "PACKED", True)
    plan = compile_network(_wide_network(), dtype=np.float32)
    assert "packed_sums(K0" in plan.code
    loaded = pickle.loads(pickle.dumps(plan))
    assert loaded.code == plan.code
    x = np.random.default_rng(1).uniform(-1.0, 1.0, (16, 40))
    assert np.array_equal(loaded(x), plan(x))


@pytest.mark.parametrize("argument", ["values", "bias", "out", "relu_out"])
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_an_array_of_another_dtype_than_the_weights_is_named(argument: str, batch: int) -> None:
    """The kernels are compiled for one dtype: an array of another is refused by name, not by LLVM."""
    arrays = {"values": np.ones((20, batch), np.float32), "bias": np.ones((40, 1), np.float32),
              "out": np.empty((40, batch), np.float32), "relu_out": np.empty((40, batch), np.float32)}
    arrays[argument] = arrays[argument].astype(np.float64)
    with pytest.raises(nngraph.ArgumentError, match=f"packed_product: {argument} is float64, the packed "
                                                    "weights float32"):
        packed_product(pack_weights(np.ones((40, 20), np.float32)), arrays["values"], arrays["bias"],
                       arrays["out"], relu_out=arrays["relu_out"])
