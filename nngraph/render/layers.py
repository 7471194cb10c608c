"""The layer diagram: one box per layer with its kind, units, activation, shapes and parameters (like Keras' plot_model).

A graph with layer records (as ``Sequential`` builds it, or a model file keeps it) gets one box
per record, as Keras' ``plot_model(show_shapes=True)`` draws a model: its name and kind, its
settings (filters or units, kernel, pool, strides, padding, activation, ...), its parameters as
Keras counts them, and its input and output shapes, layers that only rename positions
(Flatten, Dropout) included. A graph built without records but with a ``layer`` on every neuron
gets one box per layer. A graph built without layers has no layers to draw; its boxes are then
the fused groups of its plan (``nngraph.compiler.build_plan``), which are what a layer is to the
compiler: neurons computed together from the same sources.
"""

from __future__ import annotations

from typing import Any

import graphviz
import networkx as nx

from nngraph.compiler import build_plan
from nngraph.render import style
from nngraph.render.boxes import (BOXES_SHOWN, FOLDED, Arrow, Box, Fold, add_arrows, add_box, fold_boxes,
                                  fold_note, new_box_digraph, shape)
from nngraph.render.checks import choice, is_plan, network_of
from nngraph.render.layout import is_layer
from nngraph.core.network import HIDDEN, INPUT, OUTPUT, LayerRecord, inputs, layer_records
from nngraph.core.structure import Column, columns, layer_positions
from nngraph.ir.text import activations_text
from nngraph.keras.summary import graph_rows, layer_table

DIRECTIONS = ("TB", "LR")
FUNCTION = "render_layers"


def _input_box(count: int) -> Box:
    return Box("inputs", "input", "InputLayer",
               ((style.count(count, "input"), "0 params"),
                (f"input {shape(count)}", f"output {shape(count)}")), style.BOX_FILL["input"])


def _folded_box(fold: Fold, *, things: str, units: dict[str, int], params: dict[str, int], inner: str) -> Box:
    """The box standing for folded layers or groups: how many, their units and parameters, what flows among them."""
    keys = [box.key for box in fold.boxes]
    return Box(FOLDED, f"{fold.boxes[0].title} … {fold.boxes[-1].title}", f"{len(keys):,} {things} folded", (
        (style.count(sum(units[key] for key in keys), "unit"), style.count(sum(params[key] for key in keys), "param")),
        (inner,)), style.WHITE)


def _layer_boxes(G: nx.DiGraph, shown: list[Column], *, collapse_above: int | None
                 ) -> tuple[list[Box], list[Arrow], Fold | None]:
    """One box per column (``shown``) of a layered graph, and one arrow per pair of connected columns."""
    place = {node: index for index, column in enumerate(shown) for node in column.nodes}
    boxes = []
    units, params = {}, {}
    recorded = {record.name: record for record in layer_records(G)}
    for index, (column, row) in enumerate(zip(shown[1:], graph_rows(G, shown=shown)[1:]), start=1):
        sources = {source for node in column.nodes for source in G.predecessors(node)}
        key = f"layer{index}"
        units[key], params[key] = len(column.nodes), row.params
        record = recorded.get(column.name)
        if record is not None and len(column.nodes) != record.output_shape[-1]:  # type: ignore[operator]
            # A layer with neurons inside (a recurrent layer's gates): say what Keras says of it.
            first = f"{style.count(record.output_shape[-1], 'unit')}, {record.config.get('activation', 'mixed')}"
            shapes = (f"input {record.input_shape}", f"output {record.output_shape}")
        else:
            first = f"{style.count(len(column.nodes), 'unit')}, {column.activation}"
            shapes = (f"input {shape(len(sources))}", f"output {shape(len(column.nodes))}")
        boxes.append(Box(key, column.name, row.kind, ((first, style.count(row.params, "param")), shapes),
                         style.BOX_FILL[column.role]))
    counts: dict[tuple[int, int], int] = {}
    for source, target in G.edges:
        pair = (place[source], place[target])
        counts[pair] = counts.get(pair, 0) + 1
    keys = ["inputs"] + [box.key for box in boxes]
    arrows = [Arrow(keys[a], keys[b], count) for (a, b), count in sorted(counts.items())]
    boxes, arrows, fold = fold_boxes(boxes, arrows, collapse_above=collapse_above, function=FUNCTION, folded_box=(
        lambda fold: _folded_box(fold, things="layers", units=units, params=params,
                                 inner=f"{style.count(fold.inner, 'connection')} among them")))
    return [_input_box(len(shown[0].nodes)), *boxes], arrows, fold


def _keras_shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"


