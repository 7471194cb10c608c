"""Reading and running a plan: the table, explain, the code, the op DAG, checks, threads, and the
plan (the IR, data) apart from its program."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import numpy as np
import pytest
from strategies import assert_equivalent

import nngraph
from nngraph import CodegenOptions, CompileError, FusedOp, NeuronNotFoundError, VerificationError
from nngraph.compiler import build_plan
from nngraph.compiler.check import _arrays_hold, _headers_hold, _sources_hold, _targets_hold
from nngraph.compiler.costs import NATIVE_MAX_BATCH
from nngraph.execute import verify
from nngraph.execute.compiled import _choose_runner, compile_plan, run_plan
from nngraph.ir import plan as ir_module
from nngraph.ir.plan import fused_op, layout
from nngraph.layers import Dense
from nngraph.models import Sequential

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def model() -> Sequential:
    return Sequential([Dense(units=6, input_shape=(8,), activation="relu"),
                       Dense(units=6, activation="relu"),
                       Dense(units=4, activation="softmax")], seed=0)


@pytest.fixture(scope="module")
def plan(model: Sequential) -> nngraph.CompiledPlan:
    return nngraph.compile_network(model.graph)


def skip_network() -> nx.DiGraph:
    G = nx.DiGraph()
    for node in ("x0", "x1", "x2"):
        G.add_node(node, role="input")
    G.add_node("h0", role="hidden", activation="tanh")
    G.add_node("h1", role="hidden", activation="tanh")
    G.add_node("y", role="output", activation="sigmoid", bias=0.5)
    for source, target, weight in [("x0", "h0", 1.0), ("x1", "h0", -1.0), ("x1", "h1", 0.5),
                                   ("x2", "h1", 2.0), ("h0", "y", 1.5), ("h1", "y", -0.5),
                                   ("x0", "y", 0.25), ("x2", "y", -3.0)]:
        G.add_edge(source, target, weight=weight)
    return G


def test_ops_have_the_fields_the_renderer_draws(plan: nngraph.CompiledPlan) -> None:
    names = {field.name for field in dataclasses.fields(FusedOp)}
    assert {"index", "kind", "targets", "sources", "weights", "bias", "activation", "nonzeros",
            "density", "level"} <= names
    op = plan.ops[1]
    assert (op.index, op.kind, op.activation, op.nonzeros, op.density, op.level) == (1, "dense", "relu", 36, 1.0, 2)
    assert op.weights.shape == (len(op.sources), len(op.targets)) and op.bias.shape == (6,)
    assert plan.inputs == tuple(f"input/{i}" for i in range(8))
    assert plan.outputs == tuple(f"dense_2/{i}" for i in range(4))


def test_table_has_one_row_per_op_and_totals(plan: nngraph.CompiledPlan) -> None:
    lines = str(plan).splitlines()
    assert lines[0] == "plan: 3 fused ops, 8 inputs -> 4 outputs, float64 (passes: share_weights, merge_levels, choose_kinds)"
    assert lines[1].split() == ["op", "kind", "level", "sources", "->", "targets", "activation", "weights",
                                "nonzeros", "density"]
    assert lines[2].split() == ["0", "dense", "1", "inputs", "(8)", "->", "dense/0", "..", "dense/5", "(6)",
                                "relu", "8x6", "48", "1.000"]
    assert "op 1 (6) -> dense_2/0 .. dense_2/3 (4)  softmax" in lines[4]
    assert lines[5] == ("totals: 3 ops, 124 parameters (108 nonzero weights + 16 biases), "
                        "108 multiply-adds per sample")
    assert lines[6].startswith("runner: straight-line scalar code for batches of up to")


def test_explain_names_op_sources_and_weights(model: Sequential, plan: nngraph.Plan) -> None:
    text = plan.explain("dense_1/2")
    lines = text.splitlines()
    assert lines[0] == "neuron 'dense_1/2' (column 16) is computed by op 1 (dense, relu, level 2):"
    assert lines[1] == f"  weighted sum = {model.graph.nodes['dense_1/2']['bias']:.6g} (bias)"
    weight = model.graph.edges["dense/3", "dense_1/2"]["weight"]
    assert f"{'-' if weight < 0 else '+'} {abs(weight):.6g} * 'dense/3'" in text
    assert lines[-1] == "  value = relu(weighted sum)"
    assert "softmax(weighted sum) over op 2's 4 neurons" in plan.explain("dense_2/0")
    assert plan.explain("input/3").startswith("neuron 'input/3' is input 3 (column 3)")
    assert plan.explain("input/3").endswith("read by op 0")
    with pytest.raises(NeuronNotFoundError, match="no neuron 'nope'"):
        plan.explain("nope")


def test_code_is_what_runs(model: Sequential, plan: nngraph.Plan) -> None:
    code = plan.code
    assert code.count("# op ") == 6 and "# op 0: relu over dense/0 .. dense/5 (6) <- inputs (8)" in code
    assert "np.matmul(W1, A[8:14], out=z)" in code
    assert "def forward_scalar(sample):" in code
    namespace = dict(plan.program.constants)
    exec(code, namespace)
    x = RNG.normal(size=(5, 8))
    buffer = np.empty((plan.program.rows, 5))
    np.testing.assert_array_equal(namespace["forward"](x.T, buffer, buffer).T, run_plan(plan, x, runner="numpy"))
    np.testing.assert_array_equal(namespace["forward_scalar"](list(x[0])), run_plan(plan, x[0], runner="scalar"))


def test_gathered_and_skip_reads_in_the_code() -> None:
    G = skip_network()
    plan = nngraph.compile_network(G)
    assert [op.targets for op in plan.ops] == [("h0", "h1"), ("y",)]
    assert plan.ops[0].density == pytest.approx(4 / 6)
    assert plan.ops[1].sources == ("x0", "x2", "h0", "h1")
    assert "A[0:3] = X" in plan.code and "A.take(i1, axis=0)" in plan.code
    assert_equivalent(plan, G, RNG.normal(size=(4, 3)))


def test_to_networkx_is_the_op_dag(plan: nngraph.CompiledPlan) -> None:
    graph = plan.to_networkx()
    assert list(graph.nodes) == ["inputs", 0, 1, 2]
    assert graph.nodes[1]["op"] is plan.ops[1]
    assert list(graph.edges(data="neurons")) == [("inputs", 0, 8), (0, 1, 6), (1, 2, 6)]
    skip = nngraph.compile_network(skip_network()).to_networkx()
    assert sorted(skip.edges(data="neurons"), key=str) == [("inputs", 0, 3), ("inputs", 1, 2), (0, 1, 2)]
    assert nx.is_directed_acyclic_graph(skip)


def test_runner_choice_is_stated(model: Sequential, plan: nngraph.Plan) -> None:
    assert plan.program.scalar_batch_limit >= 1
    assert plan.runner.startswith("straight-line scalar code for batches of up to")
    big = Sequential([Dense(units=256, input_shape=(128,), activation="relu"), Dense(units=256, activation="relu"),
                      Dense(units=10)], seed=1)
    big_plan = nngraph.compile_network(big.graph)
    assert big_plan.runner == "fused numpy" and big_plan.program.scalar is None
    assert "runner: fused numpy" in str(big_plan)
    with pytest.raises(nngraph.InputError, match="no scalar code"):
        run_plan(big_plan, np.zeros(128), runner="scalar")
    with pytest.raises(nngraph.InputError, match="no native kernel"):
        run_plan(big_plan, np.zeros(128), runner="native")
    # The limits are the cost model's, from timings measured on one machine: what holds is their
    # order, that the runner's statement gives them, and that the choice follows them.
    scalar, native = plan.program.scalar_batch_limit, plan.program.native_batch_limit
    assert 0 < scalar < native <= NATIVE_MAX_BATCH
    assert plan.runner.endswith(f", the native kernel for batches of up to {native} samples, fused numpy for larger ones")
    assert [(batch, _choose_runner(plan.program, batch)) for batch in (1, scalar + 1, native, native + 1)] == [
        (1, "scalar"), (scalar + 1, "native"), (native, "native"), (native + 1, "numpy")]
    assert [run_plan(plan, np.zeros((batch, 8)), runner=None).shape for batch in (0, 3, native, native + 1)] == [
        (0, 4), (3, 4), (native, 4), (native + 1, 4)]


def test_trace_comes_from_the_fused_buffers(model: Sequential, plan: nngraph.Plan) -> None:
    x = RNG.normal(size=(3, 8))
    trace = plan.trace(x)
    assert isinstance(trace, nngraph.Trace)
    assert trace.columns is plan.columns and trace.values.shape == (3, 24)
    reference = nngraph.run_reference(model.graph, x)
    np.testing.assert_allclose(trace.weighted_sum("dense_1/3"), reference.weighted_sum("dense_1/3"), rtol=1e-12)
    assert np.isnan(trace.weighted_sums[:, :8]).all()
    with pytest.raises(NeuronNotFoundError):
        trace.weighted_sum("input/0")
    assert "dense_2 (4, softmax)" in trace.table(1)


def test_concurrent_calls_agree(plan: nngraph.CompiledPlan) -> None:
    skip = nngraph.compile_network(skip_network())
    samples = [RNG.normal(size=(size, 8)) for size in (1, 2, 1, 7, 64, 1, 3)] * 6
    expected = [(plan(x), plan.trace(x).values, skip(x[:, :3])) for x in samples]
    barrier = threading.Barrier(4)

    def work(index: int) -> bool:
        if index < 4:
            barrier.wait()  # the first calls start together
        x = samples[index]
        outputs, values, skipped = expected[index]
        return (np.array_equal(plan(x), outputs) and np.array_equal(plan.trace(x).values, values)
                and np.array_equal(skip(x[:, :3]), skipped))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(len(samples))))


def test_small_batch_paths_are_built_once_on_their_first_use(model: Sequential,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import codegen

    built = {"scalar": 0, "native": 0}
    scalar_source, native_arrays = codegen.scalar_source, codegen.native_arrays

    def counted(name: str, function):  # noqa: ANN001, ANN202 - a pass-through that counts calls
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            built[name] += 1
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(codegen, "scalar_source", counted("scalar", scalar_source))
    monkeypatch.setattr(codegen, "native_arrays", counted("native", native_arrays))
    fresh = nngraph.compile_network(model.graph)
    assert fresh.program.runners == ("numpy", "scalar", "native")  # known before the parts are built
    assert "straight-line scalar code for batches of up to" in str(fresh) and built == {"scalar": 0, "native": 0}
    x = RNG.normal(size=(5, 8))
    expected = [run_plan(fresh, x[:1], runner="numpy"), run_plan(fresh, x, runner="numpy")]
    assert built == {"scalar": 0, "native": 0}  # the numpy pass needs neither
    barrier = threading.Barrier(8)

    def first_calls(index: int) -> bool:
        barrier.wait()  # all start together: one builds, the others wait for it
        return np.allclose(fresh(x[:1] if index % 2 else x), expected[0] if index % 2 else expected[1],
                           rtol=1e-12, atol=0.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(first_calls, range(8)))
    assert built == {"scalar": 1, "native": 1}
    assert "def forward_scalar(sample):" in fresh.code and built == {"scalar": 1, "native": 1}


def test_the_numpy_pass_is_compiled_once_on_its_first_use(model: Sequential,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling writes no code: the numpy pass's source is written on first use (here, asking which
    runners the plan has), once however many threads first call at once; a plan run only on small
    batches never compiles it, pickling needs none of it, and threads that first need it at once
    compile it once."""
    import pickle

    from nngraph.compiler import codegen

    compiled, written = [], []
    numpy_pass, source = codegen._BUILDERS["numpy"], codegen._BUILDERS["source"]

    def counted(program: codegen.Program) -> object:
        compiled.append(program)
        return numpy_pass(program)

    def counted_source(program: codegen.Program) -> object:
        written.append(program)
        return source(program)

    monkeypatch.setitem(codegen._BUILDERS, "numpy", counted)
    monkeypatch.setitem(codegen._BUILDERS, "source", counted_source)
    x = RNG.normal(size=(64, 8))
    expected = nngraph.run_reference(model.graph, x).outputs
    racing = nngraph.compile_network(model.graph)
    assert written == []
    start = threading.Barrier(8)

    def first_call(index: int) -> bool:
        start.wait()
        return np.allclose(racing(x[index:index + 2]), expected[index:index + 2], rtol=1e-12, atol=0.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(first_call, range(8)))
    assert written == [racing.program]
    fresh = nngraph.compile_network(model.graph)
    assert fresh.program.runners == ("numpy", "scalar", "native") and written[-1] is fresh.program
    np.testing.assert_allclose(fresh(x[0]), expected[0], rtol=1e-12, atol=0.0)  # the scalar code
    np.testing.assert_allclose(run_plan(fresh, x[:4], runner="native"), expected[:4], rtol=1e-12, atol=0.0)
    assert "def forward(X, Z, A):" in fresh.code and not fresh.program.padded
    assert compiled == []  # the source is written, not compiled
    loaded = pickle.loads(pickle.dumps(fresh))
    assert compiled == []
    np.testing.assert_allclose(run_plan(loaded, x, runner="numpy"), expected, rtol=1e-12, atol=0.0)
    assert compiled == [loaded.program]
    barrier = threading.Barrier(8)

    def first_calls(index: int) -> bool:
        barrier.wait()  # all start together: one compiles, the others wait for it
        rows = slice(index, index + 32)
        return np.allclose(run_plan(fresh, x[rows], runner="numpy"), expected[rows], rtol=1e-12, atol=0.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(first_calls, range(8)))
    assert compiled == [loaded.program, fresh.program]
    namespace = dict(fresh.program.constants)  # the constants the source names, as before
    exec(fresh.code, namespace)
    buffer = np.empty((fresh.program.rows, 3))
    np.testing.assert_allclose(namespace["forward"](x[:3].T, buffer, buffer).T, expected[:3], rtol=1e-12, atol=0.0)


