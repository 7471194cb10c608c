"""Golden and structural tests of compile_network: the lesson, XOR, and every shape of DAG."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from strategies import assert_equivalent

import nngraph
from nngraph import CompileError, InputError
from nngraph.layers import Dense
from nngraph.models import Sequential

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import neat_genome  # noqa: E402

RNG = np.random.default_rng(7)


def lesson_model(seed: int = 0) -> Sequential:
    return Sequential([Dense(units=6, input_shape=(8,), activation="relu"),
                       Dense(units=6, activation="relu"),
                       Dense(units=4, activation="softmax")], seed=seed)


def lesson_by_hand(model: Sequential, *, shuffle: bool) -> nx.DiGraph:
    """The lesson's network neuron by neuron with plain networkx calls, from a model's weights."""
    G = model.graph
    order = list(G.nodes(data=True))
    edges = list(G.edges(data="weight"))
    if shuffle:
        random.Random(3).shuffle(edges)
        random.Random(4).shuffle(order)
    H = nx.DiGraph()
    for node, data in order:
        H.add_node(node, **data)
    for source, target, weight in edges:
        H.add_edge(source, target, weight=weight)
    return H


def hand_written(model: Sequential, x: np.ndarray) -> np.ndarray:
    (w1, b1), (w2, b2), (w3, b3) = (layer.get_weights() for layer in model.layers)
    h = np.maximum(x @ w1 + b1, 0)
    h = np.maximum(h @ w2 + b2, 0)
    z = h @ w3 + b3
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# The lesson's network


def test_lesson_network_compiles_to_three_ops_matching_hand_written_numpy() -> None:
    model = lesson_model()
    plan = nngraph.compile_network(model.graph)
    assert [(op.kind, op.activation, op.shape, op.level) for op in plan.ops] == [
        ("dense", "relu", (8, 6), 1), ("dense", "relu", (6, 6), 2), ("dense", "softmax", (6, 4), 3)]
    assert plan.ops[0].sources == tuple(f"input/{i}" for i in range(8))
    assert plan.ops[2].targets == tuple(f"dense_2/{i}" for i in range(4))
    x = RNG.normal(size=(5, 8))
    np.testing.assert_allclose(plan(x), hand_written(model, x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(plan(x[0]), hand_written(model, x[:1])[0], rtol=1e-12, atol=1e-15)
    assert_equivalent(plan, model.graph, x)


@pytest.mark.parametrize("shuffle", [False, True])
def test_lesson_built_neuron_by_neuron_compiles_the_same(shuffle: bool) -> None:
    model = lesson_model(seed=5)
    G = lesson_by_hand(model, shuffle=shuffle)
    plan = nngraph.compile_network(G)
    assert len(plan.ops) == 3
    assert [len(op.targets) for op in plan.ops] == [6, 6, 4]
    x = RNG.normal(size=(3, 8))
    inputs = [int(str(node).split("/")[1]) for node in plan.inputs]  # shuffled inputs: other order
    outputs = [int(str(node).split("/")[1]) for node in plan.outputs]
    np.testing.assert_allclose(plan(x[:, inputs]), hand_written(model, x)[:, outputs], rtol=1e-12,
                               atol=1e-15)
    assert_equivalent(plan, G, x)


def test_xor_by_hand() -> None:
    G = nngraph.new_network()
    for node in ("a", "b"):
        nngraph.add_input(G, node)
    nngraph.add_neuron(G, nngraph.Neuron("or", activation="relu"))
    nngraph.add_neuron(G, nngraph.Neuron("and", bias=-1.0, activation="relu"))
    nngraph.add_neuron(G, nngraph.Neuron("xor", role="output"))
    for source in ("a", "b"):
        nngraph.connect(G, source, "or", 1.0)
        nngraph.connect(G, source, "and", 1.0)
    nngraph.connect(G, "or", "xor", 1.0)
    nngraph.connect(G, "and", "xor", -2.0)
    plan = nngraph.compile_network(G, verify=True)
    assert len(plan.ops) == 2
    table = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(plan(table), [[0], [1], [1], [0]])
    trace = plan.trace(table)
    np.testing.assert_array_equal(trace.weighted_sum("and"), [-1, 0, 0, 1])
    assert_equivalent(plan, G, table)


# Every shape of DAG


def small_network(edges: list[tuple[str, str]], neurons: dict[str, dict]) -> nx.DiGraph:
    G = nx.DiGraph()
    for node, data in neurons.items():
        G.add_node(node, **data)
    for source, target in edges:
        G.add_edge(source, target, weight=float(RNG.uniform(-1, 1)))
    return G


def test_skip_connection_reads_inputs_and_hidden_neurons() -> None:
    G = small_network([("x0", "h"), ("x1", "h"), ("h", "y"), ("x0", "y")],
                      {"x0": {"role": "input"}, "x1": {"role": "input"},
                       "h": {"role": "hidden", "activation": "tanh"}, "y": {"role": "output"}})
    plan = nngraph.compile_network(G, verify=True)
    assert plan.ops[1].sources == ("x0", "h")
    assert list(plan.to_networkx().in_edges(1, data="neurons")) == [("inputs", 1, 1), (0, 1, 1)]
    assert_equivalent(plan, G, RNG.normal(size=(4, 2)))


def test_one_level_with_different_activations_gives_one_op_with_a_run_per_activation() -> None:
    neurons = {"x": {"role": "input"}}
    neurons.update({f"y{i}": {"role": "output", "activation": act}
                    for i, act in enumerate(["relu", "tanh", "relu", "gelu"])})
    G = small_network([("x", f"y{i}") for i in range(4)], neurons)
    unmerged = nngraph.compile_network(G, passes=())
    assert [(op.activation, op.targets) for op in unmerged.ops] == [
        ("relu", ("y0", "y2")), ("tanh", ("y1",)), ("gelu", ("y3",))]
    plan = nngraph.compile_network(G, verify=True)
    [op] = plan.ops
    assert op.activation == "mixed" and op.targets == ("y0", "y2", "y1", "y3")
    assert op.activation_runs() == [("relu", 0, 2), ("tanh", 2, 3), ("gelu", 3, 4)]
    assert_equivalent(plan, G, RNG.normal(size=(3, 1)))


def test_pruned_layer_becomes_one_partly_connected_op() -> None:
    model = lesson_model()
    G = model.graph
    for source, target in [("dense/0", "dense_1/0"), ("dense/3", "dense_1/0"), ("dense/5", "dense_1/4")]:
        G.remove_edge(source, target)
    apart = nngraph.compile_network(G, passes=())
    assert len(apart.ops) == 5  # dense_1/0, dense_1/4 and the rest have different predecessors
    plan = nngraph.compile_network(G)
    assert len(plan.ops) == 3
    assert plan.ops[1].nonzeros == 33 and plan.ops[1].density == pytest.approx(33 / 36)
    assert plan.ops[1].kind == "dense"
    assert_equivalent(plan, G, RNG.normal(size=(4, 8)))


def test_large_sparse_layer_uses_the_sparse_product() -> None:
    G = nx.DiGraph()
    inputs = [f"x{i}" for i in range(200)]
    for node in inputs:
        G.add_node(node, role="input")
    for j in range(120):
        G.add_node(f"y{j}", role="output", activation="relu", bias=0.1)
        for i in RNG.choice(200, size=10, replace=False):
            G.add_edge(inputs[i], f"y{j}", weight=float(RNG.normal()))
    plan = nngraph.compile_network(G, verify=True)
    [op] = plan.ops
    assert (op.kind, op.nonzeros, op.shape) == ("sparse", 1200, (200, 120))
    assert "csr_accumulate(120, 320, n, P0, J0, V0, a_flat, z_flat[200 * n:320 * n])" in plan.code
    assert [op.kind for op in nngraph.compile_network(G, passes=("merge_levels",)).ops] == ["dense"]
    assert_equivalent(plan, G, RNG.normal(size=(5, 200)))


def test_softmax_group_across_levels_is_computed_together_at_its_deepest_member() -> None:
    neurons = {"x0": {"role": "input"}, "x1": {"role": "input"}, "h": {"role": "hidden", "activation": "relu"}}
    neurons.update({f"p{i}": {"role": "output", "activation": "softmax", "layer": "probs"} for i in range(3)})
    neurons["q"] = {"role": "output", "activation": "softmax", "layer": "other"}
    edges = [("x0", "h"), ("x1", "h"), ("h", "p0"), ("h", "p1"), ("x1", "p2"), ("h", "q"), ("p2", "q")]
    G = small_network(edges, neurons)
    assert nngraph.levels(G)["p2"] == 1 and nngraph.levels(G)["q"] == 2
    plan = nngraph.compile_network(G, verify=True)
    probs = next(op for op in plan.ops if "p0" in op.targets)
    assert probs.targets == ("p0", "p1", "p2") and probs.level == 2
    assert plan.op_of("q").level == 3  # pushed down behind the whole group it reads from
    x = RNG.normal(size=(5, 2))
    assert_equivalent(plan, G, x)
    np.testing.assert_allclose(plan(x)[:, :3].sum(axis=1), 1.0)


def test_neurons_without_inputs_dead_ends_and_outputs_feeding_others() -> None:
    neurons = {"x": {"role": "input"}, "const": {"role": "hidden", "bias": 0.75, "activation": "tanh"},
               "dead": {"role": "hidden", "activation": "relu"}, "y0": {"role": "output"},
               "y1": {"role": "output", "activation": "sigmoid"}, "lonely": {"role": "output", "bias": -2.0}}
    edges = [("x", "dead"), ("x", "y0"), ("const", "y0"), ("y0", "y1")]
    G = small_network(edges, neurons)
    plan = nngraph.compile_network(G, verify=True)
    trace = plan.trace(RNG.normal(size=(3, 1)))
    np.testing.assert_array_equal(trace.weighted_sum("const"), 0.75)
    np.testing.assert_array_equal(trace.value("lonely"), -2.0)
    assert plan.outputs == ("y0", "y1", "lonely")
    assert_equivalent(plan, G, RNG.normal(size=(3, 1)))


def test_node_ids_of_any_hashable_type() -> None:
    neurons = {0: {"role": "input"}, ("in", 1): {"role": "input"}, 2.5: {"role": "hidden"},
               frozenset({"y"}): {"role": "output", "activation": "swish"}}
    G = small_network([(0, 2.5), (("in", 1), 2.5), (2.5, frozenset({"y"})), (0, frozenset({"y"}))], neurons)
    plan = nngraph.compile_network(G, verify=True)
    assert "frozenset({'y'})" in plan.code
    assert_equivalent(plan, G, RNG.normal(size=(2, 2)))


def test_neat_style_genome_compiles_to_few_wide_ops() -> None:
    G = neat_genome(n_inputs=16, n_hidden=300, n_outputs=4, n_connections=2500, depth=25, seed=2)
    plan = nngraph.compile_network(G, verify=True)
    assert max(op.level for op in plan.ops) == 26
    assert len(plan.ops) <= 2 * 25 + 1 < G.number_of_nodes() - 16
    assert plan.runner.startswith("the native kernel for batches of up to")  # no scalar code: too big
    assert_equivalent(plan, G, RNG.uniform(-1, 1, size=(7, 16)))  # the native kernel, and numpy
    batch = plan.program.native_batch_limit + 1  # the fused numpy pass, by default and in the trace
    assert_equivalent(plan, G, RNG.uniform(-1, 1, size=(batch, 16)))
    assert_equivalent(nngraph.compile_network(G, passes=()), G, RNG.uniform(-1, 1, size=(3, 16)))


def test_a_genome_of_a_thousand_connections_runs_one_sample_natively_not_as_scalar_code() -> None:
    from nngraph.compiler.costs import SCALAR_BESIDE_NATIVE_CONNECTIONS

    G = neat_genome(n_inputs=8, n_hidden=120, n_outputs=3, n_connections=1000, depth=12, seed=5)
    assert G.number_of_edges() > SCALAR_BESIDE_NATIVE_CONNECTIONS
    plan = nngraph.compile_network(G)
    assert plan.program.runners == ("numpy", "native") and plan.program.scalar is None
    assert plan.runner.startswith("the native kernel for batches of up to")
    assert_equivalent(plan, G, RNG.uniform(-1, 1, size=(1, 8)))
    without = nngraph.compile_network(G, options=nngraph.CodegenOptions(native_kernel=False))
    assert without.program.runners == ("numpy", "scalar")  # without the kernel, scalar code pays
    assert_equivalent(without, G, RNG.uniform(-1, 1, size=(1, 8)))


def test_two_towers_of_large_dense_blocks_stay_apart() -> None:
    G = nx.DiGraph()
    for tower in "ab":
        for i in range(70):
            G.add_node(f"{tower}{i}", role="input")
        for j in range(64):
            G.add_node(f"{tower}h{j}", role="output", activation="relu")
            for i in range(70):
                G.add_edge(f"{tower}{i}", f"{tower}h{j}", weight=float(RNG.normal()))
    plan = nngraph.compile_network(G)
    assert [op.shape for op in plan.ops] == [(70, 64), (70, 64)]


# Immutability, determinism, errors


def test_compiling_leaves_the_graph_alone_and_later_edits_leave_the_plan_alone() -> None:
    G = lesson_model().graph
    before = (list(G.nodes(data=True)), list(G.edges(data=True)))
    snapshot = nx.node_link_data(G, edges="links")
    plan = nngraph.compile_network(G)
    assert nx.node_link_data(G, edges="links") == snapshot
    assert (list(G.nodes(data=True)), list(G.edges(data=True))) == before
    x = RNG.normal(size=(2, 8))
    expected = plan(x)
    G.edges["input/0", "dense/0"]["weight"] = 50.0
    G.nodes["dense_2/1"]["bias"] = 9.0
    G.add_node("extra", role="output")
    np.testing.assert_array_equal(plan(x), expected)
    with pytest.raises(AttributeError):
        plan.ops = ()
    with pytest.raises(ValueError):
        plan.ops[0].weights[0, 0] = 1.0
    with pytest.raises(ValueError):
        plan.program.constants["W0"][0, 0] = 1.0
    with pytest.raises(TypeError):
        plan.columns["extra"] = 3


def test_compiling_is_deterministic() -> None:
    G = neat_genome(n_inputs=5, n_hidden=30, n_outputs=2, n_connections=150, depth=5, seed=3)
    first, second = nngraph.compile_network(G), nngraph.compile_network(G.copy())
    assert first.code == second.code and str(first) == str(second)
    assert list(first.columns.items()) == list(second.columns.items())


def test_unknown_pass_is_refused() -> None:
    G = lesson_model().graph
    with pytest.raises(CompileError, match="unknown pass 'fuse_everything'; .*merge_levels"):
        nngraph.compile_network(G, passes=("fuse_everything",))
    with pytest.raises(nngraph.ArgumentError, match="a sequence of pass names, got the string .merge_levels."):
        nngraph.compile_network(G, passes="merge_levels")


def test_invalid_networks_are_refused_by_validate() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", activation="rleu")
    G.add_edge("x", "y", weight=1.0)
    with pytest.raises(nngraph.UnknownActivationError, match="neuron 'y'"):
        nngraph.compile_network(G)


@pytest.mark.parametrize("bad", [[[1.0] * 7], [[[1.0] * 8]], [["a"] * 8], np.ones((2, 8)) * 1j, "nope"])
def test_bad_input_is_refused_with_the_reference_messages(bad: object) -> None:
    model = lesson_model()
    plan = nngraph.compile_network(model.graph)
    with pytest.raises(InputError) as expected:
        nngraph.run_reference(model.graph, bad)
    for run in (plan, plan.trace):
        with pytest.raises(InputError) as got:
            run(bad)
        assert str(got.value) == str(expected.value)


def test_dtypes() -> None:
    model = lesson_model()
    x = RNG.normal(size=(3, 8))
    plan32 = nngraph.compile_network(model.graph, dtype=np.float32, verify=True)
    assert plan32.dtype == np.float32 and plan32(x).dtype == np.float32
    assert plan32.trace(x).values.dtype == np.float32
    assert plan32.program.scalar is None  # scalar code computes in float64 only
    assert_equivalent(plan32, model.graph, x)
    with pytest.raises(InputError, match="float64 or float32"):
        nngraph.compile_network(model.graph, dtype=np.float16)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_in_place_agrees_with_the_reference_at_the_extremes_without_overflowing(dtype: type) -> None:
    """The fused pass computes a sigmoid as (1 + tanh(z / 2)) / 2: no exp to overflow, and the
    reference's values from -1e4 through the tails to +-inf and NaN."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_nodes_from(["s", "t"], role="output", activation="sigmoid")
    G.add_weighted_edges_from([("x", "s", 1.0), ("x", "t", -3.0)])
    plan = nngraph.compile_network(G, dtype=dtype)
    assert any("np.tanh(a, out=a)" in line for line in plan.code.splitlines())
    z = np.array([[-1e4], [-745.0], [-90.0], [-40.0], [-20.0], [-1e-20], [0.0], [1e-20], [1.0], [20.0],
                  [40.0], [1e4], [np.inf], [-np.inf], [np.nan]])
    assert_equivalent(plan, G, z)
    buffer = np.empty((plan.program.rows, len(z)), dtype=dtype)
    with np.errstate(all="raise", under="ignore"):  # nothing overflows, not even for -1e4
        outputs = plan.program.forward(z.T.astype(dtype), buffer, buffer)
    np.testing.assert_array_equal(outputs[:, [0, 11, 12, 13]], [[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])


def test_empty_batch_single_sample_integers_and_nan() -> None:
    model = lesson_model()
    plan = nngraph.compile_network(model.graph)
    assert plan(np.empty((0, 8))).shape == (0, 4)
    assert plan.trace(np.empty((0, 8))).values.shape == (0, 24)
    assert plan([1, 0, 1, 0, 1, 0, 1, 0]).shape == (4,)
    assert_equivalent(plan, model.graph, np.arange(8))
    x = RNG.normal(size=(3, 8))
    x[1, 2] = np.nan
    assert_equivalent(plan, model.graph, x)
    assert np.isnan(plan(x)[1]).all() and not np.isnan(plan(x)[[0, 2]]).any()


# What the compiler relies on from the core (validate and structure.levels)


def test_softmax_layers_feeding_each_other_both_ways_are_refused() -> None:
    neurons = {"x0": {"role": "input"}, "x1": {"role": "input"}}
    neurons.update({node: {"role": "output", "activation": "softmax", "layer": node[0].upper()}
                    for node in ("a1", "a2", "b1", "b2")})
    G = small_network([("x0", "a1"), ("a1", "b1"), ("x1", "b2"), ("b2", "a2")], neurons)
    with pytest.raises(nngraph.NetworkError, match="softmax layers 'A', 'B' feed each other both ways"):
        nngraph.compile_network(G)


def test_levels_share_work_across_a_layer_and_still_refuse_cycles() -> None:
    G = lesson_by_hand(lesson_model(), shuffle=True)
    level = nngraph.levels(G)
    assert list(level.values()) == sorted(level.values())
    assert {level[f"dense_1/{i}"] for i in range(6)} == {2}
    G.add_edge("dense_2/0", "dense/1", weight=1.0)
    with pytest.raises(nx.NetworkXUnfeasible):
        nngraph.levels(G)


def test_neat_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from neat_network import main

    main()
    text = capsys.readouterr().out
    assert "plan: " in text and "def forward(X, Z, A):" in text and "weighted sum =" in text
    assert "largest difference from the reference" in text
    worst = float(text.split("largest difference from the reference ")[1].split()[0])
    assert worst < 1e-12
