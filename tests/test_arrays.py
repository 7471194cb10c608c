"""The array path (``nngraph.compiler.arrays``): levels, reachability and plans built in numpy calls."""

from __future__ import annotations

import pickle
import sys

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from strategies import assert_equivalent, networks, networks_and_batches

import nngraph
from nngraph.compiler import build_plan, check_plan, costs
from nngraph.compiler import arrays
from nngraph.compiler.arrays import array_levels, graph_arrays, grouped, reaching
from nngraph.compiler.lower_arrays import lower_arrays
from nngraph.compiler.passes import choose_kinds, run_passes
from nngraph.compiler.schedule import schedule
from nngraph.compiler.store import store_once
from nngraph.execute.compiled import compile_plan
from nngraph.errors import ArgumentError, CycleError
from nngraph.ir.plan import AggregateOp, CSRArrays
from nngraph.layers import Dense
from nngraph.models import Sequential

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



@settings(max_examples=30, deadline=None)
@given(networks_and_batches(), st.sampled_from([np.float64, np.float32]))
def test_lowering_to_any_kind_is_what_choose_kinds_makes(case: tuple[nx.DiGraph, np.ndarray], dtype: type) -> None:
    G, x = case
    network = graph_arrays(G)
    chosen = lower_arrays(network, dtype=np.dtype(dtype), any_kind=True)
    expected = choose_kinds(lower_arrays(network, dtype=np.dtype(dtype)))
    assert choose_kinds(chosen).ops == chosen.ops  # the pass finds nothing left to change
    for op, other in zip(chosen.ops, expected.ops, strict=True):
        assert (op.kind, op.targets, op.sources, op.padded) == (other.kind, other.targets, other.sources, other.padded)
        if not isinstance(op, AggregateOp):
            np.testing.assert_array_equal(op.dense_weights(), other.dense_weights())
            np.testing.assert_array_equal(op.connection_mask(), other.connection_mask())
    assert_equivalent(compile_plan(run_passes(chosen, ("share_weights", "merge_levels", "choose_kinds"))), G, x)


def test_passes_that_change_nothing_are_not_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import passes

    model = Sequential([Dense(units=6, input_shape=(4,), activation="tanh"), Dense(units=2)], seed=0)
    plan = build_plan(model.graph, passes=())
    checked: list[str] = []
    monkeypatch.setattr(passes, "check_plan", lambda plan, *, stage: checked.append(stage))
    assert run_passes(plan, ("merge_levels",)).ops == plan.ops and checked == []  # one op per level
    forced = run_passes(plan, ("choose_kinds",))
    assert forced.passes == ("choose_kinds",) and checked == []  # each op already the cheaper kind
    assert [op.kind for op in passes.choose_kinds(plan, kind="sparse").ops] == ["sparse", "sparse"]
    monkeypatch.setitem(passes.PASSES, "all_sparse", lambda plan: passes.choose_kinds(plan, kind="sparse"))
    run_passes(plan, ("all_sparse", "merge_levels"))
    assert checked == ["pass 'all_sparse'"]


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
def test_ops_are_one_weighted_sum_per_level_and_one_aggregate_per_level_and_activation(G: nx.DiGraph) -> None:
    plan = lower_arrays(graph_arrays(G), dtype=np.dtype("float64"))
    keys = [(op.level, op.activation if isinstance(op, AggregateOp) else None) for op in plan.ops
            if op.activations is not None or not nngraph.resolve_activation(op.activation).group_wise]
    assert len(keys) == len(set(keys))
    for op in plan.ops:  # each neuron with its own activation, one run per activation
        names = [name for name, _, _ in op.activation_runs()]
        assert len(names) == len(set(names))
        assert op.target_activations() == [
            nngraph.resolve_activation(G.nodes[node].get("activation", "linear")).name for node in op.targets]
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


