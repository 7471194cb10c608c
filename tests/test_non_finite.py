"""NaN and infinities in the input reach exactly the neurons connected to them, as in the reference.

A dense op with padding (zeros where there is no connection) would spread them further, since
``0 * nan`` is NaN; the plan then runs its exact pass. A connection of weight 0.0 is still one.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from strategies import assert_equivalent

import nngraph
from nngraph import CodegenOptions, CompileError, compile_network
from nngraph.compiler import build_plan, check_plan
from nngraph.compiler.check import _arrays_hold
from nngraph.compiler.passes import choose_kinds
from nngraph.execute.compiled import compile_plan, run_plan
from nngraph.ir.plan import fused_op
from nngraph.layers import LSTM, Dense, Input
from nngraph.models import Sequential

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import neat_genome  # noqa: E402

NON_FINITE = np.array([[np.nan, 1.0], [np.inf, 2.0], [0.5, -np.inf], [0.25, -0.5]])


def two_towers() -> nx.DiGraph:
    """x0 -> h0 -> y0 and x1 -> h1 -> y1: merge_levels makes each level one op with padding."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    G.add_nodes_from(["h0", "h1"], role="hidden", activation="tanh")
    G.add_nodes_from(["y0", "y1"], role="output", bias=0.5)
    G.add_weighted_edges_from([("x0", "h0", 0.5), ("x1", "h1", -0.5), ("h0", "y0", 2.0),
                               ("h1", "y1", 1.0)])
    return G


def zero_weight() -> nx.DiGraph:
    """y reads x0 through a connection of weight 0.0, and x1 through one of weight 1.0."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    G.add_node("y", role="output", activation="relu")
    G.add_weighted_edges_from([("x0", "y", 0.0), ("x1", "y", 1.0)])
    return G


def all_sparse(G: nx.DiGraph) -> nngraph.CompiledPlan:
    plan = choose_kinds(build_plan(G, passes=("merge_levels",)), kind="sparse")
    check_plan(plan, stage="forcing sparse")
    return compile_plan(plan)


def test_nan_and_inf_reach_only_connected_neurons_through_a_padded_op() -> None:
    G = two_towers()
    plan = compile_network(G)
    assert [op.padded for op in plan.ops] == [True, True] and plan.program.exact is not None
    with np.errstate(invalid="ignore"):
        outputs = plan(NON_FINITE)
        trace = plan.trace(NON_FINITE)
    assert np.isnan(outputs[0, 0]) and np.isfinite(outputs[0, 1])
    assert outputs[1, 0] == 2.5 and np.isfinite(outputs[1, 1])  # tanh(inf) = 1; no 0 * inf in y1
    assert np.isfinite(outputs[2, 0]) and np.isfinite(trace.weighted_sum("h0")[2])
    assert np.isfinite(outputs[3]).all()
    assert_equivalent(plan, G, NON_FINITE)


@pytest.mark.parametrize("compile_plan", [
    compile_network, lambda G: compile_network(G, passes=()), all_sparse,
    lambda G: compile_network(G, dtype=np.float32)], ids=["default", "no passes", "sparse", "float32"])
def test_a_connection_of_weight_zero_from_nan_or_inf_gives_nan(compile_plan) -> None:
    G = zero_weight()
    plan = compile_plan(G)
    assert plan.ops[0].connections == 2 and plan.ops[0].nonzeros == 1
    assert "+ 0 * 'x0'" in plan.explain("y")
    x = np.array([[np.nan, 1.0], [np.inf, 1.0], [-np.inf, 1.0], [3.0, 1.0]])
    with np.errstate(invalid="ignore"):
        assert np.isnan(plan(x)[:3]).all() and plan(x)[3, 0] == 1.0
        assert np.isnan(plan.trace(x).weighted_sum("y")[:3]).all()
    assert_equivalent(plan, G, x)


def test_the_exact_pass_runs_only_when_the_fast_one_gives_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import codegen

    written: list[bool] = []
    forward = codegen._forward

    def counted_forward(*args: object, exact: bool, **kwargs: object) -> object:
        written.append(exact)
        return forward(*args, exact=exact, **kwargs)

    monkeypatch.setattr(codegen, "_forward", counted_forward)
    plan = compile_network(two_towers(), options=CodegenOptions(native_kernel=False))  # trace: numpy
    run_plan(plan, NON_FINITE[3:], runner="numpy")  # the plan is tiny: by default, scalar code
    plan.trace(NON_FINITE[3:])
    assert written == [False] and plan.program.padded  # the exact pass is written when first needed
    calls: list[int] = []
    exact = plan.program.exact
    assert written == [False, True]

    def counted(*args: np.ndarray) -> np.ndarray:
        calls.append(1)
        return exact(*args)

    monkeypatch.setattr(codegen.Program, "exact", property(lambda program: counted))
    run_plan(plan, NON_FINITE[3:], runner="numpy")
    plan.trace(NON_FINITE[3:])
    assert calls == []
    with np.errstate(invalid="ignore"):
        run_plan(plan, NON_FINITE, runner="numpy")
        plan.trace(NON_FINITE)
    assert calls == [1, 1] and written == [False, True]


def test_plans_without_padding_have_no_exact_pass() -> None:
    model = Sequential([Dense(units=6, input_shape=(8,), activation="relu"),
                        Dense(units=4, activation="softmax")], seed=0)
    lesson = nngraph.compile_network(model.graph)
    assert not any(op.padded for op in lesson.ops)
    assert lesson.program.exact is None and "forward_exact" not in lesson.code
    padded = compile_network(two_towers())
    assert "def forward_exact(X, Z, A):" in padded.code


def test_neat_genome_with_nan_inputs_agrees_with_the_reference() -> None:
    G = neat_genome(n_inputs=8, n_hidden=60, n_outputs=3, n_connections=500, depth=8, seed=5)
    plan = compile_network(G)
    assert any(op.padded for op in plan.ops)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, size=(6, 8))
    x[1, 3], x[2, 0], x[4, 7] = np.nan, np.inf, -np.inf
    assert_equivalent(plan, G, x)


def test_check_plan_holds_padding_to_its_contract() -> None:
    plan = build_plan(two_towers())
    op = plan.ops[0]

    def with_op(new: object) -> nngraph.Plan:
        return dataclasses.replace(plan, ops=(new,) + plan.ops[1:])

    cases = [
        (dataclasses.replace(op, connected=np.ones(op.shape, dtype=bool)), "marks every entry"),
        (dataclasses.replace(op, connected=op.connected[:1]), "boolean array of shape"),
        (dataclasses.replace(op, connected=~op.connected), "nonzero weight where connected says"),
        (dataclasses.replace(choose_kinds(plan, kind="sparse").ops[0],
                             connected=op.connected), "is sparse but has a connected mask"),
    ]
    assert _arrays_hold(plan, "")
    for broken, message in cases:
        assert not _arrays_hold(with_op(broken), "")  # the whole plan's test finds it, op by op names it
        with pytest.raises(CompileError, match=message):
            check_plan(with_op(broken))


def test_fused_op_keeps_the_connections_it_is_given() -> None:
    weights = np.array([[2.0, 0.0], [0.0, 0.0]])
    connected = np.array([[True, False], [True, False]])
    for kind in ("dense", "sparse"):
        op = fused_op(index=0, targets=["h0", "h1"], sources=["x0", "x1"], weights=weights,
                      bias=np.zeros(2), activation="linear", level=1, kind=kind, connected=connected)
        assert (op.nonzeros, op.connections, op.padded) == (1, 2, kind == "dense")
        np.testing.assert_array_equal(op.connection_mask(), connected)
        np.testing.assert_array_equal(op.connection_matrix().toarray(), weights)


def saturating(activation: str) -> nx.DiGraph:
    """Two layers of ``activation`` with weights that overflow float64 on inputs near its limit."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    for name, role, layer in (("h0", "hidden", "h"), ("h1", "hidden", "h"), ("y0", "output", "y"),
                              ("y1", "output", "y")):
        G.add_node(name, role=role, activation=activation, layer=layer)
    G.add_weighted_edges_from([("x0", "h0", 1e10), ("x1", "h0", -3.0), ("x0", "h1", 2.0), ("x1", "h1", 1e10),
                               ("h0", "y0", 1e300), ("h1", "y0", 1e300), ("h0", "y1", -1e300),
                               ("x0", "y1", 2.0)])
    return G