def test_the_arrays_the_numpy_pass_names_are_built_when_it_is_compiled(model: Sequential,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A sparse product's CSR arrays (``store.Later``) are built with the numpy pass, once, not at
    compile time: the plan's source names them from the start."""
    from nngraph.compiler import products, rows
    from nngraph.compiler.passes import choose_kinds

    built = []
    sparse_rows = products.sparse_rows

    def counted(plan: nngraph.Plan, ops: list) -> rows.SparseRows:
        built.append(tuple(op.index for op in ops))
        return sparse_rows(plan, ops)

    monkeypatch.setattr(products, "sparse_rows", counted)
    sparse = compile_plan(choose_kinds(build_plan(model.graph), kind="sparse"))
    assert sparse.code.count("csr_accumulate(") == 3  # the source names them
    assert built == []
    x = RNG.normal(size=(64, 8))
    np.testing.assert_allclose(run_plan(sparse, x, runner="numpy"), nngraph.run_reference(model.graph, x).outputs,
                               rtol=1e-12, atol=0.0)
    assert built == [(0,), (1,), (2,)]  # one build per product, its four constants read from it
    np.testing.assert_array_equal(sparse.program.constants["J1"], sparse_rows(sparse.plan, [sparse.ops[1]]).columns)
    assert built == [(0,), (1,), (2,)]


@pytest.mark.parametrize("runner", ["numpy", "native"])
def test_calls_return_their_own_arrays_though_the_buffer_is_kept(runner: str) -> None:
    """plan(x) runs in a buffer kept between calls; what it returns is a copy (even a single
    column, whose transpose would otherwise be a view of the buffer)."""
    one_output = Sequential([Dense(units=3, input_shape=(2,), activation="tanh"), Dense(units=1)], seed=0)
    plan = nngraph.compile_network(one_output.graph)
    first_x, second_x = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))
    first = run_plan(plan, first_x, runner=runner)
    expected = nngraph.run_reference(one_output.graph, first_x).outputs
    buffer = plan.scratch.buffer(rows=plan.program.rows, batch=5, dtype=plan.dtype)
    assert not np.shares_memory(first, buffer)
    second = run_plan(plan, second_x, runner=runner)
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    np.testing.assert_allclose(second, nngraph.run_reference(one_output.graph, second_x).outputs, rtol=1e-12)


