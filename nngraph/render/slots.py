"""The nodes of the neuron diagram: neurons (with their numbers), "+N more" nodes, and input/output labels."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import graphviz
import networkx as nx

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, DEFAULT_ACTIVATION, DEFAULT_AGGREGATION,
                                  DEFAULT_BIAS, INPUT, LAYER, OUTPUT, ROLE)
from nngraph.render import style
from nngraph.render.layout import Layout, Slot
from nngraph.render.values import Readings

PROBABILITY_KINDS = ("softmax", "sigmoid")
LABEL_FONT_SIZE = 11


#: Points per inch: positions are computed in inches and written in points, as Graphviz's nop2 layout reads them.
POINTS = 72


def pos(x: float, y: float) -> str:
    """A pinned position given in inches (kept to a thousandth), written in points for Graphviz's ``nop2`` layout.

    Examples
    --------
    >>> pos(2.0, -0.5004)
    '144.000,-36.000!'
    """
    return f"{round(x, 3) * POINTS:.3f},{round(y, 3) * POINTS:.3f}!"


def is_probability(G: nx.DiGraph, node: Hashable) -> bool:
    """Whether ``node``'s value reads as a probability (a softmax or sigmoid output)."""
    data = G.nodes[node]
    return data[ROLE] == OUTPUT and resolve_activation(
        data.get(ACTIVATION, DEFAULT_ACTIVATION)).kind in PROBABILITY_KINDS


def add_folded(dot: graphviz.Digraph, slot: Slot, *, inner: int = 0) -> None:
    """Draw the "+N more" node standing for folded neurons; ``inner`` counts the connections among them.

    Those connections would loop from the node back to itself, so they are not
    drawn: the node says how many there are.
    """
    count = len(slot.folded)
    lines = [f"+{count:,} more"]
    tooltip = f"{count:,} neurons not drawn: {slot.folded[0]!s} ... {slot.folded[-1]!s}"
    if inner:
        lines.append(f'<font point-size="8">{style.count(inner, "connection")} among them</font>')
        tooltip += f"; {style.count(inner, 'connection')} among them"
    # Filled, so that the paths of bent bundles, which run to its centre, stay hidden under it.
    dot.node(slot.key, "<" + "<br/>".join(lines) + ">", shape="box", style="rounded,dashed,filled",
             fillcolor=style.WHITE, color=style.MUTED, fontcolor=style.MUTED, fontsize="10", pos=pos(slot.x, slot.y),
             tooltip=style.tooltip(tooltip), **{"class": "more"})


def add_neuron(dot: graphviz.Digraph, G: nx.DiGraph, slot: Slot, *, diameter: float,
               readings: Readings | None, names: bool) -> None:
    """Draw one neuron: a circle, filled by its value and showing ``z`` and ``a`` when there are readings."""
    node = slot.node
    data = G.nodes[node]
    role = data[ROLE]
    attributes = {"shape": "circle", "fixedsize": "true", "width": f"{diameter:.2f}",
                  "pos": pos(slot.x, slot.y), "style": "filled", "fillcolor": style.WHITE,
                  "penwidth": "1.2", "fontsize": "9", "class": f"neuron {role}"}
    lines = [style.text(node)] if names else []
    aggregation = data.get(AGGREGATION, DEFAULT_AGGREGATION)
    tooltip = [str(node)] if role == INPUT else [
        f"{node!s}: {data.get(ACTIVATION, DEFAULT_ACTIVATION)}, bias {style.number(data.get(BIAS, DEFAULT_BIAS))}"
        + (f", aggregation {aggregation}" if aggregation != DEFAULT_AGGREGATION else "")]
    if readings is not None:
        value = readings.values[node]
        attributes["fillcolor"] = style.value_fill(value, readings.largest)
        attributes["fontcolor"] = style.ink_on(value, readings.largest)
        if role == INPUT:
            lines.append(f"<b>{style.number(value)}</b>")
            tooltip.append(f"value {style.number(value, digits=6)}")
        else:
            symbol = "p" if is_probability(G, node) else "a"
            z = readings.weighted_sums[node]
            lines += [f"z {style.number(z)}", f"<b>{symbol} {style.number(value)}</b>"]
            tooltip.append(f"weighted sum z = {style.number(z, digits=6)}, "
                           f"value {symbol} = {style.number(value, digits=6)}")
    # Escape each line, then join with DOT's own newline escape, so that the statement stays on one line.
    dot.node(slot.key, "<" + "<br/>".join(lines) + ">",
             tooltip=graphviz.nohtml("\\n".join(style.tooltip(line) for line in tooltip)), **attributes)


