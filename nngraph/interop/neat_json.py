"""neat-python's JSON network export read as an nngraph network, without neat-python.

neat-python 2.0 writes a network as JSON with ``neat.export.export_network_json(network, filepath)``
(format 1.0; ``docs/network-json-format.md`` in neat-python)::

    {"format_version": "1.0", "network_type": "feedforward", "metadata": {...},
     "topology": {"num_inputs": 2, "num_outputs": 1, "input_keys": [-1, -2], "output_keys": [0]},
     "nodes": [{"id": 0, "type": "output", "activation": {"name": "sigmoid", "custom": false},
                "aggregation": {"name": "sum", "custom": false}, "bias": 0.5, "response": 1.0}, ...],
     "connections": [{"from": -1, "to": 0, "weight": 1.5, "enabled": true}, ...]}

The file is untrusted: every field is checked for its type before use, and a file that breaks the
format is refused whole (``ModelFileError`` naming the file, and the node or connection). Its
nodes and enabled connections are then read as neat-python's genes are by ``from_neat``
(``nngraph.interop.neat``), so a genome's export gives the graph ``from_neat`` gives for the
genome: node ids kept, only what the outputs need, the response folded into the weights, and
neat-python's own activations and aggregations. A ``custom`` function (one the exporting program
defined) and a network type other than ``feedforward`` raise ``InteropError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from nngraph.core.neat_activations import NEAT_ACTIVATIONS
from nngraph.core.validate import number_problem
from nngraph.errors import ArgumentError, CycleError, InteropError, ModelFileError, shown
from nngraph.files import read_json
from nngraph.interop.neat import AGGREGATIONS, gene_arrays, network_graph

FORMAT_MAJOR = 1  # format_version "1.x"
TYPES = ("input", "hidden", "output")
KEYS = {"document": {"format_version", "network_type", "metadata", "topology", "nodes", "connections"},
        "topology": {"num_inputs", "num_outputs", "input_keys", "output_keys"},
        "node": {"id", "type", "activation", "aggregation", "bias", "response"},
        "function": {"name", "custom"},
        "connection": {"from", "to", "weight", "enabled"}}
NOT_FEED_FORWARD = ("recurrent", "ctrnn", "iznn")


@dataclass(frozen=True)
class NodeGene:
    """A node as ``from_neat`` reads neat-python's node genes."""

    key: int
    bias: float
    response: float
    activation: str
    aggregation: str


@dataclass(frozen=True)
class ConnectionGene:
    """A connection as ``from_neat`` reads neat-python's connection genes."""

    key: tuple[int, int]
    weight: float
    enabled: bool


@dataclass(frozen=True)
class Genes:
    """A network's genes, as a genome holds them: nodes by id (inputs apart), connections by ends."""

    nodes: dict[int, NodeGene]
    connections: dict[tuple[int, int], ConnectionGene]
    input_keys: tuple[int, ...]
    output_keys: tuple[int, ...]


def from_neat_json(source: str | os.PathLike[str] | Mapping[str, Any]) -> nx.DiGraph:
    """The network in neat-python's JSON export (a file's path, or its parsed document), as
    ``from_neat`` gives it for the genome (see the module doc). neat-python is not needed.

    Raises ``ModelFileError`` for a file that breaks the format, naming it and the node or
    connection at fault, ``InteropError`` for a network nngraph does not compute (a custom
    function, a recurrent network), and ``CycleError`` for enabled connections that form a cycle.

    Examples
    --------
    >>> import nngraph
    >>> G = from_neat_json({
    ...     "format_version": "1.0", "network_type": "feedforward", "metadata": {},
    ...     "topology": {"num_inputs": 2, "num_outputs": 1, "input_keys": [-1, -2], "output_keys": [0]},
    ...     "nodes": [{"id": 0, "type": "output", "activation": {"name": "sigmoid", "custom": False},
    ...                "aggregation": {"name": "sum", "custom": False}, "bias": -0.5, "response": 2.0}],
    ...     "connections": [{"from": -1, "to": 0, "weight": 1.5, "enabled": True},
    ...                     {"from": -2, "to": 0, "weight": 0.25, "enabled": False}]})
    >>> nngraph.inputs(G), nngraph.outputs(G), list(G.edges(data="weight"))
    ([-1, -2], [0], [(-1, 0, 3.0)])
    >>> G.nodes[0]["activation"], G.nodes[0]["bias"]
    ('neat_sigmoid', -0.5)
    """
    if isinstance(source, Mapping):
        document, where = source, "neat-python network JSON"
    elif isinstance(source, (str, os.PathLike)):
        document, where = read_json(source, function="from_neat_json"), os.fspath(source)
    else:
        raise ArgumentError(f"from_neat_json takes a path or a parsed JSON document (dict), got {shown(source)}")
    genes = read_genes(document, where=where)
    _refuse_cycles(genes, where)
    network, _, _ = gene_arrays([(where, genes)], input_keys=genes.input_keys, output_keys=genes.output_keys,
                                problem=lambda kind, name: None)  # read_genes has checked every name
    return network_graph(network)


