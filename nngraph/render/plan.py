"""The plan diagram: one box per fused op of a compiled plan, with what it computes and from what.

Each box gives the op's index and kind (dense or sparse), its weight matrix's
shape and density, its activation and level, and the neurons it computes.
Arrows follow ``plan.to_networkx()``: from the op (or the inputs) that
computes a block of sources to the op that reads it, labelled with how many
neurons it reads from there; the ops that compute outputs point to an
"outputs" box.
"""

from __future__ import annotations

from typing import Any

import graphviz

from nngraph.errors import RenderError
from nngraph.render import style
from nngraph.render.boxes import Box, add_box, listing, new_box_digraph
from nngraph.render.checks import choice, is_plan
from nngraph.render.layers import DIRECTIONS, op_arrows

FUNCTION = "render_plan"


def _op_box(op: Any) -> Box:
    rows, cols = len(op.sources), len(op.targets)
    return Box(f"op{op.index}", f"op {op.index}", op.kind, (
        (f"weights {rows:,} × {cols:,}", f"density {style.number(op.density)} ({op.nonzeros:,} nonzero)"),
        (f"activation {op.activation}", f"level {op.level}"),
        (f"computes {listing(op.targets)}",)), style.BOX_FILL.get(op.kind, style.BOX_FILL["dense"]))


def render_plan(plan: Any, *, direction: str = "TB", title: str | None = None) -> graphviz.Digraph:
    """Draw one box per fused op of ``plan``: index, kind, weight shape, density, activation, neurons.

    Parameters
    ----------
    plan : Plan
        A compiled plan (``nngraph.compile_network(G)``).
    direction : {"TB", "LR"}
        Top to bottom or left to right.
    title : str, optional
        A title over the diagram.

    Returns
    -------
    graphviz.Digraph

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.demo import lesson_model
    >>> dot = render_plan(nngraph.compile_network(lesson_model().graph))
    >>> dot.source.count('class=op')
    3
    """
    if not is_plan(plan):
        raise RenderError(f"{FUNCTION}: plan must be a compiled Plan (nngraph.compile_network(G)), "
                          f"got {type(plan).__name__}")
    choice(FUNCTION, "direction", direction, DIRECTIONS)
    dot = new_box_digraph("plan", direction=direction, title=title)
    add_box(dot, Box("inputs", "inputs", f"{len(plan.inputs):,}", ((listing(plan.inputs),),),
                     style.BOX_FILL["input"]), css="inputs")
    for op in plan.ops:
        add_box(dot, _op_box(op), css="op")
    add_box(dot, Box("outputs", "outputs", f"{len(plan.outputs):,}", ((listing(plan.outputs),),),
                     style.BOX_FILL["output"]), css="outputs")
    for source, target, label in op_arrows(plan):
        dot.edge(source, target, label=f"<{style.text(label)}>")
    outputs = set(plan.outputs)
    for op in plan.ops:
        count = sum(node in outputs for node in op.targets)
        if count:
            dot.edge(f"op{op.index}", "outputs", label=f"<{style.count(count, 'neuron')}>")
    return dot
