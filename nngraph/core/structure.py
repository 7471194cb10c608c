"""Facts about a validated network's shape: each neuron's level, the columns people see, and the
positions of each layer's output.

The compiler schedules by level, the trace prints by column and the renderer
draws by column, so these facts are computed once, here; a trace reads whole
layers by position (``trace.layer_values``) from the graph's layer records.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from nngraph.core.activations import resolve_activation
from nngraph.core.network import ACTIVATION, DEFAULT_ACTIVATION, INPUT, LAYER, OUTPUT, ROLE, inputs, position_ids


def levels(G: nx.DiGraph) -> dict[Hashable, int]:
    """Return each neuron's level: 0 for inputs, else one more than its deepest predecessor.

    This is the longest path from the inputs; a neuron without incoming
    connections is on level 1. The dict is in topological order (by level).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("h", role="hidden"); G.add_node("y", role="output")
    >>> G.add_edge("x", "h", weight=1.0); G.add_edge("h", "y", weight=1.0); G.add_edge("x", "y", weight=1.0)
    >>> levels(G)
    {'x': 0, 'h': 1, 'y': 2}
    """
    level: dict[Hashable, int] = {}
    roles = G.nodes(data=ROLE)
    # Neurons fed by the same predecessors (a whole Dense layer) share a level: it is computed
    # once per predecessor tuple, so a layered network costs a pass over its neurons, not over
    # every connection. A depth-first walk over predecessors finds the rest.
    by_sources: dict[tuple[Hashable, ...], int] = {}
    expanding: set[Hashable] = set()
    for root in G:
        stack = [root]
        while stack:
            node = stack[-1]
            if node in level:
                stack.pop()
                continue
            if roles[node] == INPUT:
                level[node] = 0
                stack.pop()
                continue
            sources = tuple(G.pred[node])
            known = by_sources.get(sources)
            if known is None:
                waiting = [source for source in sources if source not in level]
                if waiting:
                    if node in expanding or not expanding.isdisjoint(waiting):
                        raise nx.NetworkXUnfeasible("the graph contains a cycle")
                    expanding.add(node)
                    stack.extend(waiting)
                    continue
                known = by_sources[sources] = 1 + max((level[source] for source in sources), default=0)
            level[node] = known
            expanding.discard(node)
            stack.pop()
    return dict(sorted(level.items(), key=lambda item: item[1]))


def contract(G: nx.DiGraph, groups: Iterable[Sequence[Hashable]]) -> nx.DiGraph:
    """``G`` with each group of neurons merged into one node, for ordering groups as units.

    A group's node is the tuple of its members; every other neuron stands as a
    1-tuple, so no node can clash with a neuron's own id. A connection inside a
    group becomes a self-loop.

    Examples
    --------
    >>> G = nx.DiGraph([("x", "a"), ("x", "b"), ("a", "y")])
    >>> sorted(contract(G, [("a", "b")]).edges)
    [(('a', 'b'), ('y',)), (('x',), ('a', 'b'))]
    """
    unit_of = {node: tuple(members) for members in groups for node in members}
    contracted = nx.DiGraph()
    contracted.add_nodes_from(unit_of.get(node, (node,)) for node in G.nodes)
    contracted.add_edges_from((unit_of.get(u, (u,)), unit_of.get(v, (v,))) for u, v in G.edges)
    return contracted


@dataclass(frozen=True)
class Column:
    """A column of the picture and of the trace table: a layer, or a level for graphs without layers.

    ``name`` is the layer name, ``"input"`` for the inputs, or ``"level N"``;
    ``role`` is ``"input"``, ``"hidden"`` or ``"output"`` (``"output"`` when every
    neuron in it is an output); ``activation`` is the shared activation or ``"mixed"``.
    """

    name: str
    role: str
    nodes: tuple[Hashable, ...]
    activation: str | None
    level: int


def columns(G: nx.DiGraph, *, level: Mapping[Hashable, int] | None = None) -> list[Column]:
    """Split a validated network into display columns, left to right.

    Inputs come first. If every computed neuron names a ``layer``, there is one column per layer
    (the groups of a group-wise activation over positions, ``dense[2,3]``, are the layer ``dense``:
    see ``group_base``); otherwise there is one column per level. Columns are ordered by their
    shallowest neuron's level, then by first appearance; neurons keep their declaration order
    within a column. ``level`` may pass in ``levels(G)`` when the caller has it.
    """
    if level is None:
        level = levels(G)
    data = G.nodes
    input_nodes = inputs(G)
    others = [node for node in G.nodes if data[node][ROLE] != INPUT]
    by_layer = all(data[node].get(LAYER) is not None for node in others)
    grouped: dict[object, list[Hashable]] = {}
    for node in others:
        key = group_base(data[node][LAYER]) if by_layer else level[node]
        grouped.setdefault(key, []).append(node)
    result = [Column("input", INPUT, tuple(input_nodes), None, 0)]
    ordered = sorted(grouped.items(), key=lambda item: min(level[n] for n in item[1]))
    for key, nodes in ordered:
        activations = {resolve_activation(data[n].get(ACTIVATION, DEFAULT_ACTIVATION), node=n).name for n in nodes}
        role = OUTPUT if all(data[n][ROLE] == OUTPUT for n in nodes) else "hidden"
        name = key if by_layer else f"level {key}"
        result.append(Column(str(name), role, tuple(nodes),
                             activations.pop() if len(activations) == 1 else "mixed",
                             min(level[n] for n in nodes)))
    return result


def group_base(layer: str) -> str:
    """The layer a group-wise group belongs to: ``"dense[2,3]"`` (the softmax over position (2, 3)
    of layer ``dense``) -> ``"dense"``; other names are their own.

    Examples
    --------
    >>> group_base("dense[2,3]"), group_base("dense")
    ('dense', 'dense')
    """
    if layer.endswith("]") and "[" in layer:
        return layer[:layer.rindex("[")]
    return layer


def inner_neurons(G: nx.DiGraph) -> dict[str, tuple[str, list[Hashable]]]:
    """The neurons each layer record computes before its output (LayerNormalization's normalised
    values), by the name of their display column where they share one (their ``layer``,
    ``layer_normalization/normalized``; ``"<layer> (inside)"`` otherwise): ``(record name,
    neurons)``."""
    found = {}
    for record in G.graph.get("layers") or []:
        neurons = list(record["neurons"])
        shape = _shape(record["output_shape"])
        size = math.prod(shape) if shape else len(neurons)
        if 0 < size < len(neurons):
            inner = neurons[:-size]
            names = {group_base(str(G.nodes[node].get(LAYER, ""))) for node in inner}
            name = names.pop() if len(names) == 1 and "" not in names else f"{record['name']} (inside)"
            found[name] = (record["name"], inner)
    return found


@dataclass(frozen=True)
class LayerPositions:
    """A layer's output by position, as a builder shaped it: ``name``, ``kind``, ``shape`` (Keras'
    output shape without the batch axis) and ``nodes``, its output neurons in C order (the last
    axis varies fastest), so that ``nodes`` reshaped to ``shape`` is the layer's output."""

    name: str
    kind: str
    shape: tuple[int, ...]
    nodes: tuple[Hashable, ...]


