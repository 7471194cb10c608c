"""The whole-plan tests of ``check_plan`` (its fast paths) pass every plan the compiler makes and
refuse, or send op by op, every plan that breaks an invariant; and the passes and ``store_once``
that find nothing to do return the plan as it was."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import CompileError
from nngraph.compiler import DEFAULT_PASSES, build_plan, check_plan
from nngraph.compiler.check import _arrays_hold, _laid_out, _plain, _sources_hold
from nngraph.compiler.passes import run_passes
from nngraph.compiler.store import store_once


def skip_dag(bias: float = 0.0) -> nx.DiGraph:
    """Inputs x0, x1; h and g read them (level 1); y reads x0, h and g (level 2): lowered from arrays."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    G.add_node("h", role="hidden", activation="tanh", bias=bias)
    G.add_node("g", role="hidden", activation="relu", bias=bias)
    G.add_node("y", role="output", bias=bias)
    G.add_weighted_edges_from([("x0", "h", 1.0), ("x1", "h", -1.0), ("x1", "g", 0.5), ("x0", "y", 2.0),
                               ("h", "y", 1.0), ("g", "y", -0.5)])
    return G


@pytest.mark.parametrize("lowering", ["graph", "arrays"])
def test_a_column_map_laid_out_in_order_is_read_as_lists(lowering: str) -> None:
    plan = build_plan(skip_dag(), lowering=lowering)
    targets = [node for op in plan.ops for node in op.targets]
    assert _laid_out(plan, _plain(plan.columns), targets)
    # The same map in another order is right too: told by a lookup per neuron instead.
    shuffled = dataclasses.replace(plan, columns=MappingProxyType(dict(reversed(plan.columns.items()))))
    assert not _laid_out(shuffled, _plain(shuffled.columns), targets)
    check_plan(shuffled)
    swapped = dict(plan.columns)
    swapped["x0"], swapped["x1"] = swapped["x1"], swapped["x0"]
    bad = dataclasses.replace(plan, columns=swapped)
    assert not _laid_out(bad, swapped, targets)
    with pytest.raises(CompileError, match="input 'x0' should hold column 0, holds 1"):
        check_plan(bad)
    last = targets[-1]
    moved = dict(plan.columns)
    moved[targets[0]], moved[last] = moved[last], moved[targets[0]]
    with pytest.raises(CompileError, match="should hold column"):
        check_plan(dataclasses.replace(plan, columns=moved))
    ghost = dataclasses.replace(plan, columns={**plan.columns, "ghost": len(plan.columns)})
    assert not _laid_out(ghost, _plain(ghost.columns), targets)
    with pytest.raises(CompileError, match=r"not computed: \['ghost'\]"):
        check_plan(ghost)


def test_an_op_of_a_level_below_zero_goes_op_by_op_and_is_named() -> None:
    plan = build_plan(skip_dag(), lowering="graph", passes=())
    first = plan.ops[0]
    bad = dataclasses.replace(plan, ops=(dataclasses.replace(first, level=-1),) + plan.ops[1:])
    assert _sources_hold(plan) and not _sources_hold(bad)
    with pytest.raises(CompileError, match="op 0: on level -1 reads"):
        check_plan(bad)


def test_an_op_of_no_sources_below_level_zero_has_its_reader_named() -> None:
    # h reads nothing (an op of no sources, level 1), y reads h: at level -1 h's targets read as
    # not yet computed, so the op that reads them is named
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", activation="tanh")
    G.add_node("y", role="output")
    G.add_weighted_edges_from([("x", "y", 1.0), ("h", "y", 2.0)])
    plan = build_plan(G, lowering="graph", passes=())
    first = next(op for op in plan.ops if op.targets == ("h",))
    assert not first.sources
    ops = tuple(dataclasses.replace(op, level=-1) if op is first else op for op in plan.ops)
    bad = dataclasses.replace(plan, ops=ops)
    assert _sources_hold(plan) and not _sources_hold(bad)
    with pytest.raises(CompileError, match=r"reads neurons not computed before it: \['h'\]"):
        check_plan(bad)


def test_inputs_out_of_order_are_named() -> None:
    plan = build_plan(skip_dag(), lowering="arrays")
    bad = dataclasses.replace(plan, inputs=plan.inputs[::-1])
    targets = [node for op in plan.ops for node in op.targets]
    assert not _laid_out(bad, _plain(bad.columns), targets)
    with pytest.raises(CompileError, match="input 'x1' should hold column 0"):
        check_plan(bad)