def read_genes(document: Any, *, where: Any) -> Genes:
    """The genes of a JSON export, every field checked (see ``from_neat_json``); ``where`` names
    the file in messages."""
    _record(document, "document", "the document", where)
    version = document["format_version"]
    if not isinstance(version, str) or version.split(".")[0] != str(FORMAT_MAJOR):
        raise ModelFileError(f"format_version {shown(version)} is not one nngraph reads ({FORMAT_MAJOR}.x)",
                             path=where)
    kind = document["network_type"]
    if kind in NOT_FEED_FORWARD:
        raise InteropError(f"{where}: network_type {kind!r}: nngraph imports neat-python's feed-forward "
                           "networks only ('feedforward')", part="network_type")
    if kind != "feedforward":
        raise ModelFileError(f"network_type {shown(kind)} is not one of neat-python's "
                             f"(feedforward, {', '.join(NOT_FEED_FORWARD)})", path=where)
    if not isinstance(document["metadata"], dict):
        raise ModelFileError(f"metadata must be an object, got {shown(document['metadata'])}", path=where)
    input_keys, output_keys = _topology(document["topology"], where)
    nodes = _nodes(_list(document, "nodes", where), input_keys, output_keys, where)
    connections = _connections(_list(document, "connections", where), nodes, input_keys, where)
    return Genes(nodes=nodes, connections=connections, input_keys=input_keys, output_keys=output_keys)


def _record(value: Any, kind: str, what: str, where: Any) -> None:
    """Refuse ``value`` unless it is an object with exactly the keys of a ``kind`` record."""
    if not isinstance(value, dict):
        raise ModelFileError(f"{what} must be an object, got {shown(value)}", path=where)
    missing, unknown = sorted(KEYS[kind] - set(value)), sorted(set(value) - KEYS[kind])
    if missing:
        raise ModelFileError(f"{what} has no {missing[0]!r}", path=where)
    if unknown:
        raise ModelFileError(f"{what} has the key {shown(unknown[0])}, which the format does not have "
                             f"(keys: {', '.join(sorted(KEYS[kind]))})", path=where)


def _list(document: dict, key: str, where: Any) -> list:
    if not isinstance(document[key], list):
        raise ModelFileError(f"{key} must be a list, got {shown(document[key])}", path=where)
    return document[key]


