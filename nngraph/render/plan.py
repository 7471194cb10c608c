"""The plan diagram: one box per fused op of a compiled plan, with what it computes and from what.

Each box gives the op's index and kind (dense, sparse, aggregate or shared), its weight matrix's
shape and density (a shared-weights op: its kernel and how many positions share it), its
activation and level, and the neurons it computes.
Arrows follow ``plan.to_networkx()``: from the op (or the inputs) that
computes a block of sources to the op that reads it, labelled with how many
neurons it reads from there; the ops that compute outputs point to an
"outputs" box.
"""

from __future__ import annotations

from typing import Any

import graphviz

from nngraph.errors import RenderError
from nngraph.ir.text import activations_text
from nngraph.render import style
from nngraph.render.boxes import (BOXES_SHOWN, FOLDED, Arrow, Box, Fold, add_arrows, add_box, fold_boxes,
                                  fold_note, listing, new_box_digraph)
from nngraph.render.checks import choice, is_plan
from nngraph.render.layers import DIRECTIONS, op_arrows

FUNCTION = "render_plan"


def _op_box(op: Any) -> Box:
    rows, cols = len(op.sources), len(op.targets)
    weights = (f"kernel {op.entries:,} × {op.filters:,} at {op.positions:,} positions" if op.kind == "shared"
               else f"weights {rows:,} × {cols:,}")
    return Box(f"op{op.index}", f"op {op.index}", op.kind, (
        (weights, f"density {style.number(op.density)} ({op.nonzeros:,} nonzero)"),
        (f"activation {activations_text(op)}", f"level {op.level}"),
        (f"computes {listing(op.targets)}",)), style.BOX_FILL.get(op.kind, style.BOX_FILL["dense"]))


def _folded_box(fold: Fold, ops: dict[str, Any]) -> Box:
    """The box standing for folded ops: how many, their levels, weights and neurons, and what flows among them."""
    folded = [ops[box.key] for box in fold.boxes]
    levels = sorted({op.level for op in folded})
    targets = [node for op in folded for node in op.targets]
    return Box(FOLDED, f"{fold.boxes[0].title} … {fold.boxes[-1].title}", f"{len(folded):,} ops folded", (
        (f"levels {levels[0]} to {levels[-1]}", f"{sum(op.nonzeros for op in folded):,} nonzero weights"),
        (f"{style.count(fold.inner, 'neuron')} passed among them",),
        (f"computes {listing(targets)}",)), style.WHITE)


def render_plan(plan: Any, *, direction: str = "TB", title: str | None = None,
                collapse_boxes_above: int | None = BOXES_SHOWN) -> graphviz.Digraph:
    """Draw one box per fused op of ``plan``: index, kind, weight shape, density, activation, neurons.

    Parameters
    ----------
    plan : Plan
        A compiled plan (``nngraph.compile_network(G)``).
    direction : {"TB", "LR"}
        Top to bottom or left to right.
    title : str, optional
        A title over the diagram.
    collapse_boxes_above : int or None
        A plan with more ops than this (at least 3) shows the first and last
        ``(collapse_boxes_above - 1) // 2`` around one box standing for the
        rest, with their arrows summed; a note over the diagram says so.
        ``None`` draws every op (Graphviz may then take minutes for a network
        hundreds of levels deep).

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
    outputs = set(plan.outputs)
    ends = [Arrow(f"op{op.index}", "outputs", count) for op in plan.ops
            if (count := sum(node in outputs for node in op.targets))]
    ops = {f"op{op.index}": op for op in plan.ops}
    boxes, arrows, fold = fold_boxes([_op_box(op) for op in plan.ops], op_arrows(plan) + ends,
                                     collapse_above=collapse_boxes_above, function=FUNCTION,
                                     folded_box=lambda fold: _folded_box(fold, ops))
    dot = new_box_digraph("plan", direction=direction, title=title, note=fold_note(fold, things="ops"),
                          arrows=len(arrows))
    add_box(dot, Box("inputs", "inputs", f"{len(plan.inputs):,}", ((listing(plan.inputs),),),
                     style.BOX_FILL["input"]), css="inputs")
    for box in boxes:
        add_box(dot, box, css="op")
    add_box(dot, Box("outputs", "outputs", f"{len(plan.outputs):,}", ((listing(plan.outputs),),),
                     style.BOX_FILL["output"]), css="outputs")
    add_arrows(dot, arrows, word="neuron")
    return dot
