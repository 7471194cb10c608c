"""The fused numpy pass runs under ``np.errstate(over="ignore", invalid="ignore")``: overflows and
``inf - inf`` give what IEEE arithmetic gives, without numpy's warnings, by either form of it
(numpy 2's decorator, or ``with`` for numpy 1), and the caller's error state is left as it was."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest

from nngraph import CodegenOptions, compile_network
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
