"""The numbers behind the interactive HTML view: what each drawn neuron, "+N more" node and edge stands for.

The page's script reads one JSON document, made here by ``view_data``. Only what
is drawn is stored, so a page of a 784-512-512-10 network with a hundred
samples stays small: for each drawn neuron its name, layer, activation, bias
and the incoming connections its panel names; for each sample of the trace its
weighted sum ``z``, its value ``a``, the largest terms ``weight * value`` of
its weighted sum (``TERMS`` of them) and the sum of the others; for each
"+N more" node what it stands for and, per sample, the range of its values;
for each drawn edge its weight and, per sample, its contribution.

Numbers are rounded here, once, to ``DIGITS`` significant digits, and the page
shows them as they are: so the panel's numbers are the trace's weighted sums
and values to that precision. Text the diagram draws (the numbers in the
circles, output labels, the legend's scale) is formatted here too, with the
same functions the SVG diagram uses, so the page never formats a number of
its own differently.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from nngraph.core.activations import resolve_activation
from nngraph.execute.trace import Trace
from nngraph.core.network import ACTIVATION, BIAS, INPUT, LAYER, ROLE, WEIGHT, outputs
from nngraph.render import style
from nngraph.render.layout import Layout, Slot
from nngraph.render.neurons import NeuronDiagram, captions
from nngraph.render.slots import end_label_text, is_probability, predicted_outputs
from nngraph.render.values import Readings, read_sample
from nngraph.core.validate import softmax_groups

#: Significant digits of every number the panel shows.
DIGITS = 4
#: How many terms of a weighted sum the panel writes out; the rest are summed into one.
TERMS = 8

Number = float | str


def rounded(value: float) -> Number:
    """``value`` to ``DIGITS`` significant digits, as JSON holds it (NaN and infinities as the
    strings JavaScript's ``Number()`` reads, since JSON has no such numbers).

    Examples
    --------
    >>> rounded(1.30712), rounded(-0.0), rounded(float("nan")), rounded(-float("inf"))
    (1.307, 0.0, 'NaN', '-Infinity')
    """
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(f"{value:.{DIGITS}g}") if value else 0.0


def _rounded_all(values: np.ndarray) -> list[Number]:
    return [rounded(value) for value in values.tolist()]


def name_of(node: Hashable) -> str:
    """A neuron's name in the view: its string form, as on the command line and in tooltips."""
    return str(node)


def _largest_first(terms: np.ndarray) -> np.ndarray:
    """Column indices of each row of ``terms``, largest ``|term|`` first (NaN first of all: it explains
    a NaN sum), ties in connection order."""
    size = np.where(np.isnan(terms), np.inf, np.abs(terms))
    return np.argsort(-size, axis=-1, kind="stable")


def _activation(data: Mapping[str, Any]) -> dict[str, object]:
    activation = resolve_activation(data.get(ACTIVATION, "linear"))
    params = ", ".join(f"{key}={value:g}" for key, value in activation.params)
    return {"activation": activation.name, "kind": activation.kind, "params": params,
            "groupWise": activation.group_wise}


def _weighted_sum(G: nx.DiGraph, node: Hashable, trace: Trace | None) -> dict[str, object]:
    """What the panel writes out for ``node``'s weighted sum: its incoming connections that it names
    (``in``: source and weight, largest ``|weight|`` first) and, with a trace, for each sample the
    largest ``TERMS`` terms (index into ``in``, value of the source, ``weight * value``), the sum of
    the others (``rest``) and the weighted sum ``z``."""
    sources = [source for source, _ in G.in_edges(node)]
    weights = np.array([weight for _, _, weight in G.in_edges(node, data=WEIGHT)], dtype=float)
    by_weight = _largest_first(weights)
    result: dict[str, object] = {"fanIn": len(sources)}
    if trace is None:  # the formula with weights only: the largest weights
        named = by_weight[:TERMS].tolist()
    else:
        values = trace.values[:, [trace.columns[source] for source in sources]]
        terms = values * weights
        order = _largest_first(terms)[:, :TERMS]
        rest = terms.copy()
        np.put_along_axis(rest, order, 0.0, axis=1)
        in_order = set(order.ravel().tolist())
        named = [j for j in by_weight.tolist() if j in in_order]
        position = {j: k for k, j in enumerate(named)}
        result["terms"] = [[[position[j], rounded(values[s, j]), rounded(terms[s, j])] for j in row]
                           for s, row in enumerate(order.tolist())]
        result["rest"] = _rounded_all(rest.sum(axis=1))
        result["z"] = _rounded_all(trace.weighted_sums[:, trace.columns[node]])
    result["in"] = [[name_of(sources[j]), rounded(weights[j])] for j in named]
    return result


def _neuron(G: nx.DiGraph, slot: Slot, caption: str, trace: Trace | None,
            labels: Mapping[Hashable, str]) -> dict[str, object]:
    """A drawn neuron: who it is, its value per sample, and what its weighted sum is made of."""
    node = slot.node
    data = G.nodes[node]
    entry: dict[str, object] = {"key": slot.key, "name": name_of(node), "role": data[ROLE],
                                "column": caption}
    if node in labels:
        entry["label"] = labels[node]
    if trace is not None:
        entry["a"] = _rounded_all(trace.values[:, trace.columns[node]])
    if data[ROLE] == INPUT:
        return entry
    layer = data.get(LAYER)
    entry.update(_activation(data), layer=None if layer is None else str(layer),
                 bias=rounded(data.get(BIAS, 0.0)), probability=is_probability(G, node))
    if entry["groupWise"]:
        entry["groupSize"] = len(softmax_groups(G)[layer])
    entry.update(_weighted_sum(G, node, trace))
    return entry


def _folded(diagram: NeuronDiagram, slot: Slot, caption: str, trace: Trace | None) -> dict[str, object]:
    """A "+N more" node: how many neurons it stands for, which, and (per sample) the range of their values."""
    G = diagram.graph
    nodes = slot.folded
    activations = {resolve_activation(G.nodes[node].get(ACTIVATION, "linear")).name
                   for node in nodes if G.nodes[node][ROLE] != INPUT}
    layers = {str(G.nodes[node].get(LAYER)) for node in nodes if G.nodes[node].get(LAYER) is not None}
    entry: dict[str, object] = {
        "key": slot.key, "folded": True, "count": len(nodes), "column": caption,
        "first": name_of(nodes[0]), "last": name_of(nodes[-1]),
        "roles": sorted({G.nodes[node][ROLE] for node in nodes}),
        "layer": layers.pop() if len(layers) == 1 else None,
        "activation": (activations.pop() if len(activations) == 1 else "mixed") if activations else None,
        "fanIn": sum(degree for _, degree in G.in_degree(nodes)),
        "fanOut": sum(degree for _, degree in G.out_degree(nodes)),
    }
    if trace is not None:
        values = trace.values[:, [trace.columns[node] for node in nodes]]
        top = _largest_first(values)[:, 0]
        entry["low"] = _rounded_all(values.min(axis=1))
        entry["mean"] = _rounded_all(values.mean(axis=1))
        entry["high"] = _rounded_all(values.max(axis=1))
        entry["largest"] = [[name_of(nodes[j]), rounded(values[s, j])] for s, j in enumerate(top.tolist())]
    return entry


def _bundle_contributions(diagram: NeuronDiagram, trace: Trace, bundles: Sequence[int]) -> np.ndarray:
    """Each bundle's summed contribution ``weight * value of the source`` for every sample:
    shape ``(samples, len(bundles))``. One pass over the connections, then one sparse product."""
    G, slot_of = diagram.graph, diagram.layout.slot_of
    slots = {key: k for k, key in enumerate(dict.fromkeys(slot.key for slot in slot_of.values()))}
    slot_index = {node: slots[slot.key] for node, slot in slot_of.items()}
    # bundle_of[source slot, target slot]: the bundle's position in ``bundles``, or -1.
    bundle_of = np.full((len(slots), len(slots)), -1)
    for k, i in enumerate(bundles):
        bundle_of[slots[diagram.links[i].source.key], slots[diagram.links[i].target.key]] = k
    sources, targets, weights = [], [], []
    for source, neighbours in G.adjacency():
        sources.append(np.full(len(neighbours), trace.columns[source]))
        targets.append(np.array([slot_index[target] for target in neighbours], dtype=int))
        weights.append(np.array([data[WEIGHT] for data in neighbours.values()], dtype=float))
    sources_, targets_, weights_ = (np.concatenate(parts) for parts in (sources, targets, weights))
    column_slots = np.empty(len(trace.columns), dtype=int)  # trace column -> slot
    for node, column in trace.columns.items():
        column_slots[column] = slot_index[node]
    bundle = bundle_of[column_slots[sources_], targets_]
    keep = bundle >= 0
    by_source = sparse.csr_array((weights_[keep], (sources_[keep], bundle[keep])),
                                 shape=(trace.values.shape[1], len(bundles)))
    return (by_source.T @ trace.values.T).T


def _links(diagram: NeuronDiagram, trace: Trace | None) -> list[dict[str, object]]:
    """Each drawn edge (``link{i}`` in the SVG): its ends, count and weight, and per sample its contribution."""
    result: list[dict[str, object]] = []
    for link in diagram.links:
        result.append({"source": link.source.key, "target": link.target.key, "count": link.count,
                       "weight": rounded(link.weight)})
    if trace is None:
        return result
    bundles = [i for i, link in enumerate(diagram.links) if link.edge is None]
    contributions = _bundle_contributions(diagram, trace, bundles) if bundles else None
    for i, link in enumerate(diagram.links):
        if link.edge is not None:
            source, target = link.edge
            column = trace.values[:, trace.columns[source]] * diagram.graph.edges[source, target][WEIGHT]
            result[i]["contribution"] = _rounded_all(column)
    for k, i in enumerate(bundles):
        result[i]["contribution"] = _rounded_all(contributions[:, k])
    return result


def _drawn_text(diagram: NeuronDiagram, node: Hashable, readings: Readings) -> list[str]:
    """The lines a neuron's circle shows for one sample, exactly as ``slots.add_neuron`` writes them."""
    value = readings.values[node]
    if diagram.graph.nodes[node][ROLE] == INPUT:
        return [style.number(value)]
    symbol = "p" if is_probability(diagram.graph, node) else "a"
    return [f"z {style.number(readings.weighted_sums[node])}", f"{symbol} {style.number(value)}"]


def _per_sample(diagram: NeuronDiagram, trace: Trace, entries: Mapping[str, dict[str, object]],
                output_labels: Mapping[Hashable, str]) -> dict[str, object]:
    """What the drawing shows for each sample: fills, numbers in circles, output labels, the legend's scale."""
    G, layout = diagram.graph, diagram.layout
    shown = [slot for column in layout.columns for slot in column.slots if slot.node is not None]
    labelled = [node for node in output_labels if layout.slot_of[node].node is not None]
    for slot in shown:
        entries[slot.key].update(fill=[], light=[], text=[])
    # predicted_outputs reads every node (ties go to the first): give it the outputs alone, in order.
    output_graph = nx.DiGraph()
    output_graph.add_nodes_from((node, G.nodes[node]) for node in outputs(G))
    labels: list[dict[str, object]] = [{"key": f"output_label{index}", "text": [], "bold": []}
                                       for index in range(len(labelled))]
    scale: list[list[str]] = []
    for sample in range(trace.batch_size):
        readings = read_sample(trace, sample, [slot.node for slot in shown])
        for slot in shown:
            value = readings.values[slot.node]
            entry = entries[slot.key]
            entry["fill"].append(style.value_fill(value, readings.largest))
            entry["light"].append(style.ink_on(value, readings.largest) == style.WHITE)
            entry["text"].append(_drawn_text(diagram, slot.node, readings))
        best = predicted_outputs(output_graph, readings)
        for label, node in zip(labels, labelled):
            label["text"].append(end_label_text(G, node, output_labels[node], readings, True))
            label["bold"].append(node in best)
        scale.append([style.number(-readings.largest), style.number(readings.largest)])
    return {"outputLabels": labels, "scale": scale}


def view_data(diagram: NeuronDiagram, *, trace: Trace | None, sample: int,
              input_labels: Mapping[Hashable, str], output_labels: Mapping[Hashable, str]) -> dict[str, object]:
    """The JSON document the page's script reads: see the module's docstring.

    Examples
    --------
    >>> from nngraph import run_reference
    >>> from nngraph.demo import lesson_model, SAMPLE
    >>> from nngraph.render.neurons import neuron_diagram
    >>> G = lesson_model().graph
    >>> trace = run_reference(G, SAMPLE)
    >>> data = view_data(neuron_diagram(G, trace=trace), trace=trace, sample=0, input_labels={},
    ...                  output_labels={})
    >>> neuron = next(entry for entry in data["neurons"] if entry["name"] == "dense/0")
    >>> neuron["z"], neuron["a"], neuron["activation"], len(neuron["in"])
    ([1.307], [1.307], 'relu', 8)
    """
    layout: Layout = diagram.layout
    titles = [title for title, _, _ in captions(diagram.graph, layout)]
    labels = {**input_labels, **output_labels}
    entries: dict[str, dict[str, object]] = {}
    for column, title in zip(layout.columns, titles):
        for slot in column.slots:
            entries[slot.key] = (_neuron(diagram.graph, slot, title, trace, labels) if slot.node is not None
                                 else _folded(diagram, slot, title, trace))
    data: dict[str, object] = {"samples": 0 if trace is None else trace.batch_size, "sample": sample,
                               "digits": DIGITS, "terms": TERMS}
    if trace is not None:
        data.update(_per_sample(diagram, trace, entries, output_labels))
    data["neurons"] = list(entries.values())
    data["links"] = _links(diagram, trace)
    return data