@SETTINGS
@given(networks(), st.data())
def test_levels_in_python_in_numpy_and_compiled_agree(G: nx.DiGraph, data: st.DataObject) -> None:
    """Small networks take ``array_levels``' rounds in Python, large ones in numpy, populations (and
    any caller once nngraph has had numba compile) numba's loop (``compiled``): the same levels, whatever the
    units and cycles (a few connections of the network turned around make some)."""
    network = graph_arrays(G)
    sources, targets = network.sources.copy(), network.targets.copy()
    if len(sources):
        turned = data.draw(st.lists(st.integers(0, len(sources) - 1), max_size=3))
        sources[turned], targets[turned] = network.targets[turned], network.sources[turned]
    unit = np.arange(network.n_neurons)
    members = data.draw(st.lists(st.integers(network.n_inputs, network.n_neurons - 1), max_size=4, unique=True))
    if members:
        unit[members] = members[0]  # one unit, its first member standing for it
    for units in (None, unit):
        python_levels = array_levels(network.n_neurons, network.n_inputs, sources, targets, unit=units,
                                     compiled=False)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(arrays, "PYTHON_LEVELS_LIMIT", -1)  # numpy's rounds, whatever the size
            numpy_levels = array_levels(network.n_neurons, network.n_inputs, sources, targets, unit=units,
                                        compiled=False)
        compiled_levels = array_levels(network.n_neurons, network.n_inputs, sources, targets, unit=units,
                                       compiled=True)
        assert python_levels.dtype == numpy_levels.dtype == compiled_levels.dtype
        assert python_levels.tolist() == numpy_levels.tolist() == compiled_levels.tolist()


def rounds_or_numba(compiled: bool) -> bool:
    """``compiled``, once sure that it asks for numba's loop (installed with the native extra) and
    would not fall back to the rounds in Python."""
    from nngraph.compiler import walks

    assert not compiled or walks.compiled_walk("levels") is not None
    return compiled


@pytest.mark.parametrize("compiled", [False, True])  # the rounds in Python, numba's loop
def test_neurons_that_feed_each_other_have_no_level(compiled: bool) -> None:
    compiled = rounds_or_numba(compiled)
    sources, targets = np.array([0, 1, 2, 2, 3]), np.array([1, 2, 1, 3, 4])  # 1 and 2 feed each other
    assert array_levels(5, 1, sources, targets, compiled=compiled).tolist() == [0, -1, -1, -1, -1]


@pytest.mark.parametrize("compiled", [False, True])
def test_a_neuron_without_predecessors_is_on_level_one_and_what_it_feeds_above(compiled: bool) -> None:
    compiled = rounds_or_numba(compiled)
    # neuron 1 reads nothing (level 1) and feeds 2 beside the input: 2 is on level 2, 3 (input only) on 1
    assert array_levels(4, 1, np.array([1, 0, 0]), np.array([2, 2, 3]), compiled=compiled).tolist() == [0, 1, 2, 1]
    assert array_levels(3, 0, np.array([0]), np.array([1]), compiled=compiled).tolist() == [1, 2, 1]  # no inputs
    assert array_levels(2, 1, np.array([], dtype=np.int64), np.array([], dtype=np.int64),
                        compiled=compiled).tolist() == [0, 1]  # no connections


@pytest.mark.parametrize("compiled", [False, True])
def test_a_unit_shares_its_deepest_members_level(compiled: bool) -> None:
    compiled = rounds_or_numba(compiled)
    # neurons 2 and 3 are one unit (a softmax layer); 3 is fed by 1, which is fed by the input
    unit = np.array([0, 1, 2, 2, 4])
    level = array_levels(5, 1, np.array([0, 1, 0, 2]), np.array([1, 3, 2, 4]), unit=unit, compiled=compiled)
    assert level.tolist() == [0, 1, 2, 2, 3]


@settings(max_examples=40, deadline=None)
@given(networks(), st.data())
def test_reaching_is_networkx_ancestors(G: nx.DiGraph, data: st.DataObject) -> None:
    network = graph_arrays(G)
    seeds = data.draw(st.lists(st.integers(0, network.n_neurons - 1), min_size=1, max_size=4))
    nodes = network.nodes.tolist()
    expected = set().union(*(nx.ancestors(G, nodes[seed]) | {nodes[seed]} for seed in seeds))
    for compiled in (False, True):  # numpy's frontiers, numba's loop
        found = reaching(network.n_neurons, network.sources, network.targets, np.array(seeds), compiled=compiled)
        assert found.dtype == bool and {nodes[i] for i in np.flatnonzero(found)} == expected


def test_without_numba_the_compiled_walks_are_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import walks

    sources, targets = np.array([0, 1, 0, 3]), np.array([1, 2, 2, 1])
    monkeypatch.setattr(walks, "NATIVE_AVAILABLE", False)
    assert walks.compiled_walk("levels") is None
    assert array_levels(4, 1, sources, targets, compiled=True).tolist() == [0, 2, 3, 1]
    assert reaching(4, sources, targets, np.array([1]), compiled=True).tolist() == [True, True, False, True]


