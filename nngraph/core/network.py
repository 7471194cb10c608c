"""The graph contract: attribute keys, the ``Neuron``, ``Connection`` and ``LayerRecord`` objects, add/read helpers.

A network *is* a plain ``networkx.DiGraph``:

- every node carries ``role``: ``"input"``, ``"hidden"`` or ``"output"``;
- hidden and output neurons carry ``bias`` (float, default 0.0), ``activation``
  (a registered name, default ``"linear"``) and optionally ``layer`` (a group name,
  needed by group-wise activations such as softmax), ``aggregation`` (how the
  weighted inputs combine, default ``"sum"``; see ``nngraph.core.aggregations``) and
  ``bias_param`` (a name tying the bias to other numbers);
- every edge carries ``weight`` (a finite float) and optionally ``param`` (a name
  tying the weight to other numbers). One name is one number wherever it appears,
  on connections or biases: tied numbers are equal (``validate`` checks it);
- the graph may carry ``layers``: one record per builder layer (see ``LayerRecord``);
- inputs and outputs are the input and output nodes in insertion order.

Meaning: ``z_v = bias_v + AGG_u(weight_uv * a_u)`` (the weighted sum; ``AGG`` is a sum
unless the neuron says otherwise) and ``a_v = f(z_v)`` (the value). The keys are flat,
networkx-style, so ``networkx.to_numpy_array(G, weight="weight")`` works on every network.
Optional keys are written only when they differ from their defaults.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

ROLE = "role"
BIAS = "bias"
ACTIVATION = "activation"
LAYER = "layer"
AGGREGATION = "aggregation"
BIAS_PARAM = "bias_param"
WEIGHT = "weight"
PARAM = "param"
LAYERS = "layers"
LABEL = "label"  # optional: how diagrams name an input or output neuron (a feature, a class)

INPUT = "input"
HIDDEN = "hidden"
OUTPUT = "output"
ROLES = (INPUT, HIDDEN, OUTPUT)

DEFAULT_BIAS = 0.0
DEFAULT_ACTIVATION = "linear"
DEFAULT_AGGREGATION = "sum"


@dataclass(frozen=True)
class Neuron:
    """One node of the network, as the graph stores it.

    Examples
    --------
    >>> Neuron("h1", role="hidden", bias=0.5, activation="relu", layer="dense")
    Neuron(id='h1', role='hidden', bias=0.5, activation='relu', layer='dense', aggregation='sum', bias_param=None)
    >>> Neuron("pool", aggregation="max").aggregation
    'max'
    """

    id: Hashable
    role: str = HIDDEN
    bias: float = DEFAULT_BIAS
    activation: str = DEFAULT_ACTIVATION
    layer: str | None = None
    aggregation: str = DEFAULT_AGGREGATION
    bias_param: str | None = None


@dataclass(frozen=True)
class Connection:
    """One weighted edge of the network: ``source`` feeds ``target`` with ``weight``, tied by ``param``.

    Examples
    --------
    >>> Connection("x0", "h1", 0.25)
    Connection(source='x0', target='h1', weight=0.25, param=None)
    """

    source: Hashable
    target: Hashable
    weight: float
    param: str | None = None


@dataclass(frozen=True)
class LayerRecord:
    """One builder layer, as the graph attribute ``layers`` lists it: what summaries, diagrams and
    exporters need to see layer structure in any graph, a loaded one included.

    ``name`` and ``kind`` (``"Dense"``, ...) as Keras says them; ``config`` the layer's settings
    (JSON values: numbers, strings, booleans, None, lists and dicts); ``input_shape`` and
    ``output_shape`` as Keras gives them, ``None`` for the batch; ``neurons`` the neurons the layer
    computes, its output positions last, in C order (so that the last ``prod(output_shape)`` of them,
    reshaped, are its output; a LayerNormalization lists its normalised neurons first), and none for
    a layer that only renames positions, such as Flatten (its output is the layer before it,
    reshaped). In the graph a
    record is a plain dict with these keys, shapes and neurons as lists (``as_dict``), so that it
    is JSON data apart from the neuron ids.

    Examples
    --------
    >>> record = LayerRecord("dense", "Dense", {"units": 2}, (None, 3), (None, 2), ("dense/0", "dense/1"))
    >>> record.as_dict()["output_shape"]
    [None, 2]
    """

    name: str
    kind: str
    config: Mapping[str, Any] = field(default_factory=dict, hash=False)  # a dict: not hashable
    input_shape: tuple[int | None, ...] = ()
    output_shape: tuple[int | None, ...] = ()
    neurons: tuple[Hashable, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The record as the graph stores it."""
        return {"name": self.name, "kind": self.kind, "config": dict(self.config),
                "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
                "neurons": list(self.neurons)}


