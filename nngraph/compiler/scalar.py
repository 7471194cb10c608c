"""Straight-line scalar code for tiny plans: one sample as plain Python floats, no numpy call.

For a network the size of the lesson's (108 connections), numpy's fixed cost per call is nearly
all the time of a batch-of-one pass; Python float arithmetic on the same weights is several
times faster. ``scalar_source`` writes that code (for plans the cost model allows: float64 plans of weighted-sum ops, up to
``costs.SCALAR_MAX_CONNECTIONS`` connections, whose activations all have a scalar form; aggregate
ops have none), and
``costs.scalar_batch_limit`` says up to how many samples it beats the fused numpy pass.
Each weighted sum adds its terms left to right, starting from the bias, as the reference does, one
term per connection (a weight of 0.0 too: ``0.0 * nan`` is NaN, in the reference as here).
"""

from __future__ import annotations

import math

import numpy as np

from nngraph.compiler.costs import CodegenOptions, scalar_code_allowed
from nngraph.core.activations import resolve_activation
from nngraph.errors import CompileError
from nngraph.ir.plan import WEIGHTED_SUM, FusedOp, Plan
from nngraph.ir.text import op_comment, producers

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


def _literal(number: float) -> str:
    """A number as Python source: the ``repr`` of a finite float, the only text of a graph that
    scalar code holds (``validate`` and the activation registry have checked it is finite)."""
    value = float(number)
    if not math.isfinite(value):
        raise CompileError(f"scalar code: {value!r} is not a finite number")
    return repr(value)


# The element-wise activations with a scalar form; softmax is the one group-wise one.
ELEMENT_WISE_KINDS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid")


def _element_wise(kind: str, z: str, a: str, params: dict[str, float]) -> str:
    """One neuron's value from its weighted sum, as a Python statement (``kind`` is one of
    ``ELEMENT_WISE_KINDS``)."""
    if kind == "linear":
        return f"{a} = {z}"
    if kind == "relu":
        return f"{a} = 0.0 if {z} < 0.0 else {z}"  # NaN stays NaN, as with np.maximum
    if kind == "leaky_relu":
        return f"{a} = {z} if {z} > 0.0 else {_literal(params['alpha'])} * {z}"
    if kind == "tanh":
        return f"{a} = tanh({z})"
    assert kind == "sigmoid", kind
    return f"{a} = sigmoid({z})"


def has_scalar_form(plan: Plan, *, options: CodegenOptions) -> bool:
    """Whether ``plan`` gets scalar code: the cost model allows it (``scalar_code_allowed``), every
    op is a weighted sum (aggregate and shared ops have code of their own) and every activation
    has a scalar form. Decided without writing the code, which is built on first use.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> has_scalar_form(build_plan(lesson_model().graph), options=CodegenOptions())
    True
    """
    if not scalar_code_allowed(plan, options=options):
        return False
    for op in plan.ops:
        if op.operation != WEIGHTED_SUM:
            return False
        for name, _, _ in op.activation_runs():
            activation = resolve_activation(name)
            kind = activation.kind
            if not (kind == "softmax" if activation.group_wise else kind in ELEMENT_WISE_KINDS):
                return False
    return True


def scalar_source(plan: Plan, *, options: CodegenOptions) -> list[str] | None:
    """The lines of ``forward_scalar(sample)``, or ``None`` when the plan does not qualify.

    Examples
    --------
    >>> import networkx as nx
    >>> from nngraph.compiler import build_plan
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=0.5, activation="relu")
    >>> G.add_edge("x", "y", weight=-2.0)
    >>> for line in scalar_source(build_plan(G), options=CodegenOptions())[-4:-1]:
    ...     print(line)
        z1 = 0.5 - 2.0 * a0
        a1 = 0.0 if z1 < 0.0 else z1
        return [a1]
    """
    if not has_scalar_form(plan, options=options):
        return None
    body: list[str] = []
    producer = producers(plan)
    for op in plan.ops:
        body += [op_comment(op, producer)] + _op_lines(plan, op)
    inputs = ", ".join(f"a{plan.columns[node]}" for node in plan.inputs)
    outputs = ", ".join(f"a{plan.columns[node]}" for node in plan.outputs)
    lines = ["def forward_scalar(sample):",
             f'    """One sample as plain floats: a list of {len(plan.inputs)} numbers in, '
             f'the {len(plan.outputs)} outputs out."""',
             f"    [{inputs}] = sample"]
    lines += ["    " + line for line in body] + [f"    return [{outputs}]", ""]
    if any(name == "sigmoid" for op in plan.ops for name, _, _ in op.activation_runs()):
        lines = _SIGMOID + ["", ""] + lines
    return lines


def _op_lines(plan: Plan, op: FusedOp) -> list[str]:
    start = plan.columns[op.targets[0]]
    weights = op.dense_weights()
    connected = op.connection_mask()
    sources = [plan.columns[node] for node in op.sources]
    lines: list[str] = []
    for name, low, high in op.activation_runs():
        activation = resolve_activation(name)
        params = dict(activation.params)
        for j in range(low, high):
            column = start + j
            rows = np.flatnonzero(connected[:, j])
            lines += _weighted_sum(column, float(op.bias[j]), weights[rows, j], [sources[i] for i in rows])
            if not activation.group_wise:
                lines.append(_element_wise(activation.kind, f"z{column}", f"a{column}", params))
        if activation.group_wise:  # softmax (has_scalar_form), never in a mixed op: the whole op
            size = len(op.targets) // op.groups
            for first in range(start, start + len(op.targets), size):  # each group normalised apart
                lines += _softmax(range(first, first + size))
    return lines


def _weighted_sum(column: int, bias: float, weights: np.ndarray, sources: list[int]) -> list[str]:
    """The lines computing ``z<column>``: the bias, then ``weights[i] * a<sources[i]>`` in order."""
    terms = []
    for row, weight in enumerate(weights.tolist()):
        sign = "-" if math.copysign(1.0, weight) < 0 else "+"
        terms.append(f"{sign} {_literal(abs(weight))} * a{sources[row]}")
    name = f"z{column}"
    if not terms:
        return [f"{name} = {_literal(bias)}"]
    lines = []
    for first in range(0, len(terms), TERMS_PER_STATEMENT):
        chunk = terms[first:first + TERMS_PER_STATEMENT]
        start = (_literal(bias) if bias else "") if first == 0 else name
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
