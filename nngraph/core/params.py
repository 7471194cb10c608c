"""Tied numbers: connections and biases that share a name hold one number, counted and written once.

A connection's ``param`` and a neuron's ``bias_param`` name a number; one name is one number
wherever it appears (a convolution kernel's entry at every position, one scale per channel, a
recurrent weight at every time step). ``validate`` refuses tied copies that differ; the helpers
here find the copies (``tied``), count every number once (``count_params``) and write a number
to all its copies (``set_param``, ``assign``; ``assign_lists`` for a layer's hundreds of
thousands), so that a graph stays valid.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from nngraph.core.dtypes import PLAIN_NUMBERS, all_finite
from nngraph.core.network import BIAS, BIAS_PARAM, DEFAULT_BIAS, INPUT, PARAM, ROLE, WEIGHT, computed
from nngraph.errors import ArgumentError, NetworkError

Edge = tuple[Hashable, Hashable]


@dataclass(frozen=True)
class Place:
    """Where a tied number sits: the weight of connection ``edge``, or the bias of neuron ``node``."""

    edge: Edge | None = None
    node: Hashable | None = None

    def value(self, G: nx.DiGraph) -> object:
        """The number stored here."""
        if self.edge is not None:
            return G._adj[self.edge[0]][self.edge[1]].get(WEIGHT)
        return G._node[self.node].get(BIAS, DEFAULT_BIAS)

    def label(self) -> str:
        """``connection 'a' -> 'b'`` or ``the bias of neuron 'c'``."""
        if self.edge is not None:
            return f"connection {self.edge[0]!r} -> {self.edge[1]!r}"
        return f"the bias of neuron {self.node!r}"

    def describe(self, G: nx.DiGraph) -> str:
        """``connection 'a' -> 'b' (weight 0.5)`` or ``the bias of neuron 'c' (0.25)``."""
        what = "weight " if self.edge is not None else ""
        return f"{self.label()} ({what}{self.value(G)!r})"


@dataclass(frozen=True)
class Ties:
    """Every name of a graph and where it sits, as plain edges and neurons: ``connections[name]``
    in edge order, ``biases[name]`` in node order. What ``tied`` gives as ``Place`` objects, for the
    readers that go through every copy of hundreds of thousands (a convolution's kernel entries)."""

    connections: Mapping[str, list[Edge]]
    biases: Mapping[str, list[Hashable]]

    def names(self) -> list[str]:
        """Every name once: the connections' first, then the biases' new ones."""
        return list(dict.fromkeys([*self.connections, *self.biases]))


def ties(G: nx.DiGraph, *, connections: bool = True) -> Ties:
    """The names of ``G`` and their copies (see ``Ties``); a name that is not a non-empty str is
    refused, naming its connection or neuron. ``connections=False`` skips the connections.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("x", "a", weight=0.5, param="k"); G.add_edge("x", "b", weight=0.5, param="k")
    >>> ties(G).connections["k"]
    [('x', 'a'), ('x', 'b')]
    """
    edges: dict[str, list[Edge]] = {}
    if connections:
        # Most connections hold their weight alone: one length test each skips them.
        named = [(data[PARAM], (source, target)) for source, targets in G._adj.items()
                 for target, data in targets.items() if len(data) > 1 and PARAM in data]
        for name, edge in named:
            # A cheap test per connection (a convolution has hundreds of thousands); words only for a culprit.
            if type(name) is not str or not name:
                _refuse_name(name, f"connection {edge[0]!r} -> {edge[1]!r}: param", edge=edge)
            edges.setdefault(name, []).append(edge)
    nodes: dict[str, list[Hashable]] = {}
    for node, name in G.nodes(data=BIAS_PARAM):
        if name is not None:
            if type(name) is not str or not name:
                _refuse_name(name, f"neuron {node!r}: bias_param", node=node)
            nodes.setdefault(name, []).append(node)
    return Ties(edges, nodes)


def tied(G: nx.DiGraph, *, connections: bool = True) -> dict[str, list[Place]]:
    """Every name of ``G`` and the places it ties: connections in edge order, then biases in node order.

    ``connections=False`` skips the connections (``validate`` does when none carries more than
    its weight).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("x", "a", weight=0.5, param="k"); G.add_edge("x", "b", weight=0.5, param="k")
    >>> [place.edge for place in tied(G)["k"]]
    [('x', 'a'), ('x', 'b')]
    """
    found = ties(G, connections=connections)
    return {name: [Place(edge=edge) for edge in found.connections.get(name, ())]
            + [Place(node=node) for node in found.biases.get(name, ())] for name in found.names()}


def first_difference(G: nx.DiGraph, *, connections: bool = True,
                     neurons: Sequence[Hashable] | None = None) -> tuple[str, Place, Place] | None:
    """The first name whose copies differ, with its first place and the first that differs from it;
    None when every name holds one number. ``connections=False`` skips the connections; ``neurons``:
    the only neurons that may carry a ``bias_param``, in ``G``'s order (by default every neuron).

    One pass over the connections (those that hold their weight alone are skipped by one length
    test) and one over the neurons, keeping the first number of each name: a convolution's
    millions of copies cost no list of their own. Names that are not non-empty strs are refused.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("x", "a", weight=0.5, param="k"); G.add_edge("x", "b", weight=0.25, param="k")
    >>> name, first, other = first_difference(G)
    >>> name, other.edge
    ('k', ('x', 'b'))
    """
    seen: dict[str, object] = {}
    if connections:
        for source, targets in G._adj.items():
            for target, data in targets.items():
                if len(data) > 1:
                    name = data.get(PARAM)
                    if name is None:
                        continue
                    if type(name) is not str or not name:
                        _refuse_name(name, f"connection {source!r} -> {target!r}: param", edge=(source, target))
                    value = data.get(WEIGHT)
                    if seen.setdefault(name, value) != value:
                        return _difference(G, name, connections=connections)
    for node, data in G._node.items() if neurons is None else zip(neurons, map(G._node.__getitem__, neurons)):
        name = data.get(BIAS_PARAM)
        if name is None:
            continue
        if type(name) is not str or not name:
            _refuse_name(name, f"neuron {node!r}: bias_param", node=node)
        value = data.get(BIAS, DEFAULT_BIAS)
        if seen.setdefault(name, value) != value:
            return _difference(G, name, connections=connections)
    return None


def _difference(G: nx.DiGraph, name: str, *, connections: bool) -> tuple[str, Place, Place]:
    """``name``'s first place and the first of its places that holds another number."""
    places = tied_places(ties(G, connections=connections), name)
    first = places[0].value(G)
    return name, places[0], next(place for place in places if place.value(G) != first)


def tied_places(found: Ties, name: str) -> list[Place]:
    """The places ``name`` ties, connections first."""
    return ([Place(edge=edge) for edge in found.connections.get(name, ())]
            + [Place(node=node) for node in found.biases.get(name, ())])


def _refuse_name(name: object, what: str, **culprit: object) -> None:
    """Refuse ``name`` unless it is a non-empty str (a subclass of str passes, as ``isinstance`` says)."""
    if not isinstance(name, str) or not name:
        raise NetworkError(f"{what} must be a name (a non-empty str), got {name!r}", **culprit)


def count_params(G: nx.DiGraph, neurons: Iterable[Hashable] | None = None, *,
                 without_bias: Iterable[Hashable] = (), names: Ties | None = None) -> int:
    """How many numbers the incoming weights and the biases of ``neurons`` hold, a tied number once.

    ``neurons`` defaults to every computed neuron; the biases of ``without_bias`` are no
    parameters (a layer without bias keeps them at 0.0). A name tying numbers inside and outside
    ``neurons`` counts once here too. ``names`` may pass in ``ties(G)`` when the caller has it.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x")
    >>> for y in ("y0", "y1"):
    ...     _ = nngraph.add_neuron(G, nngraph.Neuron(y, role="output", bias_param="b"))
    ...     _ = nngraph.connect(G, "x", y, 0.5, param="w")
    >>> count_params(G)  # four numbers in the graph, two of them distinct
    2
    """
    selected = computed(G) if neurons is None else list(neurons)
    return count_params_of(G, [selected], without_bias=without_bias, names=names)[0]


def count_params_of(G: nx.DiGraph, groups: Sequence[Iterable[Hashable]], *, without_bias: Iterable[Hashable] = (),
                    names: Ties | None = None) -> list[int]:
    """``count_params`` for several groups of neurons that share none, in one pass over the tied copies.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x")
    >>> for y in ("y0", "y1", "y2"):
    ...     _ = nngraph.add_neuron(G, nngraph.Neuron(y, role="output"))
    ...     _ = nngraph.connect(G, "x", y, 0.5, param="w")
    >>> count_params_of(G, [["y0", "y1"], ["y2"]])  # w once in each group, and each bias
    [3, 2]
    """
    unbiased = set(without_bias)
    group_of: dict[Hashable, int] = {}
    counts = []
    for index, group in enumerate(groups):
        chosen = list(dict.fromkeys(group))
        group_of.update(dict.fromkeys(chosen, index))
        biased = sum(1 for node in chosen if node not in unbiased and G._node[node].get(ROLE) != INPUT)
        counts.append(sum(len(G._pred[node]) for node in chosen) + biased)
    found = ties(G) if names is None else names
    for name in found.names():
        inside = [0] * len(counts)
        for _, target in found.connections.get(name, ()):
            index = group_of.get(target)
            if index is not None:
                inside[index] += 1
        for node in found.biases.get(name, ()):
            index = group_of.get(node)
            if index is not None and node not in unbiased:
                inside[index] += 1
        for index, number in enumerate(inside):
            counts[index] -= max(number - 1, 0)
    return counts


def _finite(value: object, what: str) -> float:
    if not _finite_number(value):
        raise NetworkError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _finite_number(value: object) -> bool:
    """Whether ``value`` is a real number, not a bool, and finite (``numbers.Real``'s test)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def _first_bad(values: list) -> int | None:
    """The index of the first of ``values`` that is not a finite number, or None.

    Layers write hundreds of thousands at once: one scan of their types and one finiteness test of
    them all; each value is tested alone only when that finds a culprit (or an unusual kind of
    number, such as a ``Fraction``).
    """
    kinds = set(map(type, values))
    if kinds <= PLAIN_NUMBERS and all_finite(values, kinds):
        return None
    return next((index for index, value in enumerate(values) if not _finite_number(value)), None)


def _floats(values: list) -> list[float]:
    """``values``, finite numbers all, as Python floats."""
    kinds = set(map(type, values))
    if kinds <= {float}:
        return values
    if kinds <= PLAIN_NUMBERS:
        return np.asarray(values, dtype=float).tolist()
    return [float(value) for value in values]


def set_param(G: nx.DiGraph, name: str, value: float) -> int:
    """Write ``value`` to every connection and bias tied by ``name``; return how many copies it wrote.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x"); _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output"))
    >>> _ = nngraph.add_neuron(G, nngraph.Neuron("z", role="output"))
    >>> _ = nngraph.connect(G, "x", "y", 0.5, param="w"); _ = nngraph.connect(G, "x", "z", 0.5, param="w")
    >>> set_param(G, "w", 2.0), G.edges["x", "z"]["weight"]
    (2, 2.0)
    """
    number = _finite(value, f"param {name!r}: the value")
    found = ties(G)
    places = tied_places(found, name)
    if not places:
        raise NetworkError(f"no connection or bias is tied by the name {name!r}; names in this network: "
                           f"{', '.join(map(repr, sorted(found.names(), key=str))) or 'none'}")
    _write(G, found, name, number)
    return len(places)


def assign(G: nx.DiGraph, *, weights: Mapping[Edge, float] | None = None,
           biases: Mapping[Hashable, float] | None = None) -> None:
    """Write ``weights`` (connection -> number) and ``biases`` (neuron -> number), and every tied copy.

    Layers' ``set_weights`` write through here, so that a tied number changes everywhere at once.
    Two different numbers given for one name are refused, naming both places, before anything is
    written.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x")
    >>> for y in ("y0", "y1"):
    ...     _ = nngraph.add_neuron(G, nngraph.Neuron(y, role="output"))
    ...     _ = nngraph.connect(G, "x", y, 0.5, param="w")
    >>> assign(G, weights={("x", "y0"): 3.0})
    >>> G.edges["x", "y1"]["weight"]
    3.0
    """
    weights, biases = weights or {}, biases or {}
    assign_lists(G, edges=list(weights), weights=list(weights.values()), neurons=list(biases),
                 biases=list(biases.values()))


def assign_lists(G: nx.DiGraph, *, edges: Sequence[Edge], weights: Sequence[float],
                 neurons: Sequence[Hashable] = (), biases: Sequence[float] = ()) -> None:
    """``assign`` for connections and neurons listed in the order of their numbers: ``weights[i]`` to
    ``edges[i]``, ``biases[i]`` to ``neurons[i]``, and every tied copy.

    What layers use to write hundreds of thousands of numbers: no mapping to build, one check of
    all the numbers at once (each is tested alone, and its place named, only when that finds a
    culprit). Refusals are ``assign``'s, in its order: a connection or bias that is not there, then
    place by place a number that is not finite or two numbers for one name.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x"); _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output"))
    >>> _ = nngraph.connect(G, "x", "y", 0.5)
    >>> assign_lists(G, edges=[("x", "y")], weights=[2.0], neurons=["y"], biases=[float("inf")])
    Traceback (most recent call last):
    ...
    nngraph.errors.NetworkError: the bias of neuron 'y' must be a finite number, got inf
    """
    if len(edges) != len(weights) or len(neurons) != len(biases):
        raise ArgumentError(f"assign_lists takes a number for each place: {len(edges)} edges, {len(weights)} "
                            f"weights, {len(neurons)} neurons, {len(biases)} biases")
    adjacency, data = G._adj, G._node
    try:  # the data dict of each connection, then of each neuron, given
        places = [adjacency[source][target] for source, target in edges]
    except KeyError:
        source, target = next((source, target) for source, target in edges if not G.has_edge(source, target))
        raise NetworkError(f"there is no connection {source!r} -> {target!r} to write",
                           edge=(source, target)) from None
    for node in neurons:
        if node not in G or data[node].get(ROLE) == INPUT:
            what = "an input, which has" if node in G else "not in the network, so it has"
            raise NetworkError(f"neuron {node!r} is {what} no bias to write", node=node)
        places.append(data[node])
    count = len(edges)

    def label(index: int) -> str:  # only for a message: the place given at ``index``
        return (Place(edge=edges[index]) if index < count else Place(node=neurons[index - count])).label()

    values = [*weights, *biases]
    bad = _first_bad(values)
    numbers = _floats(values if bad is None else values[:bad])
    names = [place.get(PARAM) for place in places[:count]] + [place.get(BIAS_PARAM) for place in places[count:]]
    # A name's first number, and where it was given (a Dense layer's connections have no name).
    chosen = _first_numbers(names, numbers, label) if names.count(None) < len(names) else {}
    if bad is not None:  # after the ties given before it, as each place is checked in turn
        _finite(values[bad], label(bad))
    # Tied places are written here too, and again (with their name's first number) below.
    for place, number in zip(places[:count], numbers):
        place[WEIGHT] = number
    for place, number in zip(places[count:], numbers[count:]):
        place[BIAS] = number
    if chosen:
        _write_names(G, {name: number for name, (number, _) in chosen.items()})


def _first_numbers(names: list[str | None], numbers: list[float],
                   label: Callable[[int], str]) -> dict[str, tuple[float, int]]:
    """Each name's number and the index it was first given at; ``NetworkError`` naming both places
    (``label(index)``) when a name is given two different numbers."""
    chosen: dict[str, tuple[float, int]] = {}
    for index, (name, number) in enumerate(zip(names, numbers)):
        if name is None:
            continue
        first = chosen.setdefault(name, (number, index))
        if first[0] != number:
            raise NetworkError(f"{label(first[1])} and {label(index)} are tied by the name {name!r}, "
                               f"but are given different numbers ({first[0]!r} and {number!r}); "
                               "tied numbers are one number")
    return chosen


def _write_names(G: nx.DiGraph, numbers: Mapping[str, float]) -> None:
    """Write each name's number to every copy of it: one pass over the connections that carry more
    than their weight and one over the neurons, rather than through a list of every copy of every
    name (a convolution's kernel entries have hundreds of thousands)."""
    connections = [data for targets in G._adj.values() for data in targets.values()
                   if len(data) > 1 and PARAM in data]
    neurons = [data for data in G._node.values() if data.get(BIAS_PARAM) is not None]
    names = [data[PARAM] for data in connections] + [data[BIAS_PARAM] for data in neurons]
    if set(map(type, names)) - {str} or "" in names:
        ties(G)  # refuses a name that is not a non-empty str, naming its connection or neuron
    for data, name in zip(connections, names):
        if name in numbers:
            data[WEIGHT] = numbers[name]
    for data, name in zip(neurons, names[len(connections):]):
        if name in numbers:
            data[BIAS] = numbers[name]


def _write(G: nx.DiGraph, found: Ties, name: str, number: float) -> None:
    """Write ``number`` to every copy of ``name``."""
    adjacency, data = G._adj, G._node
    for source, target in found.connections.get(name, ()):
        adjacency[source][target][WEIGHT] = number
    for node in found.biases.get(name, ()):
        data[node][BIAS] = number
