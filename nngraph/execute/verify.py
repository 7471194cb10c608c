"""Verification: a compiled plan against the reference pass, neuron by neuron.

Two traces agree when every neuron's weighted sum and value agree within ``rtol`` relative to
the reference, plus an absolute slack of ``rtol`` times the trace's largest magnitude (at least 1),
which absorbs the cancellation that a different summation order may expose; NaN agrees with NaN.
``rtol`` is ``TOLERANCE[dtype]``: 1e-12 for float64, 1e-5 for float32. This is where the compiled
executor meets the oracle (``compile_network(G, verify=True)``).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from nngraph.errors import VerificationError
from nngraph.execute.reference import run_reference
from nngraph.execute.trace import Trace

if TYPE_CHECKING:  # nngraph.execute.compiled calls verify_plan
    from nngraph.execute.compiled import CompiledPlan

TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


@dataclass(frozen=True)
class Difference:
    """The first place two traces disagree: neuron, quantity, sample, and both numbers."""

    node: Hashable
    quantity: str
    sample: int
    got: float
    expected: float

    def __str__(self) -> str:
        return (f"neuron {self.node!r}: {self.quantity} of sample {self.sample} is {self.got!r}, "
                f"the reference says {self.expected!r}")


def _mismatches(got: np.ndarray, expected: np.ndarray, rtol: float) -> np.ndarray:
    """Where ``got`` departs from ``expected`` (a boolean array of their shape)."""
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * max(1.0, float(finite.max()) if finite.size else 1.0)
    return ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def _first(bad: np.ndarray) -> tuple[int, int] | None:
    """The first (sample, column) of ``bad``, in column order, or None."""
    columns = np.flatnonzero(bad.any(axis=0))
    if not columns.size:
        return None
    return int(np.flatnonzero(bad[:, columns[0]])[0]), int(columns[0])


def first_difference(trace: Trace, reference: Trace, *, rtol: float | None = None) -> Difference | None:
    """Return where ``trace`` first departs from ``reference`` (in ``trace``'s column order), or None.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> G = Sequential([Dense(units=3, input_shape=(4,), activation="tanh")], seed=1).graph
    >>> x = [[0.1, 0.2, 0.3, 0.4], [2.0, -1.0, 0.0, 1.0]]
    >>> reference = nngraph.run_reference(G, x)
    >>> first_difference(nngraph.compile_network(G).trace(x), reference) is None
    True
    >>> G.edges["input/0", "dense/1"]["weight"] += 1.0  # the plan keeps the old weight
    >>> print(first_difference(nngraph.compile_network(G).trace(x), reference).node)
    dense/1
    """
    if rtol is None:
        rtol = TOLERANCE[reference.values.dtype]
    nodes = list(trace.columns)
    missing = set(reference.columns).symmetric_difference(nodes)
    if missing:
        node = sorted(missing, key=repr)[0]
        return Difference(node, "presence", 0, float(node in trace.columns), float(node in reference.columns))
    if trace.values.shape != reference.values.shape:
        return Difference(nodes[0], f"shape {trace.values.shape}", 0, np.nan, np.nan)
    mine = [trace.columns[node] for node in nodes]
    theirs = [reference.columns[node] for node in nodes]
    got = {"weighted sum": trace.weighted_sums[:, mine], "value": trace.values[:, mine]}
    expected = {"weighted sum": reference.weighted_sums[:, theirs], "value": reference.values[:, theirs]}
    # Inputs' weighted sums are NaN in both traces, and NaN agrees with NaN.
    bad = {quantity: _mismatches(got[quantity], expected[quantity], rtol) for quantity in got}
    place = _first(bad["weighted sum"] | bad["value"])
    if place is None:
        return None
    sample, column = place
    quantity = "weighted sum" if bad["weighted sum"][:, column].any() else "value"
    sample = int(np.flatnonzero(bad[quantity][:, column])[0])
    return Difference(nodes[column], quantity, sample, float(got[quantity][sample, column]),
                      float(expected[quantity][sample, column]))


def output_difference(plan: CompiledPlan, got: np.ndarray, expected: np.ndarray) -> Difference | None:
    """Return where the outputs ``got`` of ``plan(x)`` first depart from the reference's ``expected``, or None."""
    got = np.asarray(got).reshape(-1, len(plan.outputs))
    if got.shape != expected.shape:
        return Difference(plan.outputs[0], f"output shape {got.shape}", 0, np.nan, np.nan)
    place = _first(_mismatches(got, expected, TOLERANCE[plan.dtype]))
    if place is None:
        return None
    sample, column = place
    return Difference(plan.outputs[column], f"output of plan(x) (runner: {plan.runner})", sample,
                      float(got[sample, column]), float(expected[sample, column]))


def verify_plan(plan: CompiledPlan, G: nx.DiGraph, *, samples: int = 8, seed: int = 0) -> None:
    """Run ``plan`` and the reference on random inputs; raise ``VerificationError`` if they differ.

    Checks the trace and the outputs of ``plan(x)``, for one sample and for the whole batch, so
    that both runners of a tiny plan are covered. The error names the first neuron that differs.

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="relu")
    >>> G.add_edge("x", "y", weight=-1.0)
    >>> plan = nngraph.compile_network(G)
    >>> verify_plan(plan, G)  # silent: they agree
    >>> G.nodes["y"]["bias"] = 5.0
    >>> verify_plan(plan, G)
    Traceback (most recent call last):
    ...
    nngraph.errors.VerificationError: the plan and the reference pass differ at neuron 'y': ...
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(samples, len(plan.inputs)))
    reference = run_reference(G, x, dtype=plan.dtype)
    difference = (first_difference(plan.trace(x), reference)
                  or output_difference(plan, plan(x[:1]), reference.outputs[:1])
                  or output_difference(plan, plan(x), reference.outputs))
    if difference is not None:
        op = plan.op_of(difference.node) if difference.node in plan.columns else None
        where = "" if op is None else f" (computed by op {op.index})"
        raise VerificationError(f"the plan and the reference pass differ at {difference}{where}",
                                op=None if op is None else op.index, nodes=(difference.node,))