HUGE_INPUTS = np.array([[1e308, -1e308], [np.inf, -np.inf], [1e300, 1e300], [-1e300, 1e300], [np.nan, 1.0]])


@pytest.mark.parametrize("activation", nngraph.known_activations())
def test_overflow_follows_ieee_arithmetic_without_numpy_warnings(activation: str) -> None:
    """Overflow to infinity and inf - inf = NaN are expected results, in both executors: numpy's
    RuntimeWarnings about them must not reach library users or the command line.

    (Past float range the two may differ: BLAS fuses a multiply and an add where the reference
    rounds the product to infinity first, so only the absence of warnings is checked here.)
    """
    G = saturating(activation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float64, np.float32):  # float32 also casts 1e300 weights to infinity
            plan = nngraph.compile_network(G, dtype=dtype)
            for x in (HUGE_INPUTS, HUGE_INPUTS[:1], HUGE_INPUTS[1]):
                reference = nngraph.run_reference(G, x, dtype=dtype)
                for runner in plan.program.runners:
                    expected = reference.outputs[0] if np.ndim(x) == 1 else reference.outputs
                    assert run_plan(plan, x, runner=runner).shape == expected.shape
                assert plan.trace(x).values.dtype == reference.values.dtype == dtype


def test_the_runner_alone_sets_the_errstate_of_padded_and_aggregate_plans() -> None:
    """``np.errstate`` is set once per call, by the runner, for every plan; the generated code
    sets none of its own (a second one cost a microsecond or two per call). A padded product's
    ``0 * inf``, which warns outside it, stays quiet in ``plan(x)`` and ``plan.trace(x)``."""
    recurrent = Sequential([Input(shape=(2, 2)), LSTM(3)], seed=0)  # aggregate ops: the gates
    numpy_pass = CodegenOptions(native_kernel=False, scalar_code=False)
    for G, x in ((two_towers(), NON_FINITE), (recurrent.graph, HUGE_INPUTS[:4].reshape(2, 4))):
        plan = compile_network(G, options=numpy_pass)
        assert any(op.padded or op.kind == "aggregate" for op in plan.ops)
        assert "errstate" not in plan.code
        reference = nngraph.run_reference(G, x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            outputs, trace = plan(x), plan.trace(x)
        np.testing.assert_allclose(outputs, reference.outputs, rtol=1e-12)
        np.testing.assert_allclose(trace.outputs, reference.outputs, rtol=1e-12)


def test_trace_tables_print_huge_numbers_compactly() -> None:
    G = saturating("linear")
    table = nngraph.run_reference(G, [[1e300, -2.5e-7]]).table()
    assert "1e+300" in table and "-0.0000" in table and "-inf" in table
    assert max(map(len, table.splitlines())) < 40  # not 300 digits
    assert nngraph.compile_network(G).trace([[1e300, -2.5e-7]]).table() == table
