"""Mixed ops: the neurons of one level are one weighted-sum op whatever their activations, each run of
its targets with its own activation, on every runner the cost model can pick."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import onnxruntime
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_close, assert_equivalent, unit

import nngraph
from nngraph import CodegenOptions, CompileError
from nngraph.compiler import build_plan, check_plan, loop
from nngraph.compiler.check import _headers_hold
from nngraph.compiler.lower_arrays import lower_arrays
from nngraph.compiler.arrays import graph_arrays
from nngraph.execute.compiled import compile_plan, run_plan
from nngraph.interop.onnx_export import to_onnx
from nngraph.ir.plan import fused_op
from nngraph.render.plan_network import network_of_plan

NATIVE = ("relu", "tanh", "sigmoid", "linear", "leaky_relu(alpha=0.1)")  # each has a native form
ELEMENT_WISE = NATIVE + ("neat_sin", "gelu", "softsign")
LEVEL = ("relu", "tanh", "sigmoid", "neat_sin")  # one level of these: values where they all differ
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
NO_SHORTCUTS = CodegenOptions(scalar_code=False, native_kernel=False, level_loop=False)


def mixed_level(activations: tuple[str, ...] = LEVEL, *, partly: bool = False) -> nx.DiGraph:
    """Inputs x0..x2; one level of neurons ``<activation>/<k>`` (two of each, interleaved) that all
    compute the same weighted sum ``x0 - 0.5 x1 + 0.25 x2 + 0.1``, so that each output is its own
    activation of one number; then a second level mixing them again. ``partly``: the second
    neuron of each activation does not read x2 (the merged op pads; a NaN in x2 needs the exact
    pass)."""
    G = nngraph.new_network()
    for i in range(3):
        nngraph.add_input(G, f"x{i}")
    names = [f"{activation.split('(')[0]}/{k}" for k in range(2) for activation in activations]
    for node, activation in zip(names, activations * 2):
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output", bias=0.1, activation=activation))
        for source, weight in (("x0", 1.0), ("x1", -0.5), ("x2", 0.25)):
            if not (partly and node.endswith("/1") and source == "x2"):
                nngraph.connect(G, source, node, weight)
    for k, activation in enumerate(reversed(activations)):
        node = f"second/{k}"
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output", bias=-0.2, activation=activation))
        for j, source in enumerate(names[k::2]):
            nngraph.connect(G, source, node, 0.5 - 0.3 * j)
    return G


def expected_first_level(G: nx.DiGraph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each first-level neuron's value, computed here: its own activation of the shared sum."""
    z = x[:, 0] - 0.5 * x[:, 1] + 0.25 * x[:, 2] + 0.1
    return {node: nngraph.resolve_activation(G.nodes[node]["activation"]).function(z)
            for node in G.nodes if "/" in node and not node.startswith("second")}