def _whole(value: Any, what: str, where: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFileError(f"{what} must be a whole number, got {shown(value)}", path=where)
    return value


def _number(value: Any, what: str, where: Any) -> float:
    problem = number_problem(value)
    if problem:
        raise ModelFileError(f"{what} must be a finite number, {problem}", path=where)
    return float(value)


def _flag(value: Any, what: str, where: Any) -> bool:
    if not isinstance(value, bool):
        raise ModelFileError(f"{what} must be true or false, got {shown(value)}", path=where)
    return value


def _topology(topology: Any, where: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    _record(topology, "topology", "topology", where)
    keys = []
    for role in ("input", "output"):
        listed = topology[f"{role}_keys"]
        if not isinstance(listed, list):
            raise ModelFileError(f"topology.{role}_keys must be a list, got {shown(listed)}", path=where)
        ids = tuple(_whole(key, f"topology.{role}_keys[{i}]", where) for i, key in enumerate(listed))
        count = _whole(topology[f"num_{role}s"], f"topology.num_{role}s", where)
        if count != len(ids) or len(set(ids)) != len(ids) or not ids:
            raise ModelFileError(f"topology.{role}_keys must list num_{role}s ({count}) distinct ids, "
                                 f"at least one, got {shown(listed)}", path=where)
        keys.append(ids)
    shared = sorted(set(keys[0]) & set(keys[1]))
    if shared:
        raise ModelFileError(f"topology: node {shared[0]} is both an input and an output", path=where)
    return keys[0], keys[1]


def _nodes(records: list, input_keys: tuple[int, ...], output_keys: tuple[int, ...],
           where: Any) -> dict[int, NodeGene]:
    """The non-input nodes by id, every node's fields checked: its type as the topology says, every
    output there (the inputs may be left out: neat-python feeds them as they are)."""
    genes: dict[int, NodeGene] = {}
    seen: set[int] = set()
    for i, record in enumerate(records):
        _record(record, "node", f"nodes[{i}]", where)
        key = _whole(record["id"], f"nodes[{i}].id", where)
        what = f"node {key}"
        kind = record["type"]
        if kind not in TYPES:
            raise ModelFileError(f"{what}: type must be one of {', '.join(TYPES)}, got {shown(kind)}", path=where)
        if key in seen:
            raise ModelFileError(f"{what} is listed twice; node ids are unique", path=where)
        seen.add(key)
        for role, keys in (("input", input_keys), ("output", output_keys)):
            if (kind == role) != (key in keys):
                raise ModelFileError(f"{what}: type {kind!r}, but topology.{role}_keys {list(keys)} "
                                     f"{'lists' if key in keys else 'does not list'} it", path=where)
        names = [_function(record[field], field, what, where) for field in ("activation", "aggregation")]
        bias = _number(record["bias"], f"{what}: bias", where)
        response = _number(record["response"], f"{what}: response", where)
        if kind != "input":  # an input's fields have no use: neat-python feeds inputs as they are
            _check_computed(names, key, where)
            genes[key] = NodeGene(key=key, bias=bias, response=response, activation=names[0][0],
                                  aggregation=names[1][0])
    missing = [key for key in output_keys if key not in genes]
    if missing:
        raise ModelFileError(f"output node {missing[0]} of topology.output_keys is not in nodes", path=where)
    return genes


def _function(value: Any, field: str, what: str, where: Any) -> tuple[str, bool]:
    _record(value, "function", f"{what}: {field}", where)
    name = value["name"]
    if not isinstance(name, str):
        raise ModelFileError(f"{what}: {field} name must be a string, got {shown(name)}", path=where)
    return name, _flag(value["custom"], f"{what}: {field} custom", where)


def _check_computed(names: list[tuple[str, bool]], key: int, where: Any) -> None:
    """Refuse a custom function, or a name that is not one of neat-python's own."""
    for field, (name, custom), known in zip(("activation", "aggregation"), names,
                                            (tuple(NEAT_ACTIVATIONS), AGGREGATIONS)):
        if custom or name not in known:
            why = "is custom (defined by the program that exported it)" if custom else "is not one of neat-python's"
            raise InteropError(f"{where}: node {key}: {field} {name!r} {why}; nngraph computes neat-python's "
                               f"own: {', '.join(known)}", part=key)


def _connections(records: list, nodes: dict[int, NodeGene], input_keys: tuple[int, ...],
                 where: Any) -> dict[tuple[int, int], ConnectionGene]:
    genes: dict[tuple[int, int], ConnectionGene] = {}
    for i, record in enumerate(records):
        _record(record, "connection", f"connections[{i}]", where)
        ends = (_whole(record["from"], f"connections[{i}].from", where),
                _whole(record["to"], f"connections[{i}].to", where))
        what = f"connection {ends[0]} -> {ends[1]}"
        if ends[0] not in nodes and ends[0] not in input_keys:
            raise ModelFileError(f"{what}: node {ends[0]} is not in nodes", path=where)
        if ends[1] not in nodes:
            into = "an input" if ends[1] in input_keys else "not in nodes"
            raise ModelFileError(f"{what}: node {ends[1]} is {into}; a connection ends at a hidden or output node",
                                 path=where)
        if ends in genes:
            raise ModelFileError(f"{what} is listed twice", path=where)
        genes[ends] = ConnectionGene(key=ends, weight=_number(record["weight"], f"{what}: weight", where),
                                     enabled=_flag(record["enabled"], f"{what}: enabled", where))
    return genes


def _refuse_cycles(genes: Genes, where: Any) -> None:
    """``CycleError`` for enabled connections that form a cycle (a feed-forward export has none)."""
    graph = nx.DiGraph(key for key, gene in genes.connections.items() if gene.enabled)
    try:
        cycle = [(u, v) for u, v, *_ in nx.find_cycle(graph)]
    except nx.NetworkXNoCycle:
        return
    path = " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}"
    raise CycleError(f"{where}: its enabled connections form a cycle: {path}; a feed-forward network "
                     "is a DAG", cycle=cycle)