def test_weights_in_another_dtype_than_the_plans_are_named() -> None:
    plan = build_plan(skip_dag(), lowering="graph", passes=())
    op = plan.ops[0]
    bad = dataclasses.replace(plan, ops=(dataclasses.replace(op, weights=op.weights.astype(np.float32)),)
                              + plan.ops[1:])
    assert not _arrays_hold(bad, "")
    with pytest.raises(CompileError, match="op 0: weights are float32, the plan computes in float64"):
        check_plan(bad)


@pytest.mark.parametrize("groups", [[1], 2.0, True, 0])
def test_groups_that_are_no_whole_number_are_named(groups: object) -> None:
    plan = build_plan(skip_dag(), lowering="graph", passes=())
    bad = dataclasses.replace(plan, ops=(dataclasses.replace(plan.ops[0], groups=groups),) + plan.ops[1:])
    with pytest.raises(CompileError, match="op 0: groups=.* must be a whole number"):
        check_plan(bad)


@pytest.mark.parametrize("density", [float("nan"), float("inf")])
def test_a_density_that_is_no_number_is_named(density: float) -> None:
    plan = build_plan(skip_dag(), lowering="graph", passes=())
    bad = dataclasses.replace(plan, ops=(dataclasses.replace(plan.ops[0], density=density),) + plan.ops[1:])
    with pytest.raises(CompileError, match=f"op 0: says .* nonzeros \\(density {density}\\)"):
        check_plan(bad)


@pytest.mark.parametrize("runs", [(("tanh", 1, 0), ("relu", 1, 0)), (("tanh", 1), ("relu",)),
                                  (["tanh", 1], ("relu", 1))])
def test_activation_runs_that_are_no_pairs_are_named(runs: tuple) -> None:
    plan = build_plan(skip_dag(), lowering="arrays")
    mixed = next(op for op in plan.ops if op.activations is not None)
    ops = tuple(dataclasses.replace(op, activations=runs) if op is mixed else op for op in plan.ops)
    with pytest.raises(CompileError, match=f"op {mixed.index}: activation runs .* each must be a pair"):
        check_plan(dataclasses.replace(plan, ops=ops))


def test_a_density_is_held_to_its_nonzeros_within_rounding() -> None:
    plan = build_plan(skip_dag(), lowering="arrays")
    op = plan.ops[-1]

    def with_density(density: float) -> nngraph.Plan:
        return dataclasses.replace(plan, ops=plan.ops[:-1] + (dataclasses.replace(op, density=density),))

    assert _arrays_hold(with_density(op.density * (1 + 1e-14)), "")  # rounding, not a fault
    check_plan(with_density(op.density * (1 + 1e-14)))
    off = with_density(op.density / 2)
    assert not _arrays_hold(off, "")
    with pytest.raises(CompileError, match=rf"op {op.index}: says {op.nonzeros} nonzeros \(density"):
        check_plan(off)
    fewer = dataclasses.replace(plan, ops=plan.ops[:-1] + (dataclasses.replace(op, nonzeros=op.nonzeros - 1),))
    assert not _arrays_hold(fewer, "")
    with pytest.raises(CompileError, match=rf"op {op.index}: says {op.nonzeros - 1} nonzeros"):
        check_plan(fewer)


def test_passes_that_find_nothing_to_do_keep_every_field() -> None:
    plan = build_plan(skip_dag(), lowering="arrays")  # each op of the kind choose_kinds gives it
    passed = run_passes(plan, DEFAULT_PASSES)
    assert passed.passes == DEFAULT_PASSES * 2 and type(passed) is nngraph.Plan
    assert all(getattr(passed, field.name) is getattr(plan, field.name)
               for field in dataclasses.fields(plan) if field.name != "passes")
    assert dataclasses.replace(passed, passes=()).__dict__.keys() == plan.__dict__.keys()


def test_store_once_returns_a_plan_of_distinct_arrays_as_it_was_and_shares_equal_ones() -> None:
    distinct = build_plan(skip_dag(), lowering="arrays")
    assert store_once(distinct) is distinct
    G = nx.DiGraph()  # x -> h -> y, each bias 0.5: two ops of equal biases
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", activation="tanh", bias=0.5)
    G.add_node("y", role="output", bias=0.5)
    G.add_weighted_edges_from([("x", "h", 1.0), ("h", "y", 2.0)])
    plan = build_plan(G, lowering="arrays")
    assert plan.ops[1].bias is plan.ops[0].bias
    copied = dataclasses.replace(plan.ops[1], bias=plan.ops[1].bias.copy())
    unshared = dataclasses.replace(plan, ops=(plan.ops[0], copied))
    stored = store_once(unshared)
    assert stored is not unshared and stored.ops[1].bias is stored.ops[0].bias
    assert stored.ops[0] is unshared.ops[0]  # the first holder of an array is kept as it is
    check_plan(stored)