def samples(n: int = 5) -> np.ndarray:
    return np.random.default_rng(0).uniform(-2.0, 2.0, size=(n, 3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_each_run_of_a_mixed_op_applies_its_own_activation(dtype: type) -> None:
    G = mixed_level()
    plan = nngraph.compile_network(G, dtype=dtype)
    first = plan.ops[0]
    assert len(plan.ops) == 2 and first.activation == "mixed"
    assert [name for name, _, _ in first.activation_runs()] == ["relu", "tanh", "sigmoid", "neat_sin"]
    x = samples()
    trace = plan.trace(x)
    for node, expected in expected_first_level(G, x).items():
        assert_close(trace.value(node), expected.astype(dtype), rtol=RTOL[dtype], what=f"value of {node}")
    values = np.array([expected for node, expected in expected_first_level(G, x).items() if node.endswith("/0")])
    gaps = np.abs(values[:, None] - values[None, :]).max(axis=2) + np.eye(len(values))
    assert gaps.min() > 0.05  # any run given another's activation would differ
    assert_equivalent(plan, G, x)


@pytest.mark.parametrize("options", [CodegenOptions(), NO_SHORTCUTS, CodegenOptions(in_place_activations=False),
                                     CodegenOptions(shared_products=False)])
@pytest.mark.parametrize("activations", [LEVEL, NATIVE])
def test_mixed_ops_agree_with_the_reference_on_every_runner(activations: tuple[str, ...],
                                                            options: CodegenOptions) -> None:
    G = mixed_level(activations)
    for dtype in (np.float64, np.float32):
        plan = nngraph.compile_network(G, dtype=dtype, options=options)
        assert any(op.activations is not None for op in plan.ops)
        for batch in (1, 2, 7):
            assert_equivalent(plan, G, samples(batch))
    native = nngraph.compile_network(G)
    if activations == NATIVE and options.native_kernel:  # the kernel: one kernel op per run
        assert "native" in native.program.runners and native.program.native.activation.tolist() == [
            1, 3, 4, 0, 2, 2, 0, 4, 3, 1]
    if activations == NATIVE and options.scalar_code:
        assert "scalar" in native.program.runners


def test_mixed_ops_run_in_the_level_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop, "LEVEL_LOOP_OPS", 2)
    for activations in (LEVEL, NATIVE):
        G = mixed_level(activations)
        plan = nngraph.compile_network(G, passes=("merge_levels",), options=CodegenOptions(native_kernel=False))
        assert "LEVELS" in plan.program.constants
        runs = [len(activations) for _, _, _, _, _, _, activations in plan.program.constants["LEVELS"]]
        assert runs == [len(activations), len(activations)]
        assert_equivalent(plan, G, samples())
        assert_equivalent(nngraph.compile_network(G, dtype=np.float32, passes=("merge_levels",)), G, samples())


def test_a_padded_mixed_op_propagates_nan_through_the_exact_pass() -> None:
    G = mixed_level(partly=True)
    x = samples()
    x[1, 2] = np.nan  # reaches the neurons reading x2 only
    for dtype in (np.float64, np.float32):
        plan = nngraph.compile_network(G, dtype=dtype, options=NO_SHORTCUTS)
        assert plan.ops[0].padded and plan.ops[0].activation == "mixed" and plan.program.padded
        assert_equivalent(plan, G, x)
        trace = plan.trace(x)
        assert np.isnan(trace.value("relu/0")[1]) and not np.isnan(trace.value("relu/1")[1])


@st.composite
def mixed_dags(draw: st.DrawFn) -> nx.DiGraph:
    """A random DAG: each neuron with its own activation and a random set of earlier sources."""
    activations = draw(st.sampled_from([NATIVE, ELEMENT_WISE]))
    G = nngraph.new_network()
    nodes = [f"x{i}" for i in range(draw(st.integers(1, 4)))]
    for node in nodes:
        nngraph.add_input(G, node)
    n_inputs = len(nodes)
    for i in range(draw(st.integers(2, 14))):
        node = f"n{i}"
        sources = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4, unique=True))
        role = "output" if draw(st.booleans()) or i == 0 else "hidden"
        nngraph.add_neuron(G, nngraph.Neuron(node, role=role, bias=draw(unit),
                                             activation=draw(st.sampled_from(activations))))
        for source in sources:
            nngraph.connect(G, source, node, draw(unit))
        nodes.append(node)
    for node in nodes[n_inputs:]:  # a hidden neuron that feeds nothing becomes an output
        if G.nodes[node]["role"] == "hidden" and not G.out_degree(node):
            G.nodes[node]["role"] = "output"
    return G


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_dags(), st.integers(1, 5), st.sampled_from([np.float64, np.float32]), st.booleans())
def test_random_dags_with_mixed_levels_agree_with_the_reference(G: nx.DiGraph, batch: int, dtype: type,
                                                                nan: bool) -> None:
    x = np.random.default_rng(batch).uniform(-2.0, 2.0, size=(batch, len(nngraph.inputs(G))))
    if nan:  # through padding, only the exact pass keeps it from neurons the input does not feed
        x[0, -1] = np.nan
    plans = [nngraph.compile_network(G, dtype=dtype), nngraph.compile_network(G, dtype=dtype, options=NO_SHORTCUTS),
             compile_plan(lower_arrays(graph_arrays(G), dtype=np.dtype(dtype)))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "LEVEL_LOOP_OPS", 1)
        looped = nngraph.compile_network(G, dtype=dtype, passes=("merge_levels",))
        # the code is generated on first use: here, while the patch holds
        assert ("for start, stop, P, J, V, b, activations in LEVELS:" in looped.code) == \
            loop.level_loop_applies(looped.plan, options=looped.options)
    plans.append(looped)
    for plan in plans:
        check_plan(plan.plan)
        assert_equivalent(plan, G, x)


def test_a_mixed_op_exports_to_onnx_one_activation_per_run() -> None:
    G = mixed_level(LEVEL)
    plan = nngraph.compile_network(G, dtype=np.float32)
    model = to_onnx(plan, dtype=np.float32)
    types = [node.op_type for node in model.graph.node]
    assert types.count("Slice") == 4 + 4 and {"Relu", "Tanh", "Sigmoid", "Sin"} <= set(types)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = samples(6).astype(np.float32)
    assert_close(session.run(None, {"input": x})[0], plan(x), rtol=1e-5, what="onnxruntime")


def test_tables_explanations_and_diagrams_name_each_neurons_activation() -> None:
    G = mixed_level(LEVEL)
    plan = nngraph.compile_network(G)
    assert "relu 2, tanh 2, sigmoid 2, neat_sin 2" in str(plan)
    assert "value = tanh(weighted sum)" in plan.explain("tanh/1")
    assert "(dense, neat_sin, level 1)" in plan.explain("neat_sin/0")
    H = network_of_plan(plan.plan)
    assert {node: H.nodes[node]["activation"] for node in ("relu/1", "sigmoid/0", "neat_sin/1")} == {
        "relu/1": "relu", "sigmoid/0": "sigmoid", "neat_sin/1": "neat_sin"}
    nngraph.render_plan(plan)  # draws the op's runs