def _size(value: object) -> str:
    """A size setting as Keras writes it in a picture: ``5×5`` for ``[5, 5]``."""
    return "×".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def settings(record: LayerRecord) -> str:
    """A layer's settings in one line, from its record's config, in Keras' words.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Conv2D
    >>> settings(layer_records(Sequential([Conv2D(6, 5, strides=2, padding="same", activation="relu",
    ...                                           input_shape=(28, 28, 1))]).graph)[0])
    '6 filters, kernel 5×5, strides 2×2, same padding, relu'
    """
    config = record.config
    parts = []
    for key, word in (("filters", "filters"), ("units", "units")):
        if key in config:
            parts.append(f"{config[key]:,} {word}")
    for key, word in (("kernel_size", "kernel"), ("pool_size", "pool")):
        if key in config:
            parts.append(f"{word} {_size(config[key])}")
    if "strides" in config:
        parts.append(f"strides {_size(config['strides'])}")
    if any(rate != 1 for rate in config.get("dilation_rate", ())):
        parts.append(f"dilation {_size(config['dilation_rate'])}")
    if isinstance(config.get("padding"), str):
        parts.append(f"{config['padding']} padding")
    elif "padding" in config:  # explicit cells around each axis: "padding 1×2", or "padding 0+1×1+1"
        sides = [f"{before}" if before == after else f"{before}+{after}" for before, after in config["padding"]]
        parts.append(f"padding {'×'.join(sides)}" + (", counted" if config.get("count_include_pad") else ""))
    if "target_shape" in config:
        parts.append(f"to {_size(config['target_shape'])}")
    if "rate" in config:
        parts.append(f"rate {config['rate']:g}, nothing at inference")
    if "epsilon" in config:
        parts.append(f"epsilon {config['epsilon']:g}")
    if "activation" in config:
        parts.append(str(config["activation"]))
    if not parts and not record.neurons:
        parts.append("renames positions")
    return ", ".join(parts) or "-"


def _record_boxes(G: nx.DiGraph, *, collapse_above: int | None) -> tuple[list[Box], list[Arrow], Fold | None]:
    """One box per layer record, in order, and an arrow from each to the next with its connections."""
    records = layer_records(G)
    table = layer_table(G)
    boxes = []
    units, params = {}, {}
    last = len(records) - 1
    for index, (record, row) in enumerate(zip(records, table.rows)):
        key = f"layer{index + 1}"
        units[key], params[key] = len(record.neurons), row.params
        role = "output" if index == last else "hidden"
        boxes.append(Box(key, record.name, record.kind, (
            (settings(record), style.count(row.params, "param")),
            (f"input {_keras_shape(record.input_shape)}", f"output {_keras_shape(record.output_shape)}")),
            style.BOX_FILL[role]))
    arrows = _record_arrows(G, records, [box.key for box in boxes])
    boxes, arrows, fold = fold_boxes(boxes, arrows, collapse_above=collapse_above, function=FUNCTION, folded_box=(
        lambda fold: _folded_box(fold, things="layers", units=units, params=params,
                                 inner=f"{style.count(fold.inner, 'connection')} among them")))
    shape_in = _keras_shape(records[0].input_shape)
    first = Box("inputs", "input", "InputLayer", ((style.count(len(inputs(G)), "input"), "0 params"),
                                                  (f"input {shape_in}", f"output {shape_in}")), style.BOX_FILL["input"])
    return [first, *boxes], arrows, fold


def _record_arrows(G: nx.DiGraph, records: list[LayerRecord], keys: list[str]) -> list[Arrow]:
    """Arrows between layer boxes, counting the connections from one to the other (a skip connection
    gets its own). A connection comes from the last layer that hands its source on (a renaming
    layer, such as Flatten, hands its input on) and goes into the layer that computes its target;
    a renaming layer gets an arrow of its own, saying it holds the same neurons."""
    key_of = {record.name: key for record, key in zip(records, keys)}
    computed_by = dict.fromkeys(inputs(G), "inputs")
    computed_by.update((node, key_of[record.name]) for record in records for node in record.neurons)
    handed_on_by = dict(computed_by)
    for layer in layer_positions(G)[1:]:
        handed_on_by.update(dict.fromkeys(layer.nodes, key_of[layer.name]))
    counts: dict[tuple[str, str], int] = {}
    for source, target in G.edges:
        pair = (handed_on_by[source], computed_by[target])
        if pair[0] != pair[1]:
            counts[pair] = counts.get(pair, 0) + 1
    arrows = [Arrow(source, target, count) for (source, target), count in counts.items()]
    previous = "inputs"
    for record, key in zip(records, keys):
        if not record.neurons:
            arrows.append(Arrow(previous, key, 0, "the same neurons"))
        previous = key
    order = {key: index for index, key in enumerate(["inputs", *keys])}
    return sorted(arrows, key=lambda arrow: (order[arrow.target], order[arrow.source]))


