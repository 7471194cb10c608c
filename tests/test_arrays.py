"""The array path (``nngraph.compiler.arrays``): levels, reachability and plans built in numpy calls."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_equivalent, networks, networks_and_batches

import nngraph
from nngraph.compiler import build_plan, check_plan
from nngraph.compiler.arrays import array_levels, graph_arrays, reaching
from nngraph.compiler.lower_arrays import lower_arrays
from nngraph.compiler.schedule import schedule
from nngraph.execute.compiled import compile_plan
from nngraph.ir.plan import AggregateOp

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def array_plan(G: nx.DiGraph, dtype: type = np.float64) -> nngraph.CompiledPlan:
    return compile_plan(lower_arrays(graph_arrays(G), dtype=np.dtype(dtype)))


@SETTINGS
@given(networks_and_batches())
def test_a_plan_from_arrays_agrees_with_the_reference(case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    plan = array_plan(G)
    check_plan(plan.plan)
    assert_equivalent(plan, G, x)


@settings(max_examples=30, deadline=None)
@given(networks_and_batches())
def test_a_float32_plan_from_arrays_agrees_with_the_float32_reference(
        case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    assert_equivalent(array_plan(G, np.float32), G, x)


@SETTINGS
@given(networks())
def test_levels_are_the_schedule_of_the_graph_path(G: nx.DiGraph) -> None:
    network = graph_arrays(G)
    plan = lower_arrays(network, dtype=np.dtype("float64"))
    expected = schedule(G)
    for op in plan.ops:
        assert {expected[node] for node in op.targets} == {op.level}
    assert [op.level for op in plan.ops] == sorted(op.level for op in plan.ops)
    assert array_levels(network.n_neurons, network.n_inputs, network.sources,
                        network.targets).tolist() == [nngraph.levels(G)[node] for node in network.nodes]


@settings(max_examples=40, deadline=None)
@given(networks())
def test_ops_are_one_per_level_activation_and_layer(G: nx.DiGraph) -> None:
    plan = lower_arrays(graph_arrays(G), dtype=np.dtype("float64"))
    keys = [(op.level, op.activation, isinstance(op, AggregateOp)) for op in plan.ops
            if not nngraph.resolve_activation(op.activation).group_wise]
    assert len(keys) == len(set(keys))
    # the same neurons on the same levels as the graph path, each computed once
    graph_plan = build_plan(G)
    assert sorted(map(repr, plan.columns)) == sorted(map(repr, graph_plan.columns))


def test_a_fully_connected_layer_is_one_dense_op_and_a_pruned_one_sparse() -> None:
    from nngraph.demo import lesson_model

    G = lesson_model().graph
    plan = lower_arrays(graph_arrays(G), dtype=np.dtype("float64"))
    expected = [("dense", (8, 6)), ("dense", (6, 6)), ("dense", (6, 4))]
    assert [(op.kind, op.shape) for op in plan.ops] == expected
    G.remove_edge("dense/0", "dense_1/0")
    kinds = [op.kind for op in lower_arrays(graph_arrays(G), dtype=np.dtype("float64")).ops]
    assert kinds == ["dense", "sparse", "dense"]


def test_neurons_that_feed_each_other_have_no_level() -> None:
    sources, targets = np.array([0, 1, 2, 2, 3]), np.array([1, 2, 1, 3, 4])  # 1 and 2 feed each other
    assert array_levels(5, 1, sources, targets).tolist() == [0, -1, -1, -1, -1]


def test_a_unit_shares_its_deepest_members_level() -> None:
    # neurons 2 and 3 are one unit (a softmax layer); 3 is fed by 1, which is fed by the input
    unit = np.array([0, 1, 2, 2, 4])
    level = array_levels(5, 1, np.array([0, 1, 0, 2]), np.array([1, 3, 2, 4]), unit=unit)
    assert level.tolist() == [0, 1, 2, 2, 3]


@settings(max_examples=40, deadline=None)
@given(networks(), st.data())
def test_reaching_is_networkx_ancestors(G: nx.DiGraph, data: st.DataObject) -> None:
    network = graph_arrays(G)
    seeds = data.draw(st.lists(st.integers(0, network.n_neurons - 1), min_size=1, max_size=4))
    found = reaching(network.n_neurons, network.sources, network.targets, np.array(seeds))
    nodes = network.nodes.tolist()
    expected = set().union(*(nx.ancestors(G, nodes[seed]) | {nodes[seed]} for seed in seeds))
    assert {nodes[i] for i in np.flatnonzero(found)} == expected


def test_memory_follows_the_connections_not_the_square_of_the_neurons() -> None:
    import tracemalloc

    from nngraph.compiler.arrays import NetworkArrays, object_array

    # 1,000 networks of 100 hidden neurons and ~250 connections each: 102,000 neurons, whose square
    # in float64 would be 83 GB.
    rng = np.random.default_rng(0)
    n_inputs, hidden, members = 8, 100, 1000
    per_member = hidden + 2
    n = n_inputs + members * per_member
    targets = np.repeat(np.arange(n_inputs, n), 3)
    offset = (targets - n_inputs) // per_member * per_member + n_inputs
    local = targets - offset
    earlier = rng.integers(0, local + n_inputs)  # an input or an earlier neuron of the same member
    sources = np.where(earlier < n_inputs, earlier, earlier - n_inputs + offset)
    network = NetworkArrays(nodes=object_array([*range(-n_inputs, 0), *range(n - n_inputs)]),
                            n_inputs=n_inputs, outputs=np.arange(n_inputs + hidden, n, per_member),
                            sources=sources, targets=targets,
                            weights=rng.normal(size=len(targets)), bias=rng.normal(size=n),
                            activation=rng.integers(0, 2, size=n), activations=("tanh", "relu"))
    tracemalloc.start()
    plan = compile_plan(lower_arrays(network, dtype=np.dtype("float64")))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert plan(np.ones((2, n_inputs))).shape == (2, members)
    assert peak < 2_000 * (len(targets) + n), f"{peak / 1e6:.0f} MB for {len(targets)} connections"
