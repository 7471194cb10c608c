"""The fused numpy pass runs under ``np.errstate(over="ignore", invalid="ignore", under="ignore")``:
overflows, underflows and ``inf - inf`` give what IEEE arithmetic gives, without numpy's warnings,
by either form of it (numpy 2's decorator, or ``with`` for numpy 1), and the caller's error state is
left as it was."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
from strategies import RTOL, assert_close

from nngraph import CodegenOptions, compile_network, run_reference
from nngraph.compiler.costs import softmax_kernel_batch_limit
from nngraph.execute import compiled


@pytest.mark.parametrize("run", [compiled._numpy_pass, compiled._quiet_with])
def test_overflows_are_quiet_and_the_callers_state_stays(run: object) -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden")  # linear: 10 * 1e308 overflows
    for name in ("y0", "y1"):
        G.add_node(name, role="output", activation="softmax", layer="out")  # inf - inf
    G.add_weighted_edges_from([("x", "h", 10.0), ("h", "y0", 1.0), ("h", "y1", -1.0)])
    plan = compile_network(G, options=CodegenOptions(native_kernel=False, scalar_code=False, compiled_softmax=False))
    x = np.array([[1e308], [1.0]])
    buffer = np.empty((plan.program.rows, 2))
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy warning would raise here
        outputs = run(plan.program, x.T, buffer, buffer, None)
    assert np.geterr() == before
    assert np.isnan(outputs[:, 0]).any() and np.isfinite(outputs[:, 1]).all()
    np.testing.assert_array_equal(outputs.T, plan(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_callers_raising_underflow_does_not_reach_any_batch(dtype: type) -> None:
    """Under ``np.seterr(under="raise")`` a softmax whose exp underflows, and an input that
    underflows in float32, give zero at every batch size, as the reference does: below the compiled
    softmax's limit and above it, where numpy's exp runs."""
    G = nx.DiGraph()
    for name in ("x0", "x1"):
        G.add_node(name, role="input")
    for name, bias in (("y0", 0.0), ("y1", 0.5), ("y2", -1e4)):  # exp(-1e4) underflows to zero
        G.add_node(name, role="output", activation="softmax", layer="out", bias=bias)
        G.add_weighted_edges_from([("x0", name, 1.0), ("x1", name, -2.0)])
    plan = compile_network(G, dtype=dtype, options=CodegenOptions(native_kernel=False, scalar_code=False))
    limit = softmax_kernel_batch_limit(3, dtype=np.dtype(dtype), options=plan.options)
    x = np.random.default_rng(1).uniform(-3.0, 3.0, (limit + 1, 2))
    x[0, 0] = 1e-50  # zero in float32
    batches = (1, limit, limit + 1)
    before = np.seterr(under="raise")
    try:
        outputs = [(plan(x[:batch]), run_reference(G, x[:batch], dtype=dtype).outputs) for batch in batches]
    finally:
        np.seterr(**before)
    assert 1 < limit and "softmax_columns" in plan.code
    for batch, (got, expected) in zip(batches, outputs):
        assert not expected[:, 2].any()
        assert_close(got, expected, rtol=RTOL[np.dtype(dtype)], what=f"batch {batch}")