def predicted_outputs(G: nx.DiGraph, readings: Readings | None) -> set[Hashable]:
    """The most probable output of each softmax layer, for the shown sample."""
    if readings is None:
        return set()
    best: dict[str, Hashable] = {}
    for node, data in G.nodes(data=True):
        if is_probability(G, node) and resolve_activation(data.get(ACTIVATION)).kind == "softmax":
            layer = data[LAYER]
            if layer not in best or readings.values[node] > readings.values[best[layer]]:
                best[layer] = node
    return set(best.values())


def _width(label: str) -> float:
    """A generous estimate of a label's width in inches (Helvetica averages about 0.55 em)."""
    return len(label) * LABEL_FONT_SIZE * 0.55 / 72


def end_label_text(G: nx.DiGraph, node: Hashable, label: str, readings: Readings | None,
                   output: bool) -> str:
    """An input or output label as drawn: a probability output's label also shows its percentage."""
    if output and readings is not None and is_probability(G, node):
        return f"{label}: {readings.values[node]:.1%}"
    return label


def add_end_labels(dot: graphviz.Digraph, G: nx.DiGraph, layout: Layout,
                   labels: tuple[Mapping[Hashable, str], Mapping[Hashable, str]],
                   readings: Readings | None) -> None:
    """Draw the input labels left of their inputs and the output labels right of their outputs.

    Labels on one side share one width, so they line up against their
    neurons. An output that feeds other neurons (possible in a graph without
    layers) has its label above it instead, clear of its connections. With
    readings, a probability output's label also shows its percentage, and the
    most probable class of a softmax layer is bold. Labels of folded neurons
    are not drawn (their neurons are not).
    """
    predicted = predicted_outputs(G, readings)
    radius = layout.geometry.diameter / 2
    for output, mapping in enumerate(labels):
        prefix, align = ("output_label", "left") if output else ("input_label", "right")
        texts = {node: end_label_text(G, node, label, readings, bool(output))
                 for node, label in mapping.items() if layout.slot_of[node].node is not None}
        width = max((_width(text) for text in texts.values()), default=0.0)
        offset = radius + 0.3 + width / 2
        for index, (node, text) in enumerate(texts.items()):
            slot = layout.slot_of[node]
            html = f"<b>{style.text(text)}</b>" if node in predicted else style.text(text)
            key = f"{prefix}{index}"
            if output and G.out_degree(node):
                dot.node(key, f"<{html}>", shape="plaintext", margin="0", fontsize=str(LABEL_FONT_SIZE),
                         pos=pos(slot.x, slot.y + radius + 0.15), **{"class": "label"})
                continue
            cell = (f'<table border="0" cellpadding="3" cellspacing="0"><tr>'
                    f'<td width="{width * 72:.0f}" align="{align}">{html}</td></tr></table>')
            dot.node(key, f"<{cell}>", shape="plaintext", margin="0", fontsize=str(LABEL_FONT_SIZE),
                     pos=pos(slot.x + offset if output else slot.x - offset, slot.y),
                     **{"class": "label"})
            ends = (slot.key, key) if output else (key, slot.key)
            dot.edge(*ends, dir="forward", arrowsize="0.6", color=style.MUTED, **{"class": "label"})