def _whole_layers(G: nx.DiGraph, shown: list[Column]) -> list[Column]:
    """``shown`` with the columns of one layer record joined into one column named after it: a
    recurrent layer's time steps, which the neuron diagram draws apart, are one layer here."""
    owner = {node: record.name for record in layer_records(G) for node in record.neurons}
    joined: list[Column] = []
    where: dict[str, int] = {}
    for column in shown:
        name = owner.get(column.nodes[0])
        if (column.role == INPUT or name is None or name == column.name
                or any(owner.get(node) != name for node in column.nodes)):
            joined.append(column)
        elif name in where:
            first = joined[where[name]]
            joined[where[name]] = Column(
                name, OUTPUT if first.role == column.role == OUTPUT else HIDDEN, first.nodes + column.nodes,
                first.activation if first.activation == column.activation else "mixed", first.level)
        else:
            where[name] = len(joined)
            joined.append(Column(name, column.role, column.nodes, column.activation, column.level))
    return joined


def op_arrows(plan: Any) -> list[Arrow]:
    """The plan's data flow (``plan.to_networkx()``) as arrows between boxes, counting the neurons passed along.

    Boxes are keyed ``"inputs"`` and ``"op<index>"``.
    """
    key_of = {"inputs": "inputs", **{op.index: f"op{op.index}" for op in plan.ops}}
    flow = plan.to_networkx()
    return [Arrow(key_of[u], key_of[v], neurons) for u, v, neurons in flow.edges(data="neurons")]


def _group_boxes(plan: Any, *, collapse_above: int | None) -> tuple[list[Box], list[Arrow], Fold | None]:
    """One layer-like box per fused op of ``plan``."""
    outputs = set(plan.outputs)
    boxes = []
    units, params = {}, {}
    for op in plan.ops:
        role = "output" if any(node in outputs for node in op.targets) else "hidden"
        key = f"op{op.index}"
        units[key], params[key] = len(op.targets), op.nonzeros + len(op.targets)
        boxes.append(Box(key, f"group {op.index}", f"{op.kind} op", (
            (f"{style.count(len(op.targets), 'unit')}, {activations_text(op)}", style.count(params[key], "param")),
            (f"input {shape(len(op.sources))}", f"output {shape(len(op.targets))}")),
            style.BOX_FILL[role]))
    boxes, arrows, fold = fold_boxes(boxes, op_arrows(plan), collapse_above=collapse_above, function=FUNCTION,
                                     folded_box=lambda fold: _folded_box(
                                         fold, things="groups", units=units, params=params,
                                         inner=f"{style.count(fold.inner, 'neuron')} passed among them"))
    return [_input_box(len(plan.inputs)), *boxes], arrows, fold


def render_layers(G: Any, *, direction: str = "TB", title: str | None = None,
                  collapse_boxes_above: int | None = BOXES_SHOWN) -> graphviz.Digraph:
    """Draw one box per layer: name, kind, units, activation, input and output shape, parameter count.

    Parameters
    ----------
    G : networkx.DiGraph, model or Plan
        A network with layer records (as ``Sequential`` builds it) gives one
        box per record, plus the input layer, with the layer's settings and
        Keras' shapes and parameter counts; one whose neurons all name a
        ``layer`` gives one box per layer; arrows between boxes count the
        connections. Any other network is compiled
        (``nngraph.compile_network``) and a plan is drawn as it is: one box
        per fused group, arrows counting the neurons passed along.
    direction : {"TB", "LR"}
        Top to bottom (as Keras draws it) or left to right.
    title : str, optional
        A title over the diagram.
    collapse_boxes_above : int or None
        A diagram with more layers (or groups) than this (at least 3) shows
        the first and last ``(collapse_boxes_above - 1) // 2`` around one box
        standing for the rest, with their arrows summed; a note over the
        diagram says so. ``None`` draws every box (Graphviz may then take
        minutes for a network hundreds of levels deep).

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
        boxes, arrows, fold = _group_boxes(G, collapse_above=collapse_boxes_above)
        things, word = "groups", "neuron"
    else:
        graph, _ = network_of(G, function=FUNCTION)
        shown = columns(graph)
        if layer_records(graph) and all(is_layer(graph, column) for column in shown[1:]):
            boxes, arrows, fold = _record_boxes(graph, collapse_above=collapse_boxes_above)
            things, word = "layers", "connection"
        elif all(is_layer(graph, column) for column in shown[1:]):
            boxes, arrows, fold = _layer_boxes(graph, _whole_layers(graph, shown), collapse_above=collapse_boxes_above)
            things, word = "layers", "connection"
        else:
            boxes, arrows, fold = _group_boxes(build_plan(graph), collapse_above=collapse_boxes_above)
            things, word = "groups", "neuron"
    dot = new_box_digraph("layers", direction=direction, title=title, note=fold_note(fold, things=things),
                          arrows=len(arrows))
    for box in boxes:
        add_box(dot, box, css="layer")
    add_arrows(dot, arrows, word=word)
    return dot
