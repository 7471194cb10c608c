"""Tied numbers: connections and biases that share a name hold one number, counted and written once.

A connection's ``param`` and a neuron's ``bias_param`` name a number; one name is one number
wherever it appears (a convolution kernel's entry at every position, one scale per channel, a
recurrent weight at every time step). ``validate`` refuses tied copies that differ; the helpers
here find the copies (``tied``), count every number once (``count_params``) and write a number
to all its copies (``set_param``, ``assign``), so that a graph stays valid.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from nngraph.core.network import BIAS, BIAS_PARAM, DEFAULT_BIAS, INPUT, PARAM, ROLE, WEIGHT, computed
from nngraph.errors import NetworkError

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
    places: dict[str, list[Place]] = {}
    if connections:
        # Most connections hold their weight alone: one length test each skips them.
        named = [(data[PARAM], (source, target)) for source, targets in G._adj.items()
                 for target, data in targets.items() if len(data) > 1 and PARAM in data]
        for name, edge in named:
            _check_name(name, f"connection {edge[0]!r} -> {edge[1]!r}: param", edge=edge)
            places.setdefault(name, []).append(Place(edge=edge))
    for node, name in G.nodes(data=BIAS_PARAM):
        if name is not None:
            _check_name(name, f"neuron {node!r}: bias_param", node=node)
            places.setdefault(name, []).append(Place(node=node))
    return places


def _check_name(name: object, what: str, **culprit: object) -> None:
    if not isinstance(name, str) or not name:
        raise NetworkError(f"{what} must be a name (a non-empty str), got {name!r}", **culprit)


def count_params(G: nx.DiGraph, neurons: Iterable[Hashable] | None = None, *,
                 without_bias: Iterable[Hashable] = (), names: Mapping[str, list[Place]] | None = None) -> int:
    """How many numbers the incoming weights and the biases of ``neurons`` hold, a tied number once.

    ``neurons`` defaults to every computed neuron; the biases of ``without_bias`` are no
    parameters (a layer without bias keeps them at 0.0). A name tying numbers inside and outside
    ``neurons`` counts once here too. ``names`` may pass in ``tied(G)`` when the caller has it.

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
    chosen = set(selected)
    unbiased = set(without_bias)
    biased = {node for node in chosen if node not in unbiased and G._node[node].get(ROLE) != INPUT}
    count = sum(len(G._pred[node]) for node in chosen) + len(biased)
    for places in (tied(G) if names is None else names).values():
        inside = sum(1 for place in places if (place.edge[1] in chosen if place.edge is not None
                                                   else place.node in biased))
        count -= max(inside - 1, 0)
    return count


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise NetworkError(f"{what} must be a finite number, got {value!r}")
    return float(value)


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
    places = tied(G).get(name)
    if not places:
        raise NetworkError(f"no connection or bias is tied by the name {name!r}; names in this network: "
                           f"{', '.join(map(repr, sorted(tied(G), key=str))) or 'none'}")
    _write(G, places, number)
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
    given = []
    for (source, target), value in (weights or {}).items():
        if not G.has_edge(source, target):
            raise NetworkError(f"there is no connection {source!r} -> {target!r} to write", edge=(source, target))
        given.append((Place(edge=(source, target)), value, G._adj[source][target].get(PARAM)))
    for node, value in (biases or {}).items():
        if node not in G or G._node[node].get(ROLE) == INPUT:
            what = "an input, which has" if node in G else "not in the network, so it has"
            raise NetworkError(f"neuron {node!r} is {what} no bias to write", node=node)
        given.append((Place(node=node), value, G._node[node].get(BIAS_PARAM)))
    chosen: dict[str, tuple[float, Place]] = {}
    plain: list[tuple[Place, float]] = []
    for place, value, name in given:
        number = _finite(value, place.label())
        if name is None:
            plain.append((place, number))
            continue
        first = chosen.setdefault(name, (number, place))
        if first[0] != number:
            raise NetworkError(f"{first[1].label()} and {place.label()} are tied by the name {name!r}, "
                               f"but are given different numbers ({first[0]!r} and {number!r}); "
                               "tied numbers are one number")
    for place, number in plain:
        _write(G, [place], number)
    if chosen:
        places = tied(G)
        for name, (number, _) in chosen.items():
            _write(G, places[name], number)


def _write(G: nx.DiGraph, places: Iterable[Place], number: float) -> None:
    for place in places:
        if place.edge is not None:
            G._adj[place.edge[0]][place.edge[1]][WEIGHT] = number
        else:
            G._node[place.node][BIAS] = number
