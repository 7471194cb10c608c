"""Straight-line scalar code for tiny plans: one sample as plain Python floats, no numpy call.

For a network the size of the lesson's (108 connections), numpy's fixed cost per call is nearly
all the time of a batch-of-one pass; Python float arithmetic on the same weights is several
times faster. ``scalar_source`` writes that code (float64 plans of weighted-sum ops whose
activations all have a scalar form, up to ``MAX_WEIGHTS`` connections; aggregate ops have none), and ``scalar_batch_limit`` says up to how
many samples it beats the fused numpy pass, from a cost model measured on this kind of machine.
Each weighted sum adds its terms left to right, starting from the bias, one term per connection
(a weight of 0.0 too: ``0.0 * nan`` is NaN, in the reference as here).
"""

from __future__ import annotations

import math

import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.ir.plan import AGGREGATE, FusedOp, Plan
from nngraph.ir.text import describe_op, producers

MAX_WEIGHTS = 2048
# The cost model, in nanoseconds: a numpy call; per sample, a connection, a neuron by how its
# activation is written (an expression, a function call, softmax), and the call itself.
NUMPY_CALL_NS = 900.0
CONNECTION_NS = 15.0
NEURON_NS = {"inline": 40.0, "call": 120.0, "softmax": 150.0}
SAMPLE_NS = 400.0
MAX_BATCH = 64
TERMS_PER_LINE = 3
TERMS_PER_STATEMENT = 96

_SIGMOID = [
    "def sigmoid(z):",
    '    """The logistic function, without overflow for very negative z."""',
    "    if z >= 0.0:",
    "        return 1.0 / (1.0 + exp(-z))",
    "    e = exp(z)",
    "    return e / (1.0 + e)",
]


def _element_wise(kind: str, z: str, a: str, params: dict[str, float]) -> str | None:
    """One neuron's value from its weighted sum, as a Python statement; None if there is no form."""
    if kind == "linear":
        return f"{a} = {z}"
    if kind == "relu":
        return f"{a} = 0.0 if {z} < 0.0 else {z}"  # NaN stays NaN, as with np.maximum
    if kind == "leaky_relu":
        return f"{a} = {z} if {z} > 0.0 else {params['alpha']!r} * {z}"
    if kind == "tanh":
        return f"{a} = tanh({z})"
    if kind == "sigmoid":
        return f"{a} = sigmoid({z})"
    return None


def scalar_source(plan: Plan) -> list[str] | None:
    """The lines of ``forward_scalar(sample)``, or ``None`` when the plan does not qualify.

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=0.5, activation="relu")
    >>> G.add_edge("x", "y", weight=-2.0)
    >>> for line in scalar_source(nngraph.compile_network(G))[-4:-1]:
    ...     print(line)
        z1 = 0.5 - 2.0 * a0
        a1 = 0.0 if z1 < 0.0 else z1
        return [a1]
    """
    if plan.dtype != np.float64 or sum(op.connections for op in plan.ops) > MAX_WEIGHTS:
        return None
    if any(op.kind == AGGREGATE for op in plan.ops):  # the registry's reductions have no scalar form here
        return None
    body: list[str] = []
    producer = producers(plan)
    for op in plan.ops:
        lines = _op_lines(plan, op)
        if lines is None:
            return None
        body += [f"# {describe_op(op, producer)}"] + lines
    inputs = ", ".join(f"a{plan.columns[node]}" for node in plan.inputs)
    outputs = ", ".join(f"a{plan.columns[node]}" for node in plan.outputs)
    lines = ["def forward_scalar(sample):",
             f'    """One sample as plain floats: a list of {len(plan.inputs)} numbers in, '
             f'the {len(plan.outputs)} outputs out."""',
             f"    [{inputs}] = sample"]
    lines += ["    " + line for line in body] + [f"    return [{outputs}]", ""]
    if any(op.activation == "sigmoid" for op in plan.ops):
        lines = _SIGMOID + ["", ""] + lines
    return lines


def _op_lines(plan: Plan, op: FusedOp) -> list[str] | None:
    activation = resolve_activation(op.activation)
    params = dict(activation.params)
    start = plan.columns[op.targets[0]]
    weights = op.dense_weights()
    connected = op.connection_mask()
    sources = [plan.columns[node] for node in op.sources]
    lines: list[str] = []
    for j in range(len(op.targets)):
        column = start + j
        rows = np.flatnonzero(connected[:, j])
        lines += _weighted_sum(column, float(op.bias[j]), weights[rows, j], [sources[i] for i in rows])
        if not activation.group_wise:
            statement = _element_wise(activation.kind, f"z{column}", f"a{column}", params)
            if statement is None:
                return None
            lines.append(statement)
    if activation.group_wise:
        if activation.kind != "softmax":
            return None
        lines += _softmax(range(start, start + len(op.targets)))
    return lines


def _weighted_sum(column: int, bias: float, weights: np.ndarray, sources: list[int]) -> list[str]:
    """The lines computing ``z<column>``: the bias, then ``weights[i] * a<sources[i]>`` in order."""
    terms = []
    for row, weight in enumerate(weights.tolist()):
        sign = "-" if math.copysign(1.0, weight) < 0 else "+"
        terms.append(f"{sign} {abs(weight)!r} * a{sources[row]}")
    name = f"z{column}"
    if not terms:
        return [f"{name} = {bias!r}"]
    lines = []
    for first in range(0, len(terms), TERMS_PER_STATEMENT):
        chunk = terms[first:first + TERMS_PER_STATEMENT]
        start = (repr(bias) if bias else "") if first == 0 else name
        head = f"{start} {chunk[0]}" if start else chunk[0].lstrip("+ ").replace("- ", "-", 1)
        rows = [head] + chunk[1:]
        if len(rows) <= TERMS_PER_LINE:
            lines.append(f"{name} = {' '.join(rows)}")
            continue
        grouped = [" ".join(rows[i:i + TERMS_PER_LINE]) for i in range(0, len(rows), TERMS_PER_LINE)]
        lines.append(f"{name} = ({grouped[0]}")
        lines += [f"    {text}" for text in grouped[1:-1]] + [f"    {grouped[-1]})"]
    return lines


def _softmax(columns: range) -> list[str]:
    names = [f"z{column}" for column in columns]
    lines = [f"m = max({', '.join(names)})" if len(names) > 1 else f"m = {names[0]}"]
    lines += [f"e{column} = exp(z{column} - m)" for column in columns]
    lines.append("s = " + " + ".join(f"e{column}" for column in columns))
    lines += [f"a{column} = e{column} / s" for column in columns]
    return lines


def scalar_batch_limit(plan: Plan, numpy_calls: int) -> int:
    """Up to how many samples the scalar code is expected to beat ``numpy_calls`` numpy calls."""
    per_sample = SAMPLE_NS + CONNECTION_NS * sum(op.connections for op in plan.ops)
    for op in plan.ops:
        kind = resolve_activation(op.activation).kind
        cost = "softmax" if kind == "softmax" else "call" if kind in ("tanh", "sigmoid") else "inline"
        per_sample += NEURON_NS[cost] * len(op.targets)
    return min(MAX_BATCH, int(NUMPY_CALL_NS * numpy_calls // per_sample))
