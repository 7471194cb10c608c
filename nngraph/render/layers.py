"""The layer diagram: one box per layer with its kind, units, activation, shapes and parameters (like Keras' plot_model).

A graph built without layers has no layers to draw; its boxes are then the
fused groups of its plan (``nngraph.compiler.build_plan``), which are what a
layer is to the compiler: neurons computed together from the same sources.
"""

from __future__ import annotations

from typing import Any

import graphviz
import networkx as nx

from nngraph.compiler import build_plan
from nngraph.render import style
from nngraph.render.boxes import Box, add_box, new_box_digraph, shape
from nngraph.render.checks import choice, is_plan, network_of
from nngraph.render.layout import is_layer
from nngraph.core.structure import Column, columns
from nngraph.keras.summary import graph_rows

DIRECTIONS = ("TB", "LR")
FUNCTION = "render_layers"
Arrow = tuple[str, str, str]


def _input_box(count: int) -> Box:
    return Box("inputs", "input", "InputLayer",
               ((style.count(count, "input"), "0 params"),
                (f"input {shape(count)}", f"output {shape(count)}")), style.BOX_FILL["input"])


def _layer_boxes(G: nx.DiGraph, shown: list[Column]) -> tuple[list[Box], list[Arrow]]:
    """One box per column (``shown``) of a layered graph, and one arrow per pair of connected columns."""
    place = {node: index for index, column in enumerate(shown) for node in column.nodes}
    boxes = [_input_box(len(shown[0].nodes))]
    for index, (column, row) in enumerate(zip(shown[1:], graph_rows(G, shown=shown)[1:]), start=1):
        sources = {source for node in column.nodes for source in G.predecessors(node)}
        boxes.append(Box(f"layer{index}", column.name, row.kind, (
            (f"{style.count(len(column.nodes), 'unit')}, {column.activation}", style.count(row.params, "param")),
            (f"input {shape(len(sources))}", f"output {shape(len(column.nodes))}")),
            style.BOX_FILL[column.role]))
    counts: dict[tuple[int, int], int] = {}
    for source, target in G.edges:
        pair = (place[source], place[target])
        counts[pair] = counts.get(pair, 0) + 1
    arrows = [(boxes[a].key, boxes[b].key, style.count(count, "connection"))
              for (a, b), count in sorted(counts.items())]
    return boxes, arrows


def op_arrows(plan: Any) -> list[Arrow]:
    """The plan's data flow (``plan.to_networkx()``) as arrows between boxes, labelled with neuron counts.

    Boxes are keyed ``"inputs"`` and ``"op<index>"``.
    """
    key_of = {"inputs": "inputs", **{op.index: f"op{op.index}" for op in plan.ops}}
    flow = plan.to_networkx()
    return [(key_of[u], key_of[v], style.count(neurons, "neuron"))
            for u, v, neurons in flow.edges(data="neurons")]


def _group_boxes(plan: Any) -> tuple[list[Box], list[Arrow]]:
    """One layer-like box per fused op of ``plan``."""
    boxes = [_input_box(len(plan.inputs))]
    outputs = set(plan.outputs)
    for op in plan.ops:
        role = "output" if any(node in outputs for node in op.targets) else "hidden"
        boxes.append(Box(f"op{op.index}", f"group {op.index}", f"{op.kind} op", (
            (f"{style.count(len(op.targets), 'unit')}, {op.activation}",
             style.count(op.nonzeros + len(op.targets), "param")),
            (f"input {shape(len(op.sources))}", f"output {shape(len(op.targets))}")),
            style.BOX_FILL[role]))
    return boxes, op_arrows(plan)


def render_layers(G: Any, *, direction: str = "TB", title: str | None = None) -> graphviz.Digraph:
    """Draw one box per layer: name, kind, units, activation, input and output shape, parameter count.

    Parameters
    ----------
    G : networkx.DiGraph, model or Plan
        A network whose neurons all name a ``layer`` (as ``Sequential``
        builds them) gives one box per layer, plus the input layer; arrows
        between boxes count the connections. Any other network is compiled
        (``nngraph.compile_network``) and a plan is drawn as it is: one box
        per fused group, arrows counting the neurons passed along.
    direction : {"TB", "LR"}
        Top to bottom (as Keras draws it) or left to right.
    title : str, optional
        A title over the diagram.

    Returns
    -------
    graphviz.Digraph

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> dot = render_layers(lesson_model())
    >>> dot.source.count('class=layer'), "54 params" in dot.source
    (4, True)
    """
    choice(FUNCTION, "direction", direction, DIRECTIONS)
    if is_plan(G):
        boxes, arrows = _group_boxes(G)
    else:
        graph, _ = network_of(G, function=FUNCTION)
        shown = columns(graph)
        if all(is_layer(graph, column) for column in shown[1:]):
            boxes, arrows = _layer_boxes(graph, shown)
        else:
            boxes, arrows = _group_boxes(build_plan(graph))
    dot = new_box_digraph("layers", direction=direction, title=title)
    for box in boxes:
        add_box(dot, box, css="layer")
    for source, target, label in arrows:
        dot.edge(source, target, label=f"<{style.text(label)}>")
    return dot