LAYER_RECORD_KEYS = ("name", "kind", "config", "input_shape", "output_shape", "neurons")


def new_network() -> nx.DiGraph:
    """Return an empty network (a plain ``DiGraph``), ready for ``add_neuron`` and ``connect``."""
    return nx.DiGraph()


def add_neuron(G: nx.DiGraph, neuron: Neuron) -> Neuron:
    """Add ``neuron`` to ``G`` with the contract's attributes and return it.

    Input neurons get only ``role``: they have no bias or activation. ``aggregation`` and
    ``bias_param`` are written only when they differ from their defaults.

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
    if neuron.aggregation != DEFAULT_AGGREGATION:
        attributes[AGGREGATION] = neuron.aggregation
    if neuron.bias_param is not None:
        attributes[BIAS_PARAM] = neuron.bias_param
    G.add_node(neuron.id, **attributes)
    return neuron


def add_input(G: nx.DiGraph, node: Hashable) -> Neuron:
    """Add an input neuron named ``node``; a shorthand for ``add_neuron(G, Neuron(node, role="input"))``."""
    return add_neuron(G, Neuron(node, role=INPUT))


def connect(G: nx.DiGraph, source: Hashable, target: Hashable, weight: float, *,
            param: str | None = None) -> Connection:
    """Add the connection ``source -> target`` with ``weight`` (tied by ``param``, if given) and return it.

    Both neurons must already be in ``G``, so that a typo cannot create a
    neuron without a role.

    Examples
    --------
    >>> G = new_network()
    >>> _ = add_input(G, "x")
    >>> _ = add_neuron(G, Neuron("y", role="output"))
    >>> connect(G, "x", "y", 2.0)
    Connection(source='x', target='y', weight=2.0, param=None)
    """
    from nngraph.errors import NetworkError

    for node in (source, target):
        if node not in G:
            raise NetworkError(
                f"connection {source!r} -> {target!r}: neuron {node!r} is not in the network; "
                "add it with add_neuron first", node=node, edge=(source, target))
    attributes: dict[str, Any] = {WEIGHT: weight}
    if param is not None:
        attributes[PARAM] = param
    G.add_edge(source, target, **attributes)
    return Connection(source, target, weight, param=param)


def read_neuron(G: nx.DiGraph, node: Hashable) -> Neuron:
    """Return the ``Neuron`` stored at ``node``, with the contract's defaults filled in."""
    data = G.nodes[node]
    role = data.get(ROLE)
    if role == INPUT:
        return Neuron(node, role=INPUT)
    return Neuron(node, role=role, bias=data.get(BIAS, DEFAULT_BIAS),
                  activation=data.get(ACTIVATION, DEFAULT_ACTIVATION), layer=data.get(LAYER),
                  aggregation=data.get(AGGREGATION, DEFAULT_AGGREGATION), bias_param=data.get(BIAS_PARAM))


def neurons(G: nx.DiGraph) -> list[Neuron]:
    """Return every neuron of ``G`` in insertion order."""
    return [read_neuron(G, node) for node in G.nodes]


def connections(G: nx.DiGraph) -> list[Connection]:
    """Return every connection of ``G`` in networkx edge order."""
    return [Connection(u, v, data.get(WEIGHT), param=data.get(PARAM)) for u, v, data in G.edges(data=True)]


def add_layer(G: nx.DiGraph, record: LayerRecord) -> LayerRecord:
    """Append ``record`` to the graph's ``layers`` and return it.

    Examples
    --------
    >>> G = new_network()
    >>> _ = add_layer(G, LayerRecord("dense", "Dense", {"units": 1}, (None, 1), (None, 1), ("y",)))
    >>> G.graph["layers"][0]["neurons"]
    ['y']
    """
    G.graph.setdefault(LAYERS, []).append(record.as_dict())
    return record


