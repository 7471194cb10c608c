"""Property tests: for random networks, the compiled plan agrees with the reference pass."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_equivalent, networks, networks_and_batches

import nngraph
from nngraph import CodegenOptions, compile_network
from nngraph.compiler import DEFAULT_PASSES, LOWERINGS, PASSES, build_plan, check_plan
from nngraph.compiler.check import _arrays_hold, _headers_hold, _sources_hold, _targets_hold
from nngraph.compiler.passes import choose_kinds
from nngraph.execute.compiled import compile_plan

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(networks_and_batches())
def test_plan_agrees_with_the_reference(case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    assert_equivalent(compile_network(G), G, x)


@SETTINGS
@given(networks_and_batches())
def test_float32_plan_agrees_with_the_float32_reference(case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    assert_equivalent(compile_network(G, dtype=np.float32), G, x)


@settings(max_examples=25, deadline=None)
@given(networks_and_batches(), st.sampled_from([(), *[(name,) for name in PASSES]]))
def test_every_pass_alone_preserves_the_trace(case: tuple[nx.DiGraph, np.ndarray],
                                              passes: tuple[str, ...]) -> None:
    G, x = case
    plan = compile_network(G, passes=passes)
    assert plan.passes == passes
    assert_equivalent(plan, G, x)


@settings(max_examples=30, deadline=None)
@given(networks_and_batches(), st.sampled_from(LOWERINGS), st.sampled_from([np.float64, np.float32]),
       st.sampled_from([(), DEFAULT_PASSES]))
def test_each_lowering_agrees_with_the_reference(case: tuple[nx.DiGraph, np.ndarray], lowering: str,
                                                 dtype: type, passes: tuple[str, ...]) -> None:
    G, x = case
    plan = compile_plan(build_plan(G, dtype=dtype, passes=passes, lowering=lowering))
    assert (plan.plan.lowering, plan.passes) == (lowering, tuple(passes))
    assert_equivalent(plan, G, x)


@settings(max_examples=40, deadline=None)
@given(networks())
def test_lowered_weights_are_blocks_of_the_adjacency_matrix(G: nx.DiGraph) -> None:
    nodes = list(G)
    index = {node: i for i, node in enumerate(nodes)}
    matrix = nx.to_numpy_array(G, nodelist=nodes, weight="weight")
    pattern = nx.to_numpy_array(G, nodelist=nodes, weight=None) == 1  # connections, weight 0.0 too
    for passes in ((), tuple(PASSES)):
        plan = compile_network(G, passes=passes)
        check_plan(plan)
        for op in plan.ops:
            rows = [index[node] for node in op.sources]
            cols = [index[node] for node in op.targets]
            np.testing.assert_array_equal(op.dense_weights(), matrix[np.ix_(rows, cols)])
            np.testing.assert_array_equal(op.connection_mask(), pattern[np.ix_(rows, cols)])
            assert op.padded == (not pattern[np.ix_(rows, cols)].all() and op.kind == "dense")
            biases = [G.nodes[node].get("bias", 0.0) for node in op.targets]
            np.testing.assert_array_equal(op.bias, biases)


@settings(max_examples=30, deadline=None)
@given(networks())
def test_every_computed_neuron_is_in_exactly_one_op(G: nx.DiGraph) -> None:
    plan = compile_network(G)
    targets = [node for op in plan.ops for node in op.targets]
    assert sorted(map(str, targets)) == sorted(map(str, nngraph.computed(G)))
    assert len(set(targets)) == len(targets)
    assert sorted(plan.columns.values()) == list(range(G.number_of_nodes()))
    assert _sources_hold(plan.plan)  # check_plan tests every op's sources at once, not op by op
    assert _headers_hold(plan.plan)  # and every op's header, targets and arrays
    assert _targets_hold(plan.plan, [node for op in plan.ops for node in op.targets])
    assert _arrays_hold(plan.plan, "")


@settings(max_examples=40, deadline=None)
@given(networks())
def test_non_sums_are_reduced_apart_from_sums_with_their_terms_in_predecessor_order(G: nx.DiGraph) -> None:
    for passes in ((), tuple(PASSES)):
        plan = compile_network(G, passes=passes)
        for op in plan.ops:
            aggregations = [G.nodes[node].get("aggregation", "sum") for node in op.targets]
            if op.kind != "aggregate":
                assert set(aggregations) == {"sum"}, f"op {op.index} fuses non-sums into a product"
                continue
            # an aggregate op computes non-sums, and sums only beside them in one softmax layer
            assert set(aggregations) != {"sum"}
            assert len(set(aggregations)) == 1 or op.activation == "softmax" or "sum" not in aggregations
            for target, node in enumerate(op.targets):
                reduction, row = op.reduction_of(target)
                assert reduction.aggregation == aggregations[target]
                assert [op.sources[i] for i in reduction.rows[row]] == list(G.pred[node])
                assert reduction.weights[row].tolist() == [G.edges[u, node]["weight"] for u in G.pred[node]]


def compile_all_sparse(G: nx.DiGraph, dtype: type = np.float64) -> nngraph.CompiledPlan:
    """Compile with every op forced to the sparse kind, to exercise the sparse product."""
    plan = choose_kinds(build_plan(G, dtype=dtype, passes=("merge_levels",)), kind="sparse")
    check_plan(plan, stage="forcing sparse")
    return compile_plan(plan)


@settings(max_examples=40, deadline=None)
@given(networks_and_batches())
def test_sparse_ops_agree_with_the_reference(case: tuple[nx.DiGraph, np.ndarray]) -> None:
    G, x = case
    plan = compile_all_sparse(G)
    assert all(op.kind in ("sparse", "aggregate") for op in plan.ops)
    assert_equivalent(plan, G, x)
    assert_equivalent(compile_all_sparse(G, np.float32), G, x)


@settings(max_examples=30, deadline=None)
@given(networks_and_batches(max_batch=5),
       st.sampled_from([CodegenOptions(shared_products=False), CodegenOptions(in_place_activations=False),
                        CodegenOptions(native_kernel=False), CodegenOptions(native_kernel=False, scalar_code=False),
                        CodegenOptions(scalar_code=False, shared_products=False, in_place_activations=False,
                                       native_kernel=False)]))
def test_code_without_each_codegen_choice_agrees_with_the_reference(case: tuple[nx.DiGraph, np.ndarray],
                                                                    options: CodegenOptions) -> None:
    G, x = case
    assert_equivalent(compile_network(G, options=options), G, x)


@settings(max_examples=25, deadline=None)
@given(networks(), st.sampled_from([np.float64, np.float32]), st.integers(0, 2**32 - 1))
def test_each_runner_the_cost_model_picks_agrees_at_its_batch_limits(G: nx.DiGraph, dtype: type,
                                                                      seed: int) -> None:
    """Batches at and just past each limit of the cost model: the path ``plan(x)`` and
    ``plan.trace(x)`` take there by default (scalar code, native kernel, fused numpy) agrees."""
    plan = compile_network(G, dtype=dtype)
    program = plan.program
    limits = {1, program.scalar_batch_limit, program.scalar_batch_limit + 1,
              program.native_batch_limit, program.native_batch_limit + 1}
    rng = np.random.default_rng(seed)
    for batch in sorted(limit for limit in limits if limit > 0):
        assert_equivalent(plan, G, rng.uniform(-3.0, 3.0, size=(batch, len(plan.inputs))))
