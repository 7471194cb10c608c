"""Dense or sparse: the cost rule of choose_kinds, the sparse kernel, and shared kernel calls."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from strategies import assert_equivalent

import nngraph
from nngraph import CodegenOptions, CompileError, compile_network
from nngraph.compiler import build_plan, kernels
from nngraph.compiler.costs import dense_cost, sparse_cost
from nngraph.compiler.passes import choose_kinds
from nngraph.execute.compiled import compile_plan
from nngraph.layers import Dense
from nngraph.models import Sequential

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import neat_genome  # noqa: E402


def forward_source(plan: nngraph.CompiledPlan) -> str:
    """The source of ``forward`` alone (not of ``forward_exact`` or ``forward_scalar``)."""
    code = plan.code[plan.code.index("def forward(X, Z, A):"):]
    return code.split("\ndef ", 1)[0]


def test_the_cost_rule_decides_every_op() -> None:
    plan = compile_network(neat_genome())
    for op in plan.ops:
        cheaper = sparse_cost(op) < dense_cost(op, reads_slice=plan.reads_slice(op))
        assert op.kind == ("sparse" if cheaper else "dense"), op
    # A merged NEAT-style level gathers scattered sources for a few targets: the kernel wins.
    assert sum(op.kind == "sparse" for op in plan.ops) > 0.9 * len(plan.ops)


def test_fully_connected_layers_stay_dense_and_sparse_slices_turn_sparse() -> None:
    model = Sequential([Dense(units=64, input_shape=(100,), activation="relu"), Dense(units=10)], seed=0)
    assert [op.kind for op in compile_network(model.graph).ops] == ["dense", "dense"]
    G = model.graph.copy()
    rng = np.random.default_rng(0)
    G.remove_edges_from([edge for edge in list(G.edges) if edge[1].startswith("dense/")
                         and rng.random() > 0.1])  # the first layer keeps about 10% of its weights
    plan = compile_network(G)
    assert plan.reads_slice(plan.ops[0]) and plan.ops[0].kind == "sparse"
    assert_equivalent(plan, G, rng.normal(size=(5, 100)))


def test_choose_kinds_can_make_every_op_one_kind() -> None:
    plan = build_plan(neat_genome(n_inputs=8, n_hidden=60, n_outputs=3, n_connections=500, depth=8))
    assert {op.kind for op in choose_kinds(plan, kind="dense").ops} == {"dense"}
    assert {op.kind for op in choose_kinds(plan, kind="sparse").ops} == {"sparse"}
    with pytest.raises(CompileError, match="unknown kind 'csr'"):
        choose_kinds(plan, kind="csr")


def test_sparse_ops_of_one_level_share_one_kernel_call() -> None:
    G = neat_genome(n_inputs=16, n_hidden=300, n_outputs=4, n_connections=2500, depth=25, seed=2)
    # without merge_levels, a level has an op per activation; all sparse, in straight-line code
    plan = compile_plan(choose_kinds(build_plan(G, passes=()), kind="sparse"),
                        options=CodegenOptions(level_loop=False))
    levels = {op.level for op in plan.ops if op.kind == "sparse"}
    source = forward_source(plan)
    assert source.count("csr_accumulate(") == len(levels) < sum(op.kind == "sparse" for op in plan.ops)
    assert "one sparse product serves them all" in source
    assert_equivalent(plan, G, np.random.default_rng(1).uniform(-1, 1, size=(9, 16)))


def test_the_kernel_adds_stored_entries_only_and_agrees_with_the_public_product() -> None:
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(rng.random((7, 30)) < 0.2)
    values = rng.normal(size=len(rows))
    values[:3] = 0.0  # stored zeros are connections of weight 0.0
    matrix = sparse.csr_array((values, (rows, cols)), shape=(7, 30))
    x = rng.normal(size=(30, 5))
    x[matrix.indices[0]] = np.nan  # read with weight 0.0: NaN
    x[np.setdiff1d(np.arange(30), matrix.indices)] = np.inf  # never read: no effect
    expected = 1.0 + matrix @ x
    assert np.isnan(expected[0]).all() and not np.isinf(expected).any()
    for kernel in (kernels.csr_accumulate, kernels._public_accumulate):
        y = np.ones(7 * 5)
        kernel(7, 30, 5, matrix.indptr, matrix.indices, matrix.data, x.reshape(-1), y)
        np.testing.assert_allclose(y.reshape(7, 5), expected, rtol=1e-14)  # NaN where NaN


def test_a_kernel_that_disagrees_or_fails_is_not_used() -> None:
    def wrong(*args: object) -> None:
        args[-1][:] = 0.0

    def changed(n_rows: int) -> None:
        raise AssertionError("never called with this signature")

    assert kernels._agrees(kernels._public_accumulate)
    assert not kernels._agrees(wrong) and not kernels._agrees(changed)


def test_a_sparse_op_without_connections_gives_its_bias() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", bias=0.5, activation="tanh")
    G.add_node("w", role="output", bias=-1.0)
    G.add_edge("x", "y", weight=2.0)
    plan = compile_plan(choose_kinds(build_plan(G), kind="sparse"))
    np.testing.assert_allclose(plan([[1.0], [2.0]]), [[np.tanh(2.5), -1.0], [np.tanh(4.5), -1.0]])
    assert_equivalent(plan, G, np.array([[1.0], [np.nan]]))