def test_the_levels_take_numbas_loop_by_default_once_nngraph_has_numba_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import native

    asked: list[str] = []
    monkeypatch.setattr(arrays, "_walk", lambda name: asked.append(name))  # no loop: the rounds run
    sources, targets = np.array([0, 1, 0, 3]), np.array([1, 2, 2, 1])
    monkeypatch.setattr(native, "_COMPILED", [])  # numba imported perhaps, but not started by nngraph
    assert array_levels(4, 1, sources, targets).tolist() == [0, 2, 3, 1] and asked == []
    monkeypatch.setattr(native, "_COMPILED", ["run_kernel"])  # the native kernel has run, say
    assert array_levels(4, 1, sources, targets).tolist() == [0, 2, 3, 1] and asked == ["levels"]
    assert array_levels(4, 1, sources, targets, compiled=False).tolist() == [0, 2, 3, 1] and asked == ["levels"]


def test_a_plain_compile_leaves_numba_unimported_and_unstarted() -> None:
    import subprocess

    script = ("import sys; import numba; import nngraph; from nngraph.compiler import native; "
              "from nngraph.demo import lesson_model; nngraph.compile_network(lesson_model().graph); "
              "print(native.numba_in_use())")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    script = "import sys, nngraph; from nngraph.demo import lesson_model; nngraph.compile_network(lesson_model().graph); print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


@given(st.lists(st.sampled_from([0.0, -0.0, 0.5, -1.0, 2.0, 1e300]) | st.floats(allow_nan=False), max_size=40))
def test_weights_repeat_where_fewer_distinct_values_than_half_the_connections(weights: list[float]) -> None:
    expected = len(np.unique(weights)) * 2 < len(weights)
    assert costs.repeats_weights(np.array(weights, dtype=np.float64)) is expected


@pytest.mark.parametrize("n_values", [7, 2**16, 2**16 + 1, 2**40])  # a radix sort of 16 bits, or not
def test_grouped_puts_equal_values_together(n_values: int) -> None:
    values = np.random.default_rng(0).integers(0, n_values, size=500) if n_values > 7 else \
        np.array([3, 0, 6, 3, 1, 0, 6, 6])
    values[:2] = [0, n_values - 1]  # the extremes
    order = grouped(values, n_values)
    assert sorted(order.tolist()) == list(range(len(values)))
    assert np.all(np.diff(values[order]) >= 0)


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