def layer_positions(G: nx.DiGraph) -> tuple[LayerPositions, ...]:
    """The output positions of every layer the graph's ``layers`` records describe, the inputs first.

    A record lists the neurons its layer computes, its output last (so a layer with neurons
    inside, such as LayerNormalization's normalised values, lists those first): its output is
    the last ``prod(output_shape)`` of them. A layer that only renames positions (Flatten,
    Reshape, Dropout) lists none and hands on the layer before it in its own shape. The inputs,
    named ``"input"``, take the first record's input shape (in the positions their builder names
    say, whatever order they take their features in: ``reordered``). Records written by other hands need
    not chain so: a layer whose shape does not fit its neurons is read as the flat list of them
    (the inputs too), and a renaming layer whose shape does not fit the layer before it has no
    positions. A graph without records has none.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Conv2D, Flatten
    >>> model = Sequential([Conv2D(2, 3, input_shape=(4, 4, 1)), Flatten()])
    >>> [(layer.name, layer.shape, layer.nodes[1]) for layer in layer_positions(model.graph)]
    [('input', (4, 4, 1), 'input/0,1,0'), ('conv2d', (2, 2, 2), 'conv2d/0,0,1'), ('flatten', (8,), 'conv2d/0,0,1')]
    """
    records = G.graph.get("layers") or []
    if not records:
        return ()
    input_nodes = tuple(inputs(G))
    shape = _shape(records[0]["input_shape"])
    if _fits(shape, input_nodes):
        # By name where the builders named them: an import from a channels-first library (PyTorch,
        # ONNX) takes its features in that library's order, while the shape is channels-last.
        named = tuple(position_ids("input", shape).reshape(-1).tolist())
        if set(named) == set(input_nodes):
            input_nodes = named
    result = [LayerPositions("input", "Input", shape if _fits(shape, input_nodes) else (len(input_nodes),),
                             input_nodes)]
    for record in records:
        shape = _shape(record["output_shape"])
        neurons = tuple(record["neurons"])
        if neurons:
            size = math.prod(shape)
            if size <= len(neurons) and shape:
                result.append(LayerPositions(record["name"], record["kind"], shape, neurons[len(neurons) - size:]))
            else:
                result.append(LayerPositions(record["name"], record["kind"], (len(neurons),), neurons))
        elif _fits(shape, result[-1].nodes):
            result.append(LayerPositions(record["name"], record["kind"], shape, result[-1].nodes))
    return tuple(result)


def _shape(keras_shape: Sequence[int | None]) -> tuple[int, ...]:
    """A Keras shape without its batch axis (the leading None)."""
    return tuple(size for size in keras_shape[1:] if size is not None)


def _fits(shape: tuple[int, ...], nodes: Sequence[Hashable]) -> bool:
    return bool(shape) and math.prod(shape) == len(nodes)