def layer_records(G: nx.DiGraph) -> list[LayerRecord]:
    """Return a validated graph's ``layers`` as ``LayerRecord`` objects (an empty list when it has none).

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> [(r.name, r.kind, r.output_shape) for r in layer_records(Sequential([Dense(2, input_shape=(3,))]).graph)]
    [('dense', 'Dense', (None, 2))]
    """
    return [LayerRecord(name=record["name"], kind=record["kind"], config=dict(record["config"]),
                        input_shape=tuple(record["input_shape"]), output_shape=tuple(record["output_shape"]),
                        neurons=tuple(record["neurons"]))
            for record in G.graph.get(LAYERS, ())]


def inputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the input neurons in insertion order (the order of the input features)."""
    return [node for node, role in G.nodes(data=ROLE) if role == INPUT]


def outputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the output neurons in insertion order (the order of the output columns)."""
    return [node for node, role in G.nodes(data=ROLE) if role == OUTPUT]


def reordered(G: nx.DiGraph, *, inputs: list[Hashable] | None = None,
              outputs: list[Hashable] | None = None) -> nx.DiGraph:
    """A copy of ``G`` whose input features and output columns come in the given orders.

    The order of the input and output neurons is the order of the columns a network reads and
    writes; an importer of a channels-first network (PyTorch, ONNX) builds it channels-last and
    puts the features back in the library's order with this. Everything else (attributes, the
    order of each neuron's connections, the graph's layers) is kept.

    >>> G = new_network(); _ = add_input(G, "a"); _ = add_input(G, "b")
    >>> _ = add_neuron(G, Neuron("y", role=OUTPUT)); _ = connect(G, "a", "y", 1.0); _ = connect(G, "b", "y", 2.0)
    >>> [n for n in reordered(G, inputs=["b", "a"]).nodes]
    ['b', 'a', 'y']
    """
    from nngraph.errors import ArgumentError

    order = {INPUT: inputs, OUTPUT: outputs}
    for role, wanted in order.items():
        if wanted is None:
            continue
        have = [node for node, r in G.nodes(data=ROLE) if r == role]
        if len(wanted) != len(have) or set(wanted) != set(have):
            raise ArgumentError(f"reordered: {role}s must list each of the network's {len(have)} {role} "
                                f"neurons once; got {len(wanted)} names")
    first = list(inputs) if inputs is not None else [n for n, r in G.nodes(data=ROLE) if r == INPUT]
    rest = [node for node, role in G.nodes(data=ROLE) if role != INPUT]
    if outputs is not None:
        queue = iter(outputs)
        rest = [next(queue) if G.nodes[node][ROLE] == OUTPUT else node for node in rest]
    H = nx.DiGraph()
    H.graph.update(G.graph)
    H.add_nodes_from((node, G.nodes[node]) for node in first + rest)
    # Target by target, so that each neuron's terms keep their order (G.pred).
    H.add_edges_from((source, target, data) for target in G for source, data in G.pred[target].items())
    return H


def position_ids(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """Node ids ``"<prefix>/<index>"`` for every position of ``shape``, as an array of that shape:
    how the layer builders name neurons, and how the inputs of a shaped network are found by position.

    Examples
    --------
    >>> position_ids("dense", (2,)).tolist(), position_ids("conv", (1, 2)).tolist()
    (['dense/0', 'dense/1'], [['conv/0,0', 'conv/0,1']])
    """
    ids = np.empty(shape, dtype=object)
    if len(shape) == 1:
        ids[:] = [f"{prefix}/{index}" for index in range(shape[0])]
    else:
        ids.reshape(-1)[:] = [f"{prefix}/{','.join(map(str, index))}" for index in np.ndindex(*shape)]
    return ids


def computed(G: nx.DiGraph) -> list[Hashable]:
    """Return the hidden and output neurons (those that compute a weighted sum), in insertion order."""
    return [node for node, role in G.nodes(data=ROLE) if role != INPUT]
