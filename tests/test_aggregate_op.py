"""The aggregate op: neurons that aggregate otherwise than by a sum, compiled to a gather and reductions."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
from strategies import assert_equivalent

import nngraph
from nngraph import CompileError, Neuron
from nngraph.compiler.passes import choose_kinds, merge_levels
from nngraph.ir.plan import AggregateOp, Reduction, aggregate_op


def pooled() -> nx.DiGraph:
    """Four inputs; a max-pooling pair, a product gate, a maxabs and a mean neuron; two outputs."""
    G = nngraph.new_network()
    for i in range(4):
        nngraph.add_input(G, f"x{i}")
    for name, aggregation in (("p0", "max"), ("p1", "max"), ("g", "product"), ("m", "maxabs"), ("s", "mean")):
        nngraph.add_neuron(G, Neuron(name, aggregation=aggregation, bias=0.25, activation="tanh"))
    for target, sources in (("p0", "x0 x1"), ("p1", "x2 x3"), ("g", "x0 x3"), ("m", "x3 x1 x2"), ("s", "x1")):
        for source in sources.split():
            nngraph.connect(G, source, target, 1.0 if target.startswith("p") else -0.5)
    nngraph.add_neuron(G, Neuron("y", role="output"))
    nngraph.add_neuron(G, Neuron("z", role="output", aggregation="min"))
    for source in ("p0", "p1", "g", "m", "s"):
        nngraph.connect(G, source, "y", 0.5)
        nngraph.connect(G, source, "z", 2.0)
    return G


def test_non_sums_of_a_level_are_one_op_of_reductions_apart_from_the_sums() -> None:
    G = pooled()
    plan = nngraph.compile_network(G, verify=True)
    kinds = [(op.kind, op.targets) for op in plan.ops]
    assert kinds == [("aggregate", ("p0", "p1", "g", "m", "s")), ("dense", ("y",)), ("aggregate", ("z",))]
    op = plan.ops[0]
    assert [(r.aggregation, r.start, r.rows.shape) for r in op.reductions] == [
        ("max", 0, (2, 2)), ("product", 2, (1, 2)), ("maxabs", 3, (1, 3)), ("mean", 4, (1, 1))]
    assert [op.sources[i] for i in op.reductions[2].rows[0]] == ["x3", "x1", "x2"]  # the predecessors' order
    assert op.aggregations == ("max", "product", "maxabs", "mean") and op.connections == 10
    x = np.array([[0.5, -2.0, 1.0, 3.0], [np.nan, 0.0, -1.0, 1.0]])
    trace = plan.trace(x)
    np.testing.assert_allclose(trace.weighted_sum("p0"), [0.25 + 0.5, np.nan])
    np.testing.assert_allclose(trace.weighted_sum("g"), [0.25 + (-0.25 * -1.5), np.nan])
    np.testing.assert_allclose(trace.weighted_sum("m"), [0.25 - 1.5, 0.25 - 0.5])  # -0.5 comes before 0.5
    np.testing.assert_allclose(trace.weighted_sum("s"), [0.25 + 1.0, 0.25])
    assert_equivalent(plan, G, x)
    assert_equivalent(nngraph.compile_network(G, dtype=np.float32), G, x)


def test_the_plan_says_what_an_aggregate_op_computes() -> None:
    plan = nngraph.compile_network(pooled())
    table = str(plan)
    assert " 0  aggregate (max, product, maxabs, mean)      1  inputs (4) -> p0 .. s (5)" in table
    assert "multiply-adds per sample" in table and plan.runner == "fused numpy"  # no scalar code
    assert plan.program.scalar is None
    assert plan.explain("m").splitlines()[1:] == [
        "  weighted sum = 0.25 (bias) + maxabs of 3 terms, in this order:",
        "                 -0.5 * 'x3'",
        "                 -0.5 * 'x1'",
        "                 -0.5 * 'x2'",
        "  value = tanh(weighted sum)"]
    code = plan.code
    assert "np.add(R0_0(A[I0_0] * w0_0, axis=1), b0[0:2], out=z[0:2])  # max of 2 terms each" in code
    assert "A[0:4] = X" in code  # the gather reads inputs from the buffer
    dot = nngraph.render_plan(plan).source
    assert "aggregate" in dot


def test_softmax_over_neurons_that_aggregate_differently() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "a")
    nngraph.add_input(G, "b")
    for name, aggregation in (("cat", "max"), ("dog", "sum"), ("emu", "median")):
        nngraph.add_neuron(G, Neuron(name, role="output", activation="softmax", layer="out",
                                     aggregation=aggregation))
        nngraph.connect(G, "a", name, 1.0)
        nngraph.connect(G, "b", name, -2.0)
    plan = nngraph.compile_network(G, verify=True)
    [op] = plan.ops
    assert op.kind == "aggregate" and op.activation == "softmax" and op.aggregations == ("max", "sum", "median")
    np.testing.assert_allclose(plan([1.0, 1.0]).sum(), 1.0)
    assert_equivalent(plan, G, np.array([[1.0, 0.5], [-1.0, 2.0]]))


def test_passes_keep_aggregate_ops_and_renumber_their_rows() -> None:
    G = pooled()
    plan = nngraph.compile_network(G, passes=()).plan
    assert choose_kinds(plan, kind="sparse").ops[0] is plan.ops[0]
    merged = merge_levels(plan)
    assert [op.kind for op in merged.ops] == [op.kind for op in plan.ops]
    # a merge that moves the columns of an aggregate op's sources renumbers its rows
    H = pooled()
    nngraph.add_neuron(H, Neuron("h", activation="tanh"))
    nngraph.connect(H, "x0", "h", 1.0)
    nngraph.add_neuron(H, Neuron("k", activation="tanh"))
    nngraph.connect(H, "x1", "k", 1.0)
    nngraph.add_neuron(H, Neuron("q", role="output", aggregation="max"))
    nngraph.connect(H, "k", "q", 1.0)
    nngraph.connect(H, "h", "q", -1.0)
    nngraph.connect(H, "p0", "q", 3.0)
    for passes in ((), ("merge_levels",)):
        assert_equivalent(nngraph.compile_network(H, passes=passes), H, np.array([[0.5, -1.0, 2.0, 0.0]]))


def test_no_terms_give_neat_pythons_results_in_the_plan() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    for aggregation in nngraph.known_aggregations():
        nngraph.add_neuron(G, Neuron(aggregation, role="output", bias=0.5, aggregation=aggregation))
    plan = nngraph.compile_network(G)
    expected = [0.5 + (1.0 if name == "product" else 0.0) for name in nngraph.known_aggregations()]
    np.testing.assert_array_equal(plan([[3.0], [4.0]]), [expected, expected])
    assert_equivalent(plan, G, np.array([[3.0]]))


def test_check_plan_names_a_broken_aggregate_op() -> None:
    plan = nngraph.compile_network(pooled(), passes=()).plan
    op = plan.ops[0]

    def broken(**changes: object) -> nngraph.Plan:
        fields = {field.name: getattr(op, field.name) for field in dataclasses.fields(AggregateOp)}
        fields.update(changes)
        return dataclasses.replace(plan, ops=(aggregate_op(**fields), *plan.ops[1:]))

    first = op.reductions[0]
    cases = [
        (dict(reductions=op.reductions[1:]), "reduction of targets from 2 should start at target 0"),
        (dict(reductions=op.reductions[:-1]), "reductions cover 4 targets of 5"),
        (dict(reductions=(Reduction("avg", 0, first.rows, first.weights), *op.reductions[1:])),
         "unknown aggregation 'avg'"),
        (dict(reductions=(Reduction("max", 0, first.rows + 9, first.weights), *op.reductions[1:])),
         "a row is outside the op's 4 sources"),
        (dict(reductions=(Reduction("max", 0, first.rows[:, [0, 0]], first.weights), *op.reductions[1:])),
         "a target reads one source twice"),
        (dict(reductions=(Reduction("max", 0, first.rows, first.weights.astype(np.float32)),
                          *op.reductions[1:])), "weights are float32"),
        (dict(bias=np.zeros(4)), r"bias must be \(5,\) of float64"),
        (dict(sources=(*op.sources, "p0")), "reads neurons not computed before it"),
    ]
    for changes, message in cases:
        with pytest.raises(CompileError, match=message) as error:
            nngraph.check_plan(broken(**changes), stage="a test")
        assert str(error.value).startswith("after a test: op 0: ") and error.value.op == 0
    fused = dataclasses.replace(plan.ops[1], kind="aggregate")
    with pytest.raises(CompileError, match="unknown kind 'aggregate' for a FusedOp"):
        nngraph.check_plan(dataclasses.replace(plan, ops=(op, fused, plan.ops[2])))


def test_plans_with_aggregate_ops_other_than_products_run_neither_scalar_code_nor_the_native_kernel() -> None:
    # Scalar code sums connections only; the native kernel sums or multiplies them: max, maxabs
    # and mean have code of their own, in the fused numpy pass.
    plan = nngraph.compile_network(pooled())
    assert plan.program.runners == ("numpy",)
    assert_equivalent(plan, pooled(), np.array([[0.5, -1.0, 2.0, 0.0], [1.0, 2.0, -3.0, 4.0]]))


def gated() -> nx.DiGraph:
    """Three inputs; a tanh layer, two product gates (one of no terms: bias + 1.0), an output sum."""
    G = nngraph.new_network()
    for i in range(3):
        nngraph.add_input(G, f"x{i}")
    for j in range(2):
        nngraph.add_neuron(G, Neuron(f"h{j}", activation="tanh", bias=0.1 * j))
        for i in range(3):
            nngraph.connect(G, f"x{i}", f"h{j}", 0.5 - 0.3 * i + j)
    nngraph.add_neuron(G, Neuron("g", aggregation="product", bias=0.25, activation="sigmoid"))
    for source, weight in (("h0", -1.5), ("x2", 0.0), ("h1", 2.0)):  # a weight of 0.0: NaN still gives NaN
        nngraph.connect(G, source, "g", weight)
    nngraph.add_neuron(G, Neuron("e", aggregation="product", bias=-0.5))
    nngraph.add_neuron(G, Neuron("y", role="output"))
    for source in ("g", "e", "h0"):
        nngraph.connect(G, source, "y", 1.0)
    return G


def test_product_gates_run_in_the_native_kernel_for_one_sample() -> None:
    G = gated()
    plan = nngraph.compile_network(G, options=nngraph.CodegenOptions(scalar_code=False))
    assert plan.program.runners == ("numpy", "native") and plan.runner.startswith("the native kernel for batches")
    rng = np.random.default_rng(3)
    for batch in (1, 2, 7):
        assert_equivalent(plan, G, rng.uniform(-2.0, 2.0, size=(batch, 3)))  # every runner
    x = np.array([[0.5, -1.0, np.nan], [np.inf, 0.0, 1.0]])
    for row in x:
        assert_equivalent(plan, G, row)
    assert_equivalent(nngraph.compile_network(G, dtype=np.float32), G, x)
    trace = plan.trace([1.0, 2.0, 3.0])  # one sample: the native kernel
    np.testing.assert_allclose(trace.weighted_sum("e"), [0.5])  # -0.5 + the product of no terms, 1.0
    np.testing.assert_allclose(trace.weighted_sum("g"), 0.25 + (-1.5 * trace.value("h0")) * 0.0
                               * (2.0 * trace.value("h1")))


def runs_of_gates() -> nx.DiGraph:
    """Six inputs; per aggregation (product, max, min) three neurons whose terms read consecutive
    inputs (x0-x2 then x3-x5: a slice each), weighted 1 or not, biased or not; and three products
    of one term. Outputs sum them."""
    G = nngraph.new_network()
    for i in range(6):
        nngraph.add_input(G, f"x{i}")
    for aggregation, weights, bias in (("product", (1.0, 1.0), 0.0), ("max", (2.0, -1.0), 0.5),
                                       ("min", (1.0, 3.0), 0.0), ("product", (1.0,), -0.25)):
        for j in range(3):
            node = f"{aggregation}{len(weights)}/{j}"
            nngraph.add_neuron(G, Neuron(node, aggregation=aggregation, bias=bias, activation="tanh"))
            for term, weight in enumerate(weights):
                nngraph.connect(G, f"x{j + 3 * term}", node, weight)
    nngraph.add_neuron(G, Neuron("y", role="output"))
    for node in list(G):
        if node[0] in "pm":
            nngraph.connect(G, node, "y", 1.0)
    return G


def test_reductions_over_consecutive_columns_read_slices_and_agree_with_the_reference() -> None:
    G = runs_of_gates()
    plan = nngraph.compile_network(G, options=nngraph.CodegenOptions(native_kernel=False))
    code = plan.code
    assert "np.multiply(A[0:3], A[3:6], out=z[0:3])" in code and "A[I" not in code  # no gather at all
    assert "np.maximum(A[0:3] * w0_1[0, 0:3], A[3:6] * w0_1[1, 0:3], out=z[3:6])" in code
    assert "z[3:6] += b0[3:6]" in code and "z[0:3] += b0" not in code  # a bias of 0 is not added
    assert "from slices: 1 run of consecutive columns" in code
    x = np.array([[0.5, -1.0, 2.0, 3.0, -0.5, 0.25], [np.nan, 0.0, np.inf, 1.0, -np.inf, 2.0]])
    assert_equivalent(plan, G, x)
    assert_equivalent(nngraph.compile_network(G, dtype=np.float32), G, x)


def test_scattered_terms_keep_the_gather() -> None:
    plan = nngraph.compile_network(pooled())  # max of (x0, x1) and (x2, x3): consecutive targets jump by 2
    assert "A[I0_0]" in plan.code and "from slices" not in plan.code.split("# op 1")[0].split("I0_1")[0]