def test_only_buffers_up_to_kept_bytes_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.execute import scratch

    kept = scratch.Scratch()
    dtype = np.dtype(np.float32)
    assert np.shares_memory(kept.buffer(rows=4, batch=8, dtype=dtype), kept.buffer(rows=4, batch=8, dtype=dtype))
    assert not np.shares_memory(kept.buffer(rows=4, batch=8, dtype=dtype),
                                kept.buffer(rows=4, batch=8, dtype=np.dtype(np.float64)))
    monkeypatch.setattr(scratch, "KEPT_BYTES", 4 * 8 * 4 - 1)
    fresh = scratch.Scratch()
    assert not np.shares_memory(fresh.buffer(rows=4, batch=8, dtype=dtype), fresh.buffer(rows=4, batch=8, dtype=dtype))


def test_a_buffer_of_the_last_shape_is_the_same_view_until_the_shape_or_dtype_changes() -> None:
    from nngraph.execute import scratch

    kept = scratch.Scratch()
    float32, float64 = np.dtype(np.float32), np.dtype(np.float64)
    first = kept.buffer(rows=4, batch=8, dtype=float32)
    assert kept.buffer(rows=4, batch=8, dtype=float32) is first
    smaller = kept.buffer(rows=4, batch=2, dtype=float32)
    assert smaller.shape == (4, 2) and np.shares_memory(smaller, first)
    grown = kept.buffer(rows=64, batch=64, dtype=float32)  # a larger array: the old view is not handed out
    assert grown.shape == (64, 64) and not np.shares_memory(grown, first)
    assert np.shares_memory(kept.buffer(rows=4, batch=8, dtype=float32), grown)
    wider = kept.buffer(rows=4, batch=8, dtype=float64)
    assert wider.dtype == float64 and wider.shape == (4, 8)


