"""The level loop (``nngraph.compiler.loop``): a plan of many sparse ops runs as one loop over its
levels, and computes what the straight-line code and the reference compute."""

from __future__ import annotations

import pickle
from unittest import mock

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import assert_equivalent, networks_and_batches

import nngraph
from nngraph import CodegenOptions, compile_population, population_graph
from nngraph.compiler import build_plan, loop
from nngraph.compiler.loop import level_loop_applies
from nngraph.compiler.passes import choose_kinds
from nngraph.execute.compiled import compile_plan
from nngraph.layers import Dense
from nngraph.models import Sequential

LOOP_LINE = "for start, stop, P, J, V, b, activations in LEVELS:"
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "elu", "softsign", "swish")


def random_dag(seed: int) -> nx.DiGraph:
    """A NEAT-like network: 3 inputs, 2 outputs, hidden neurons with mixed activations, each fed by
    the one before and by any earlier neurons (skip connections), or by none."""
    rng = np.random.default_rng(seed)
    G = nngraph.new_network()
    order = []
    for i in range(3):
        nngraph.add_input(G, f"x{i}")
        order.append(f"x{i}")
    for i in range(int(rng.integers(6, 16))):
        node = f"h{i}"
        nngraph.add_neuron(G, nngraph.Neuron(node, bias=float(rng.normal()),
                                             activation=str(rng.choice(ACTIVATIONS))))
        if i % 5 != 4:  # a chain, so that the levels are many; every fifth neuron reads nothing
            nngraph.connect(G, order[-1], node, float(rng.normal()))
            for source in rng.choice(order[:-1], size=int(rng.integers(0, 3)), replace=False):
                nngraph.connect(G, str(source), node, float(rng.normal()))
        order.append(node)
    for i in range(2):
        node = f"y{i}"
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output", activation="tanh"))
        for source in rng.choice(order, size=3, replace=False):
            nngraph.connect(G, str(source), node, float(rng.normal()))
    return G


def population() -> dict[int, nx.DiGraph]:
    return {seed: random_dag(seed) for seed in range(12)}


def test_a_population_of_many_sparse_ops_runs_as_the_level_loop_and_equals_the_reference() -> None:
    members = population()
    x = np.random.default_rng(0).uniform(-2.0, 2.0, size=(5, 3))
    for dtype in (np.float64, np.float32):
        pop = compile_population(members, dtype=dtype)
        runs = sum(len(op.activation_runs()) for op in pop.plan.ops)  # a level's op has a run per activation
        assert runs >= loop.LEVEL_LOOP_OPS > len(pop.plan.ops) and LOOP_LINE in pop.plan.code
        assert "LEVELS" in pop.plan.program.constants
        assert_equivalent(pop.plan, population_graph(members), x)  # the trace too: Z is not A
        straight = compile_plan(pop.plan.plan, options=CodegenOptions(level_loop=False))
        assert LOOP_LINE not in straight.code
        np.testing.assert_allclose(pop.plan(x), straight(x), rtol=1e-12 if dtype == np.float64 else 1e-5)


def test_a_looped_plan_pickles_and_its_constants_are_read_only() -> None:
    pop = compile_population(population())
    x = np.random.default_rng(1).uniform(size=(3, 3))
    again = pickle.loads(pickle.dumps(pop))
    assert LOOP_LINE in again.plan.code
    np.testing.assert_array_equal(again(x), pop(x))
    for _, _, P, J, V, b, _ in pop.plan.program.constants["LEVELS"]:
        assert not any(array.flags.writeable for array in (P, J, V, b))
    # its code, run on its constants, defines the same forward pass
    namespace = dict(pop.plan.program.constants)
    exec(pop.plan.code, namespace)
    buffer = np.zeros((pop.plan.program.rows, 3))
    outputs = namespace["forward"](np.ascontiguousarray(x.T), buffer, buffer).T
    np.testing.assert_array_equal(outputs.reshape(pop(x).shape), pop(x))


def test_few_ops_dense_ops_softmax_or_other_aggregations_keep_straight_line_code() -> None:
    from nngraph.demo import lesson_model

    dense = build_plan(lesson_model().graph)  # 3 dense ops, the last a softmax
    G = random_dag(0)
    G.add_node("m", role="hidden", aggregation="max")
    G.add_edge("x0", "m", weight=1.0)
    G.add_edge("m", "y0", weight=1.0)
    aggregates = choose_kinds(build_plan(G), kind="sparse")
    sparse = choose_kinds(build_plan(random_dag(1)), kind="sparse")
    assert not level_loop_applies(sparse, options=CodegenOptions())  # too few ops
    with mock.patch.object(loop, "LEVEL_LOOP_OPS", 1):
        assert level_loop_applies(sparse, options=CodegenOptions())
        assert not level_loop_applies(sparse, options=CodegenOptions(level_loop=False))
        assert not level_loop_applies(dense, options=CodegenOptions())
        assert not level_loop_applies(choose_kinds(dense, kind="sparse"), options=CodegenOptions())
        assert not level_loop_applies(aggregates, options=CodegenOptions())
        wide = Sequential([Dense(units=32, input_shape=(32,), activation="tanh"),
                           Dense(units=32, activation="tanh")], seed=0).graph
        assert not level_loop_applies(build_plan(wide), options=CodegenOptions())  # BLAS beats the kernel


def summing(G: nx.DiGraph) -> nx.DiGraph:
    """``G`` with every neuron summing and an element-wise activation (tanh for a group-wise one):
    the plans the level loop takes."""
    for node, data in G.nodes(data=True):
        if data["role"] != "input":
            data["aggregation"] = "sum"
            if nngraph.resolve_activation(data.get("activation", "linear")).group_wise:
                data["activation"] = "tanh"
    return G


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks_and_batches())
def test_any_plan_of_weighted_sums_as_the_level_loop_agrees_with_the_reference(
        case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    G = summing(G)
    for plan in (build_plan(G), choose_kinds(build_plan(G), kind="sparse")):  # dense ops join too
        with mock.patch.object(loop, "LEVEL_LOOP_OPS", 1):  # every plan it can take, however small
            compiled = compile_plan(plan)
            assert (LOOP_LINE in compiled.code) == level_loop_applies(plan, options=CodegenOptions())
        assert_equivalent(compiled, G, x)
