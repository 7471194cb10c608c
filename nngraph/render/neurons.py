"""The neuron diagram: the lesson's picture of neurons in straight columns and every weighted connection.

Built as a ``graphviz.Digraph`` whose neurons are pinned in place (see
``layout``) and whose skip connections carry their own paths (see
``connections``); its DOT source asks for Graphviz's ``nop2`` layout
(``layout=nop2``, which is ``neato -n2``: node positions and edge paths as
given, in points), so ``dot -Tsvg`` on the saved ``.dot`` file draws the same
picture, and Graphviz only draws: a network hundreds of levels deep takes it
well under a second. DOT node names are ``n0``, ``n1``, ... (neurons, top-left
first) and ``more2`` (column 2's folded neurons, or the folded middle columns
of a deep network), so any hashable neuron id is safe: ids only appear in
escaped labels and tooltips. Classes in the SVG: ``neuron``
(plus ``input``/``hidden``/``output``), ``more``, ``connection``, ``bundle``,
``caption``, ``label``, ``legend``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import graphviz
import networkx as nx

from nngraph.errors import RenderError
from nngraph.execute.trace import Trace
from nngraph.core.network import INPUT, OUTPUT, inputs, outputs
from nngraph.render import style
from nngraph.render.checks import check_trace, choice, labels_for, network_of
from nngraph.render.connections import add_links
from nngraph.render.layout import Geometry, Layout, Link, ShownColumn, is_layer, lay_out, links
from nngraph.render.legend import legend_height, neuron_legend
from nngraph.render.maps import add_feature_map, map_neurons
from nngraph.render.routes import routes
from nngraph.render.slots import add_end_labels, add_folded, add_neuron, pos
from nngraph.render.values import read_sample

CONNECTION_COLORS = ("weight", "contribution")
FUNCTION = "render_neurons"
#: Columns drawn before the middle ones fold: past this a picture is too wide to read, and slow to draw.
COLUMNS_SHOWN = 30


def render_neurons(G: Any, *, trace: Trace | None = None, sample: int = 0,
                   input_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                   output_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                   connection_color: str = "weight", collapse_above: int | None = 10,
                   collapse_columns_above: int | None = COLUMNS_SHOWN, names: bool = False,
                   weight_labels: bool = False, legend: bool = True,
                   title: str | None = None, sample_label: str | None = None) -> graphviz.Digraph:
    """Draw every neuron and connection of ``G``: inputs on the left, one straight column per layer.

    Columns are ``nngraph.columns(G)``: one per layer, or one per level for a
    graph without layers (skip connections then bend through the gaps of the
    columns they jump, never across a neuron). Neurons keep their declaration order top to bottom. A connection is
    blue for a positive weight and red for a negative one, and wider the larger
    ``|weight|``; each column has a caption.

    Parameters
    ----------
    G : networkx.DiGraph or model
        A network following the graph contract, or a model with a ``.graph``.
    trace : Trace, optional
        A trace of ``G`` (``run_reference`` or a plan's). Each neuron then shows
        its weighted sum ``z`` and value ``a`` for ``sample`` and is filled by
        a colour scale of its value (blue positive, red negative; a legend
        shows the scale). Softmax and sigmoid outputs show ``p``, a probability.
    sample : int
        Which sample of the trace to show (negative counts from the end).
    sample_label : str, optional
        How the legend names that sample (default ``"sample N"``), for a trace
        made of one sample picked out of a larger set.
    input_labels, output_labels : list of str or dict by neuron, optional
        Names drawn beside the inputs and the outputs (for example the classes
        ``["cat", "dog", "llama", "lizard"]``), in input or output order.
    connection_color : {"weight", "contribution"}
        Colour and width by the weight, or (with a trace) by the contribution
        ``weight * value of the source`` for the sample.
    collapse_above : int or None
        A column with more neurons than this (at least 3) shows its first and
        last ``(collapse_above - 1) // 2`` neurons and one "+N more" node; the
        connections of the folded neurons are bundled into one dashed edge per
        pair of drawn nodes, labelled with their count. ``None`` draws all.
    collapse_columns_above : int or None
        A network with more columns than this (at least 3; a deep network
        without layers has one per level) shows its first and last
        ``(collapse_columns_above - 1) // 2`` columns around one folded column:
        a "+N more" node for every neuron in between, with bundled
        connections as above. A note over the diagram says which columns are
        folded. ``None`` draws every column.
    names : bool
        Write each neuron's id inside its circle (ids are always in the tooltip).
    weight_labels : bool
        Write each connection's weight (or contribution) on it; for small networks.
    legend : bool
        Add a legend under the diagram.
    title : str, optional
        A title over the diagram.

    Returns
    -------
    graphviz.Digraph
        Shows inline in Jupyter; write it with ``nngraph.render``.

    Examples
    --------
    >>> from nngraph.demo import lesson_model, SAMPLE
    >>> G = lesson_model().graph
    >>> dot = render_neurons(G, output_labels=["cat", "dog", "llama", "lizard"])
    >>> dot.source.count('class="neuron'), dot.source.count('class=connection')
    (24, 108)
    >>> from nngraph import run_reference
    >>> dot = render_neurons(G, trace=run_reference(G, SAMPLE), output_labels=["cat", "dog", "llama", "lizard"])
    >>> "z " in dot.source
    True
    """
    return neuron_diagram(G, trace=trace, sample=sample, input_labels=input_labels,
                          output_labels=output_labels, connection_color=connection_color,
                          collapse_above=collapse_above, collapse_columns_above=collapse_columns_above,
                          names=names, weight_labels=weight_labels, legend=legend, title=title,
                          sample_label=sample_label).dot


@dataclass(frozen=True)
class NeuronDiagram:
    """A drawn neuron diagram and what it was drawn from, so that a view can annotate it.

    ``links[i]`` is drawn as the edge with id ``link{i}``;
    each slot of ``layout`` is the node named by its ``key``.
    """

    dot: graphviz.Digraph
    graph: nx.DiGraph
    layout: Layout
    links: tuple[Link, ...]


def neuron_diagram(G: Any, *, trace: Trace | None = None, sample: int = 0,
                   input_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                   output_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                   connection_color: str = "weight", collapse_above: int | None = 10,
                   collapse_columns_above: int | None = COLUMNS_SHOWN, names: bool = False,
                   weight_labels: bool = False, legend: bool = True,
                   title: str | None = None, sample_label: str | None = None) -> NeuronDiagram:
    """``render_neurons``, keeping the validated graph, the layout and the links it drew."""
    graph, _ = network_of(G, function=FUNCTION)
    choice(FUNCTION, "connection_color", connection_color, CONNECTION_COLORS)
    if connection_color == "contribution" and trace is None:
        raise RenderError(f"{FUNCTION}: connection_color='contribution' needs a trace: "
                          "a contribution is weight * value of the source, for one sample")
    index = None if trace is None else check_trace(graph, trace, sample, function=FUNCTION)
    ends = (labels_for(graph, inputs(graph), input_labels, argument="input_labels", function=FUNCTION),
            labels_for(graph, outputs(graph), output_labels, argument="output_labels", function=FUNCTION))
    layout = lay_out(graph, collapse_above=collapse_above, geometry=_geometry(trace is not None, names),
                     collapse_columns_above=collapse_columns_above)
    shown = [slot.node for column in layout.columns for slot in column.slots if slot.node is not None]
    shown += [node for column in layout.columns for slot in column.slots for node in map_neurons(slot)]
    readings = None if trace is None else read_sample(trace, index, shown, label=sample_label)
    drawn = links(graph, layout, None if readings is None else readings.values)
    # Connections among the neurons of one "+N more" node would loop back to it: the node counts them.
    inner = {link.source.key: link.count for link in drawn if link.source is link.target}
    drawn = [link for link in drawn if link.source is not link.target]

    dot = _new_digraph(title, fold_note(layout))
    for column, caption in zip(layout.columns, captions(graph, layout)):
        _add_caption(dot, column, caption, layout)
        for slot in column.slots:
            if slot.feature_map is not None:
                add_feature_map(dot, slot, layer=column.column.name, readings=readings)
            elif slot.node is None:
                add_folded(dot, slot, inner=inner.get(slot.key, 0))
            else:
                add_neuron(dot, graph, slot, diameter=layout.geometry.diameter, readings=readings,
                           names=names)
    add_links(dot, drawn, routes(layout, drawn), by=connection_color, weight_labels=weight_labels,
              radius=layout.geometry.diameter / 2)
    add_end_labels(dot, graph, layout, ends, readings)
    if legend:
        bundles = any(link.edge is None for link in drawn)
        height = legend_height(readings, bundles=bundles)
        # Pinned under the lowest neuron, clear of it.
        y = layout.bottom - layout.geometry.diameter / 2 - 0.3 - height / 2
        dot.node("legend", neuron_legend(readings, by=connection_color, bundles=bundles),
                 shape="plaintext", fontsize="10", pos=pos(layout.columns[-1].x / 2, y),
                 **{"class": "legend"})
    return NeuronDiagram(dot, graph, layout, tuple(drawn))


def _geometry(values: bool, names: bool) -> Geometry:
    """Bigger circles when they hold numbers or names, and room between columns to match."""
    diameter = 0.4 + 0.45 * values + 0.3 * names
    return Geometry(column_gap=2.0 + diameter, row_gap=diameter + 0.2 + 0.05 * values,
                    diameter=diameter)


def _new_digraph(title: str | None, note: str | None) -> graphviz.Digraph:
    dot = graphviz.Digraph("neurons")
    # Every position is pinned and skip connections bend through the gaps we chose,
    # so Graphviz only draws straight segments: fast, and the textbook look.
    dot.attr(layout="nop2", splines="line", outputorder="edgesfirst",
             bgcolor="white", pad="0.3", fontname=style.FONT)
    dot.attr("node", fontname=style.FONT, fontcolor=style.INK, color=style.INK)
    dot.attr("edge", fontname=style.FONT, dir="none")
    label = style.diagram_label(title, note)
    if label:
        dot.attr(label=label, labelloc="t", fontsize="16")
    return dot


def fold_note(layout: Layout) -> str | None:
    """What the picture leaves out when it folds middle columns, and how to draw them all; else ``None``.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> G = lesson_model().graph
    >>> fold_note(lay_out(G, collapse_above=10, geometry=_geometry(False, False), collapse_columns_above=3))
    '4 columns: the 2 from dense to dense_1 are folded into one (collapse_columns_above=None draws them all)'
    """
    fold = layout.fold
    if fold is None:
        return None
    first, last = fold.folded[0].name, fold.folded[-1].name
    return (f"{layout.column_count:,} columns: the {len(fold.folded):,} from {first} to {last} are folded "
            "into one (collapse_columns_above=None draws them all)")


def captions(G: nx.DiGraph, layout: Layout) -> list[tuple[str, str, str]]:
    """Each column's caption as (title, detail, layer name).

    Columns of a graph with layers are the input, hidden and output layers;
    otherwise they are named by level.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> G = lesson_model().graph
    >>> captions(G, lay_out(G, collapse_above=10, geometry=_geometry(False, False)))[1]
    ('hidden layer 1', '6 neurons, relu', 'dense')
    """
    result = []
    hidden = 0
    last = len(layout.columns) - 1
    for shown in layout.columns:
        column = shown.column
        count = len(column.nodes)
        if shown.folded:
            kind = "layers" if is_layer(G, shown.folded[0]) else "levels"
            result.append((f"{len(shown.folded):,} {kind} folded",
                           f"{style.count(count, 'neuron')}, {column.activation}", column.name))
            continue
        if column.role == INPUT:
            shaped = f" ({'×'.join(map(str, shown.shape))})" if shown.shape else ""
            result.append(("input layer", style.count(count, "input") + shaped, ""))
            continue
        detail = f"{style.count(count, 'neuron')}, {column.activation}"
        if shown.shape:
            spatial = "×".join(map(str, shown.shape[:-1]))
            detail = f"{style.count(shown.shape[-1], 'map')} of {spatial}, {column.activation}"
        if not is_layer(G, column):
            result.append((column.name + " (outputs)" * (column.role == OUTPUT), detail, ""))
        elif shown.index == last and column.role == OUTPUT:
            result.append(("output layer", detail, column.name))
        else:
            hidden += 1
            result.append((f"hidden layer {hidden}", detail, column.name))
    return result


def _add_caption(dot: graphviz.Digraph, column: ShownColumn, caption: tuple[str, str, str],
                 layout: Layout) -> None:
    title, detail, name = caption
    # Every caption has three lines (the third may be blank), so that their titles line up.
    lines = [f"<b>{style.text(title)}</b>", style.text(detail),
             f'<font point-size="10" color="{style.MUTED}">{style.text(name) or "&#160;"}</font>']
    dot.node(f"caption{column.index}", "<" + "<br/>".join(lines) + ">", shape="plaintext",
             fontsize="12", pos=pos(column.x, layout.top + layout.geometry.diameter / 2 + 0.55),
             **{"class": "caption"})
