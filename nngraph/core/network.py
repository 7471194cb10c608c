"""The graph contract: attribute keys, the ``Neuron`` and ``Connection`` objects, add/read helpers.

A network *is* a plain ``networkx.DiGraph``:

- every node carries ``role``: ``"input"``, ``"hidden"`` or ``"output"``;
- hidden and output neurons carry ``bias`` (float, default 0.0), ``activation``
  (a registered name, default ``"linear"``) and optionally ``layer`` (a group name,
  needed by group-wise activations such as softmax);
- every edge carries ``weight`` (a finite float);
- inputs and outputs are the input and output nodes in insertion order.

Meaning: ``z_v = bias_v + sum_u weight_uv * a_u`` (the weighted sum) and
``a_v = f(z_v)`` (the value). The keys are flat, networkx-style, so
``networkx.to_numpy_array(G, weight="weight")`` works on every network.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import networkx as nx

ROLE = "role"
BIAS = "bias"
ACTIVATION = "activation"
LAYER = "layer"
WEIGHT = "weight"

INPUT = "input"
HIDDEN = "hidden"
OUTPUT = "output"
ROLES = (INPUT, HIDDEN, OUTPUT)

DEFAULT_BIAS = 0.0
DEFAULT_ACTIVATION = "linear"


@dataclass(frozen=True)
class Neuron:
    """One node of the network, as the graph stores it.

    Examples
    --------
    >>> Neuron("h1", role="hidden", bias=0.5, activation="relu", layer="dense")
    Neuron(id='h1', role='hidden', bias=0.5, activation='relu', layer='dense')
    """

    id: Hashable
    role: str = HIDDEN
    bias: float = DEFAULT_BIAS
    activation: str = DEFAULT_ACTIVATION
    layer: str | None = None


@dataclass(frozen=True)
class Connection:
    """One weighted edge of the network: ``source`` feeds ``target`` with ``weight``.

    Examples
    --------
    >>> Connection("x0", "h1", 0.25)
    Connection(source='x0', target='h1', weight=0.25)
    """

    source: Hashable
    target: Hashable
    weight: float


def new_network() -> nx.DiGraph:
    """Return an empty network (a plain ``DiGraph``), ready for ``add_neuron`` and ``connect``."""
    return nx.DiGraph()


def add_neuron(G: nx.DiGraph, neuron: Neuron) -> Neuron:
    """Add ``neuron`` to ``G`` with the contract's attributes and return it.

    Input neurons get only ``role``: they have no bias or activation.

    Examples
    --------
    >>> G = new_network()
    >>> _ = add_neuron(G, Neuron("x", role="input"))
    >>> _ = add_neuron(G, Neuron("y", role="output", activation="sigmoid"))
    >>> G.nodes["y"]["activation"]
    'sigmoid'
    """
    if neuron.role == INPUT:
        G.add_node(neuron.id, **{ROLE: INPUT})
        return neuron
    attributes = {ROLE: neuron.role, BIAS: neuron.bias, ACTIVATION: neuron.activation}
    if neuron.layer is not None:
        attributes[LAYER] = neuron.layer
    G.add_node(neuron.id, **attributes)
    return neuron


def add_input(G: nx.DiGraph, node: Hashable) -> Neuron:
    """Add an input neuron named ``node``; a shorthand for ``add_neuron(G, Neuron(node, role="input"))``."""
    return add_neuron(G, Neuron(node, role=INPUT))


def connect(G: nx.DiGraph, source: Hashable, target: Hashable, weight: float) -> Connection:
    """Add the connection ``source -> target`` with ``weight`` and return it.

    Both neurons must already be in ``G``, so that a typo cannot create a
    neuron without a role.

    Examples
    --------
    >>> G = new_network()
    >>> _ = add_input(G, "x")
    >>> _ = add_neuron(G, Neuron("y", role="output"))
    >>> connect(G, "x", "y", 2.0)
    Connection(source='x', target='y', weight=2.0)
    """
    from nngraph.errors import NetworkError

    for node in (source, target):
        if node not in G:
            raise NetworkError(
                f"connection {source!r} -> {target!r}: neuron {node!r} is not in the network; "
                "add it with add_neuron first", node=node, edge=(source, target))
    G.add_edge(source, target, **{WEIGHT: weight})
    return Connection(source, target, weight)


def read_neuron(G: nx.DiGraph, node: Hashable) -> Neuron:
    """Return the ``Neuron`` stored at ``node``, with the contract's defaults filled in."""
    data = G.nodes[node]
    role = data.get(ROLE)
    if role == INPUT:
        return Neuron(node, role=INPUT)
    return Neuron(node, role=role, bias=data.get(BIAS, DEFAULT_BIAS),
                  activation=data.get(ACTIVATION, DEFAULT_ACTIVATION), layer=data.get(LAYER))


def neurons(G: nx.DiGraph) -> list[Neuron]:
    """Return every neuron of ``G`` in insertion order."""
    return [read_neuron(G, node) for node in G.nodes]


def connections(G: nx.DiGraph) -> list[Connection]:
    """Return every connection of ``G`` in networkx edge order."""
    return [Connection(u, v, w) for u, v, w in G.edges(data=WEIGHT)]


def inputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the input neurons in insertion order (the order of the input features)."""
    return [node for node, role in G.nodes(data=ROLE) if role == INPUT]


def outputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the output neurons in insertion order (the order of the output columns)."""
    return [node for node, role in G.nodes(data=ROLE) if role == OUTPUT]


def computed(G: nx.DiGraph) -> list[Hashable]:
    """Return the hidden and output neurons (those that compute a weighted sum), in insertion order."""
    return [node for node, role in G.nodes(data=ROLE) if role != INPUT]