def _sparse_dag(n_neurons: int, *, seed: int = 0) -> nx.DiGraph:
    """A DAG in which every neuron is fed by three random earlier ones (skip connections): many
    predecessor sets, no layer records."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_nodes_from([f"x{i}" for i in range(8)], role="input")
    names = [f"x{i}" for i in range(8)]
    for i in range(8, n_neurons):
        name = f"n{i}"
        G.add_node(name, role="output" if i >= n_neurons - 4 else "hidden", bias=float(rng.normal()),
                   activation=("tanh", "relu", "sigmoid")[i % 3])
        for u in set(rng.integers(i, size=3).tolist()):
            G.add_edge(names[u], name, weight=float(rng.normal()))
        names.append(name)
    return G


@pytest.mark.parametrize("n_neurons", [12, 40, 400])
def test_the_cost_model_lowers_unlayered_graphs_from_arrays_whatever_their_size(n_neurons: int) -> None:
    G = _sparse_dag(n_neurons)  # small ones too: the graph path costs them a group per neuron
    plan = nngraph.compile_network(G)
    assert plan.plan.lowering == "arrays" and "lowered from arrays" in str(plan)
    assert plan.passes == nngraph.compiler.DEFAULT_PASSES
    x = np.random.default_rng(1).normal(size=(5, 8))
    assert_equivalent(plan, G, x)
    assert_equivalent(nngraph.compile_network(G, dtype=np.float32), G, x)
    last = f"n{n_neurons - 1}"
    assert plan.explain(last) == build_plan(G, lowering="graph").explain(last).replace(
        f"op {build_plan(G, lowering='graph').op_of(last).index}", f"op {plan.op_of(last).index}")
    assert plan.trace(x).table() == nngraph.run_reference(G, x).table()


def test_layered_or_unmerged_graphs_keep_the_graph_path() -> None:
    for passes in ((), ("merge_levels",), ("choose_kinds",)):  # the array path makes what both make
        assert build_plan(_sparse_dag(400), passes=passes).lowering == "graph"
    model = Sequential([Dense(units=64, input_shape=(32,), activation="relu"), Dense(units=8)], seed=0)
    assert build_plan(model.graph).lowering == "graph"  # layer records: share_weights, keeps_apart
    assert "lowered" not in str(nngraph.compile_network(model.graph))
    wide = nx.DiGraph()  # as many connections per neuron as the graph path handles in few groups
    wide.add_nodes_from([f"x{i}" for i in range(100)], role="input")
    wide.add_nodes_from(["y0", "y1"], role="output")
    wide.add_weighted_edges_from((f"x{i}", y, 0.5) for i in range(100) for y in ("y0", "y1"))
    assert wide.number_of_edges() >= costs.ARRAY_LOWERING_FAN_IN * 2
    assert build_plan(wide).lowering == "graph"


@SETTINGS
@given(networks(), st.booleans())
def test_both_paths_give_the_trace_the_reference_columns(G: nx.DiGraph, every_neuron_named: bool) -> None:
    if every_neuron_named:  # the columns are then layers, not levels
        for node in nngraph.computed(G):
            G.nodes[node].setdefault("layer", "named")
    expected = tuple(nngraph.columns(G))
    assert build_plan(G, lowering="arrays").groups == expected
    assert build_plan(G, lowering="graph").groups == expected


def test_a_cycle_found_by_the_array_levels_is_named() -> None:
    G = _sparse_dag(400)
    G.add_weighted_edges_from([("n100", "n399", 1.0), ("n399", "n100", 1.0)])
    with pytest.raises(CycleError, match="cycle: .*'n399'"):
        build_plan(G, lowering="arrays")
    with pytest.raises(ArgumentError, match="lowering must be 'graph', 'arrays' or None"):
        build_plan(_sparse_dag(20), lowering="numpy")


@SETTINGS
@given(networks_and_batches())
def test_sparse_ops_hold_their_csr_arrays_until_their_weights_are_read(case: tuple[nx.DiGraph, np.ndarray]) -> None:
    """Lowering from arrays makes no scipy matrix: a sparse op holds the CSR arrays it was cut from
    (``CSRArrays``), checked and stored as they are, and ``op.weights`` is the canonical
    ``csr_array`` of them, made on first read, read-only and kept; pickling keeps either form."""
    G, x = case
    plan = lower_arrays(graph_arrays(G), dtype=np.dtype(np.float64))
    check_plan(plan)
    plan = store_once(plan)
    sparse_ops = [op for op in plan.ops if op.kind == "sparse"]
    assert all(isinstance(op.stored_weights, CSRArrays) for op in sparse_ops)
    for op in pickle.loads(pickle.dumps(plan)).ops:
        if op.kind == "sparse":
            assert isinstance(op.stored_weights, CSRArrays) and not op.stored_weights.data.flags.writeable
    assert_equivalent(compile_plan(plan), G, x)
    for op in sparse_ops:
        arrays = op.stored_weights
        weights = op.weights
        assert isinstance(weights, sparse.csr_array) and weights.has_canonical_format
        assert op.weights is weights is op.stored_weights and weights.shape == op.shape
        assert not any(part.flags.writeable for part in (weights.data, weights.indices, weights.indptr))
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(weights, part), getattr(arrays, part), strict=True)
        assert (weights.nnz, int(np.count_nonzero(weights.data))) == (op.connections, op.nonzeros)
        np.testing.assert_array_equal(weights.toarray(), op.connection_matrix().toarray())
        loaded = pickle.loads(pickle.dumps(op))
        assert isinstance(loaded.stored_weights, sparse.csr_array) and not loaded.weights.data.flags.writeable


def test_compiling_a_sparse_genome_and_a_first_call_make_no_scipy_matrix() -> None:
    """Build, passes, checks, codegen and the small batch's first call read a sparse op's CSR
    arrays as lowering cut them (the level loop and native kernel read them through ``sparse_rows``)."""
    G = _sparse_dag(400)
    plan = nngraph.compile_network(G)
    x = np.random.default_rng(0).normal(size=(1, 8))
    np.testing.assert_allclose(plan(x), nngraph.run_reference(G, x).outputs, rtol=1e-12, atol=1e-12)
    held = [op.stored_weights for op in plan.ops if op.kind == "sparse"]
    assert held and all(isinstance(weights, CSRArrays) for weights in held)