def test_a_trace_reuses_the_buffers_of_a_dropped_trace_and_no_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trace's buffers go to the next trace once nothing refers to them: not while the trace,
    or a view of one of its arrays, is alive; what the earlier trace's views hold stays as it was.
    (A weak reference to a trace's buffer does not hold it: it finds the buffer while kept.)"""
    from nngraph.execute import scratch

    monkeypatch.setattr(scratch, "REUSED_BYTES", 0)  # these buffers are small
    net = Sequential([Dense(units=5, input_shape=(4,), activation="tanh"), Dense(units=3)], seed=0)
    plan = nngraph.compile_network(net.graph, options=CodegenOptions(native_kernel=False))
    xs = [RNG.normal(size=(6, 4)) for _ in range(4)]
    first = plan.trace(xs[0])
    kept = weakref.ref(first.values.base)
    column = first.weighted_sum("dense/2")  # a view of the first trace's weighted sums
    saved = column.copy()
    del first
    second = plan.trace(xs[1])  # the first trace's buffers are still held by ``column``
    assert second.values.base is not kept()
    np.testing.assert_array_equal(column, saved)
    del column
    third = plan.trace(xs[2])  # ``second`` is alive, and its buffers are the ones kept
    assert third.values.base is not second.values.base
    kept = weakref.ref(third.values.base)
    del third
    fourth = plan.trace(xs[3])
    assert kept() is not None and fourth.values.base is kept()
    np.testing.assert_array_equal(second.values[:, :4], xs[1])
    for trace, x in ((second, xs[1]), (fourth, xs[3])):
        reference = nngraph.run_reference(net.graph, x)
        for node in net.graph:
            np.testing.assert_allclose(trace.value(node), reference.value(node), rtol=1e-12)
        assert np.isnan(trace.weighted_sums[:, :4]).all()


def test_trace_buffers_are_reused_from_reused_bytes_up_to_kept_bytes_and_by_dtype(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.execute import scratch

    kept, float32 = scratch.Scratch(), np.dtype(np.float32)
    assert kept.trace_buffers(rows=4, batch=8, dtype=float32)[0].base is None  # small: fresh, unkept
    monkeypatch.setattr(scratch, "REUSED_BYTES", 8 * 4)

    def bases(rows: int, dtype: np.dtype = float32) -> tuple[weakref.ref, weakref.ref]:
        sums, values = kept.trace_buffers(rows=rows, batch=8, dtype=dtype)
        return weakref.ref(sums.base), weakref.ref(values.base)

    def same(one: tuple[weakref.ref, weakref.ref], other: tuple[weakref.ref, weakref.ref]) -> bool:
        return all(a() is not None and a() is b() for a, b in zip(one, other))

    first = bases(4)
    assert same(bases(4), first) and first[0]() is not first[1]()
    assert same(bases(2), first)  # half the rows: the same buffers
    assert not same(bases(1), first)  # a quarter: fresh ones, so a small trace pins no large buffers
    first = bases(4)
    assert not same(bases(4, np.dtype(np.float64)), first)
    monkeypatch.setattr(scratch, "KEPT_BYTES", 4 * 8 * 4 - 1)
    assert [ref() for ref in bases(4)] == [None, None]  # not kept: freed with their arrays


def test_a_trace_copies_its_inputs_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trace's value buffer takes the inputs transposed, a block of samples at a time: with
    blocks of 3 samples, 10 samples make four blocks, the last one short."""
    from nngraph.execute import scratch

    monkeypatch.setattr(scratch, "BLOCK_BYTES", 3 * 5 * 8)
    batch = RNG.normal(size=(10, 5))
    out = np.full((5, 10), np.nan)
    scratch.copy_transposed(batch, out=out)
    np.testing.assert_array_equal(out, batch.T)
    wide = Sequential([Dense(units=3, input_shape=(5,), activation="relu"), Dense(units=2)], seed=0)
    plan = nngraph.compile_network(wide.graph, options=CodegenOptions(native_kernel=False))
    trace, reference = plan.trace(batch), nngraph.run_reference(wide.graph, batch)
    np.testing.assert_array_equal(trace.values[:, :5], batch)
    assert np.isnan(trace.weighted_sums[:, :5]).all()  # the numpy pass's trace; the native one's below
    for node in wide.graph:
        np.testing.assert_allclose(trace.value(node), reference.value(node), rtol=1e-12)


# Checks and verification


def broken(plan: nngraph.CompiledPlan, index: int, **changes: object) -> nngraph.Plan:
    op = plan.ops[index]
    fields = {"index": op.index, "targets": op.targets, "sources": op.sources, "weights": op.weights,
              "bias": op.bias, "activation": op.activation, "level": op.level}
    fields.update(changes)
    ops = list(plan.ops)
    ops[index] = fused_op(**fields)
    return dataclasses.replace(plan.plan, ops=tuple(ops))


def test_check_plan_names_the_op_and_neurons(plan: nngraph.CompiledPlan) -> None:
    nngraph.check_plan(plan)
    cases = [  # (plan, op at fault, message, neurons named)
        (broken(plan, 1, targets=("dense/0",) + plan.ops[1].targets[1:]), 1,
         "computes 'dense/0', which op 0 computes already", ("dense/0",)),
        (broken(plan, 1, weights=np.zeros((5, 6))), 1, r"weights have shape \(5, 6\)", plan.ops[1].targets),
        (broken(plan, 1, sources=plan.ops[1].sources[::-1]), 1, "sources are not sorted",
         plan.ops[1].sources[::-1]),
        (broken(plan, 0, sources=("dense_1/0",) * 8), 0, "reads neurons not computed before it",
         ("dense_1/0",) * 8),
        (broken(plan, 2, level=2), 2, "on level 2 reads", plan.ops[1].targets),
        (broken(plan, 2, level=2), 2, r"reads \['dense_1/0', .*\] from level 2; an op may read only lower",
         plan.ops[1].targets),
        (broken(plan, 1, sources=("nope",) + plan.ops[1].sources[1:]), 1, r"reads unknown neurons: \['nope'\]",
         ("nope",)),
        (broken(plan, 1, sources=plan.ops[1].sources[:1] * 2 + plan.ops[1].sources[2:]), 1,
         "sources are not sorted by column, or repeat one", plan.ops[1].sources[:1] * 2 + plan.ops[1].sources[2:]),
        (broken(plan, 1, activation="ReLU"), 1, "not canonical", plan.ops[1].targets),
        (broken(plan, 1, bias=np.zeros(6, dtype=np.float32)), 1, "bias are float32", ()),
    ]
    assert _sources_hold(plan.plan)  # the whole plan's sources in one test; op by op only on a fault
    assert _headers_hold(plan.plan)  # and its headers, targets and arrays
    assert _targets_hold(plan.plan, [node for op in plan.ops for node in op.targets])
    assert _arrays_hold(plan.plan, "")
    for bad, index, message, nodes in cases:
        assert _sources_hold(bad) == ("reads" not in message and "sources" not in message and "level" not in message)
        assert _headers_hold(bad) == ("canonical" not in message)
        assert _targets_hold(bad, [node for op in bad.ops for node in op.targets]) == ("computes" not in message)
        assert _arrays_hold(bad, "") == ("weights have" not in message and "bias are" not in message)
        with pytest.raises(CompileError, match=message) as error:
            nngraph.check_plan(bad, stage="a test")
        assert str(error.value).startswith(f"after a test: op {index}: ")
        assert (error.value.op, error.value.nodes) == (index, tuple(nodes))
    ops = plan.ops[:2]
    missing = dataclasses.replace(plan.plan, ops=ops, columns=layout(plan.inputs, (op.targets for op in ops)))
    with pytest.raises(CompileError, match=r"no op computes \['dense_2/0'"):
        nngraph.check_plan(missing)
    ghost = dataclasses.replace(plan.plan, columns={**plan.columns, "ghost": len(plan.columns)})
    with pytest.raises(CompileError, match=r"the column map holds 25 neurons, but the inputs and ops hold 24; "
                                           r"not computed: \['ghost'\]") as error:
        nngraph.check_plan(ghost)
    assert error.value.nodes == ("ghost",)
    with pytest.raises(CompileError, match=r"no op computes the outputs \['input/0'\]") as error:
        nngraph.check_plan(dataclasses.replace(plan.plan, outputs=("input/0",) + plan.outputs[1:]))
    assert error.value.nodes == ("input/0",)
    unknown = type("Unknown", (FusedOp,), {"operation": property(lambda op: "convolution")})
    strange = unknown(**{field.name: getattr(plan.ops[0], field.name) for field in dataclasses.fields(FusedOp)})
    with pytest.raises(CompileError, match="op 0: computes 'convolution', no known operation"):
        nngraph.check_plan(dataclasses.replace(plan.plan, ops=(strange,) + plan.ops[1:]))
    swapped = dict(plan.columns)
    swapped["dense/0"], swapped["dense/1"] = swapped["dense/1"], swapped["dense/0"]
    with pytest.raises(CompileError, match="target 'dense/0' should hold column 8"):
        nngraph.check_plan(dataclasses.replace(plan.plan, columns=swapped))


def test_verify_names_the_first_neuron_that_differs(model: Sequential, plan: nngraph.CompiledPlan) -> None:
    G = model.graph.copy()
    G.edges["dense/2", "dense_1/4"]["weight"] += 0.5
    with pytest.raises(VerificationError, match=r"neuron 'dense_1/4': weighted sum of sample 0 .*op 1") as error:
        verify.verify_plan(plan, G)
    assert error.value.nodes == ("dense_1/4",) and error.value.op == 1
    # A program that computes something else than the graph: op 0's code adds 0.5 to a bias.
    wrong = compile_plan(broken(plan, 0, bias=plan.ops[0].bias + np.eye(6)[3] * 0.5))
    with pytest.raises(VerificationError, match="neuron 'dense/3': weighted sum") as error:
        verify.verify_plan(wrong, model.graph)
    assert error.value.op == 0


def test_the_plan_is_data_and_the_program_is_built_from_it(model: Sequential,
                                                           plan: nngraph.CompiledPlan) -> None:
    ir = plan.plan
    assert isinstance(ir, nngraph.Plan) and not callable(ir) and not hasattr(ir, "code")
    assert {field.name for field in dataclasses.fields(ir)} == {
        "ops", "inputs", "outputs", "dtype", "columns", "groups", "passes", "layers", "lowering"}
    assert str(plan) == str(ir) + f"\nrunner: {plan.runner}" and "runner" not in str(ir)
    assert [op.operation for op in plan.ops] == ["weighted_sum"] * 3
    kinds = ir_module.__doc__.split("Op kinds\n")[1].split("Column layout\n")[0]
    assert all(f'``"{operation}"``' in kinds for operation in ir_module.OPERATIONS)  # each with its formula
    for name in ("ops", "inputs", "outputs", "dtype", "columns", "groups", "passes", "n_columns"):
        assert getattr(plan, name) is getattr(ir, name) or getattr(plan, name) == getattr(ir, name)
    assert plan.explain("dense/1") == ir.explain("dense/1") and plan.op_of("dense_2/1") is ir.op_of("dense_2/1")
    assert list(plan.to_networkx().edges) == list(ir.to_networkx().edges)
    assert build_plan(model.graph).ops[1].weights.tolist() == ir.ops[1].weights.tolist()
    again = compile_plan(ir)  # the same plan gives the same program
    assert again.code == plan.code and again.program is not plan.program
    with pytest.raises(ValueError, match="read-only"):
        ir.ops[0].weights[0, 0] = 1.0
    for compile_it in (lambda: compile_plan(ir, options={"scalar_code": False}),
                       lambda: nngraph.compile_network(model.graph, options={"scalar_code": False})):
        with pytest.raises(CompileError, match="options must be nngraph.CodegenOptions, got dict"):
            compile_it()


def test_each_codegen_choice_switches_off_by_name(model: Sequential, plan: nngraph.CompiledPlan) -> None:
    x = RNG.normal(size=(3, 8))
    expected = plan(x)
    no_scalar = nngraph.compile_network(model.graph, options=CodegenOptions(scalar_code=False))
    assert no_scalar.program.runners == ("numpy", "native") and "forward_scalar" not in no_scalar.code
    assert no_scalar.runner.startswith("the native kernel for batches of up to")
    no_native = nngraph.compile_network(model.graph, options=CodegenOptions(native_kernel=False))
    assert no_native.program.runners == ("numpy", "scalar") and "native" not in no_native.runner
    neither = nngraph.compile_network(model.graph, options=CodegenOptions(scalar_code=False, native_kernel=False))
    assert neither.runner == "fused numpy" and neither.program.runners == ("numpy",)
    no_in_place = nngraph.compile_network(model.graph, options=CodegenOptions(in_place_activations=False))
    assert "np.maximum(z, 0.0, out=a)" in plan.code and "np.maximum" not in no_in_place.code
    assert "a[...] = f0(z)  # relu" in no_in_place.code
    for compiled in (no_scalar, no_native, neither, no_in_place):
        np.testing.assert_allclose(compiled(x), expected, rtol=1e-12)
    G = nx.DiGraph()  # two ops of level 1 (tanh and relu) gather the scattered columns x0 and x2
    G.add_nodes_from(["x0", "x1", "x2"], role="input")
    G.add_node("h", role="hidden", activation="tanh")
    G.add_node("g", role="hidden", activation="relu")
    G.add_node("y", role="output")
    G.add_weighted_edges_from([("x0", "h", 1.0), ("x2", "h", -1.0), ("x0", "g", 0.5), ("x2", "g", 2.0),
                               ("x1", "y", 1.0), ("h", "y", 1.0), ("g", "y", -1.0)])
    shared = nngraph.compile_network(G, passes=())
    apart = nngraph.compile_network(G, passes=(), options=CodegenOptions(shared_products=False))
    assert "one gather and one product serve them all" in shared.code
    assert "serve them all" not in apart.code and apart.code.count("A.take(") == 3
    assert_equivalent(apart, G, RNG.normal(size=(4, 3)))
    with pytest.raises(CompileError, match="codegen option scalar_code must be True or False, got 'no'"):
        CodegenOptions(scalar_code="no")


@pytest.mark.parametrize("groups", [1.0, 0, 2])
def test_a_groups_value_check_plan_refuses_is_refused_by_the_whole_plan_test_too(
        plan: nngraph.CompiledPlan, groups: object) -> None:
    ops = list(plan.ops)
    ops[1] = dataclasses.replace(ops[1], groups=groups)
    bad = dataclasses.replace(plan.plan, ops=tuple(ops))
    assert not _headers_hold(bad)
    with pytest.raises(CompileError, match=rf"op 1: groups={groups!r} must be a whole number"):
        nngraph.check_plan(bad)


def test_an_op_whose_nonzeros_are_not_its_weights_is_named(plan: nngraph.CompiledPlan) -> None:
    ops = list(plan.ops)
    ops[1] = dataclasses.replace(ops[1], nonzeros=ops[1].nonzeros - 1)
    bad = dataclasses.replace(plan.plan, ops=tuple(ops))
    assert not _arrays_hold(bad, "")  # the whole-plan test sees it, the op-by-op check names it
    with pytest.raises(CompileError, match=r"op 1: says 35 nonzeros \(density 1.0\); its weights have 36 "
                                           r"\(density 1.0\)"):
        nngraph.check_plan(bad, stage="a test")


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_fused_op_holds_what_the_dataclass_constructor_would(kind: str) -> None:
    """``fused_op`` fills the frozen dataclass without its ``__init__``: every field, as it would."""
    op = fused_op(index=2, targets=["h", "g", "k"], sources=["x", "y"],
                  weights=np.array([[1.0, 0.0, 2.0], [0.5, 3.0, 0.0]]), bias=np.ones(3),
                  activations=[("relu", 2), ("tanh", 1)], level=4, kind=kind)
    fields = {field.name: getattr(op, field.name) for field in dataclasses.fields(FusedOp)}
    built = FusedOp(**fields)
    assert op.__dict__.keys() == built.__dict__.keys()
    assert all(op.__dict__[name] is built.__dict__[name] for name in op.__dict__)
    assert (op.activation_runs(), op.connections) == (built.activation_runs(), built.connections)
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.level = 5  # type: ignore[misc]