def test_runs_of_one_activation_join_and_make_no_mixed_op() -> None:
    op = fused_op(index=0, targets=["a", "b", "c"], sources=["x"], weights=np.ones((1, 3)), bias=np.zeros(3),
                  activations=[("relu", 1), ("relu", 2)], level=1)
    assert op.activation == "relu" and op.activations is None and op.activation_runs() == [("relu", 0, 3)]
    op = fused_op(index=0, targets=["a", "b", "c"], sources=["x"], weights=np.ones((1, 3)), bias=np.zeros(3),
                  activations=[("relu", 1), ("tanh", 1), ("tanh", 1)], level=1)
    assert op.activations == (("relu", 1), ("tanh", 2)) and op.target_activations() == ["relu", "tanh", "tanh"]
    with pytest.raises(TypeError, match="not both"):
        fused_op(index=0, targets=["a"], sources=["x"], weights=np.ones((1, 1)), bias=np.zeros(1),
                 activation="relu", activations=[("relu", 1)], level=1)


@pytest.mark.parametrize("runs, message", [
    ((("relu", 4), ("tanh", 2)), "covering its 8 targets"),
    ((("relu", 4), ("Tanh", 4)), "not canonical"),
    ((("relu", 4), ("relu", 4)), "neighbouring activation runs both 'relu'"),
    ((("relu", 4), ("softmax", 4)), "group-wise activation 'softmax' in a mixed op"),
    ((("relu", 4), ("nope", 4)), "unknown activation 'nope'"),
    ((("relu", 4.0), ("tanh", 4)), "each count must be a whole number"),
    ((("relu", True), ("tanh", 7)), "each count must be a whole number"),
])
def test_the_lint_rejects_bad_activation_runs(runs: tuple, message: str) -> None:
    plan = build_plan(mixed_level(LEVEL))
    bad = dataclasses.replace(plan, ops=(dataclasses.replace(plan.ops[0], activations=runs),) + plan.ops[1:])
    assert _headers_hold(plan) and not _headers_hold(bad)  # the whole plan's test finds it, op by op names it
    with pytest.raises(CompileError, match=message):
        check_plan(bad)
    uniform = dataclasses.replace(plan, ops=(dataclasses.replace(plan.ops[0], activation="relu"),) + plan.ops[1:])
    assert not _headers_hold(uniform)
    with pytest.raises(CompileError, match="says activation 'relu'"):
        check_plan(uniform)


def test_a_mixed_op_is_never_shared_and_a_plan_with_one_pickles() -> None:
    import pickle

    plan = nngraph.compile_network(mixed_level(NATIVE))
    again = pickle.loads(pickle.dumps(plan))
    assert again.plan.ops[0].activations == plan.plan.ops[0].activations
    np.testing.assert_array_equal(again(samples()), plan(samples()))
    assert run_plan(again, samples(1), runner="native").shape == (1, 15)


def _two_mixed_levels() -> nngraph.Plan:
    """A plan of two mixed ops of four targets each, the second reading the first."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    for i, activation in enumerate(("relu", "relu", "tanh", "tanh")):
        G.add_node(f"h{i}", role="hidden", activation=activation)
        G.add_weighted_edges_from([("x0", f"h{i}", 1.0 + i), ("x1", f"h{i}", -1.0)])
    for i, activation in enumerate(("tanh", "tanh", "relu", "relu")):
        G.add_node(f"y{i}", role="output", activation=activation)
        G.add_weighted_edges_from([(f"h{j}", f"y{i}", 0.5 - j) for j in range(4)])
    plan = build_plan(G)
    assert [len(op.targets) for op in plan.ops] == [4, 4] and all(op.activations for op in plan.ops)
    return plan


@pytest.mark.parametrize("first, second, holds", [
    ((("relu", 2), ("tanh", 2)), (("tanh", 2), ("relu", 2)), True),  # one name on both sides of two ops
    ((("relu", 3), ("tanh", 2)), (("tanh", 1), ("relu", 2)), False),  # counts off by one, made up by the next
    ((("relu", 2), ("tanh", 2)), (("relu", 2), ("relu", 2)), False),  # equal neighbours within an op
    ((("relu", 2), ("tanh", 2)), (("tanh", 0), ("relu", 4)), False),  # an empty run
])
def test_the_whole_plan_test_of_mixed_runs_reads_each_op_apart(first: tuple, second: tuple, holds: bool) -> None:
    """The runs of all mixed ops are tested at once (``_runs_hold``): what ends one op's runs and
    begins the next op's is no neighbour, and no op's counts make up for another's."""
    plan = _two_mixed_levels()
    ops = tuple(dataclasses.replace(op, activations=runs) for op, runs in zip(plan.ops, (first, second)))
    changed = dataclasses.replace(plan, ops=ops)
    assert _headers_hold(changed) == holds
    if holds:
        check_plan(changed)
    else:
        with pytest.raises(CompileError, match="op [01]: "):
            check_plan(changed)
