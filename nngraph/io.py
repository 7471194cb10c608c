"""Model files: a network as a versioned JSON document, read back exactly or refused whole.

Format (version 1)::

    {"format": "nngraph", "version": 1,
     "inputs": [ids...], "outputs": [ids...],
     "neurons": [{"id": ..., "role": "input"},
                 {"id": ..., "role": "hidden", "bias": 0.0, "activation": "relu", "layer": "dense"}, ...],
     "connections": [{"source": ..., "target": ..., "weight": 0.25}, ...]}

Version 2 adds the contract's optional keys as fields of their own: a neuron's ``"aggregation"``
and ``"bias_param"``, a connection's ``"param"``, and ``"layers"``, the graph's layer records
(neurons listed by id). A network that uses none of them is written as version 1, byte for byte
as before, so older readers keep reading it; one that does is version 2, which a reader of
version 1 refuses by its version (rather than computing sums where a neuron takes a maximum).

Neurons are listed in insertion order, so inputs and outputs keep their order.
Ids are strings, integers, or tuples of those (stored as JSON lists). Other
attributes a user put on a neuron or connection travel under ``"extra"`` if
they are JSON values. Floats are written with ``repr`` precision, so they
round-trip bit for bit. Files are never unpickled.

``load`` refuses a file whole, naming it and the problem, unless it follows
these rules (``save`` writes nothing else):

- it is JSON as ``nngraph.files.parse_json`` reads it: no repeated key in any
  object, no ``NaN`` or ``Infinity``, no number beyond float range, nothing
  nested more than ``nngraph.files.MAX_DEPTH`` levels;
- ``"format"`` is ``"nngraph"`` and ``"version"`` the integer 1 (not ``1.0``,
  ``"1"`` or ``true``); the top level has no other keys, and neurons and
  connections no other fields, than those above;
- weights and biases are finite numbers; an input carries no bias, activation
  or layer; the network passes ``validate``; ``"inputs"`` and ``"outputs"``
  list the neurons of those roles in the order the neurons come.

``save`` writes atomically (``nngraph.files.atomic_write``): if it fails, the
previous file is left as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable
from typing import Any

import networkx as nx

from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, BIAS_PARAM, DEFAULT_ACTIVATION, DEFAULT_BIAS,
                                  INPUT, LAYER, LAYERS, PARAM, ROLE, WEIGHT, inputs, outputs)
from nngraph.core.validate import number_problem, validate
from nngraph.errors import ModelFileError, NetworkError, shown
from nngraph.files import (MAX_DEPTH, as_path, atomic_write, nesting_depth, read_json, too_deep,
                           write_failure)

FORMAT = "nngraph"
VERSION = 2  # the newest version, written when a network needs it; else version 1
READABLE_VERSIONS = (1, 2)
_DOCUMENT_KEYS = {1: {"format", "version", "inputs", "outputs", "neurons", "connections"},
                  2: {"format", "version", "inputs", "outputs", "neurons", "connections", LAYERS}}
# The attributes each version stores as fields of their own (the rest travel under "extra").
_NEURON_FIELDS = {1: {ROLE, BIAS, ACTIVATION, LAYER}, 2: {ROLE, BIAS, ACTIVATION, LAYER, AGGREGATION, BIAS_PARAM}}
_CONNECTION_FIELDS = {1: {WEIGHT}, 2: {WEIGHT, PARAM}}
_NEW_NEURON_FIELDS = (AGGREGATION, BIAS_PARAM)


def _check_depth(value: Any, what: str, path: Any) -> None:
    if nesting_depth(value) > MAX_DEPTH:
        raise ModelFileError(too_deep(what), path=path)


def _encode_id(node: Hashable, path: Any) -> Any:
    _check_depth(node, f"neuron id {shown(node)}", path)
    return _encode_part(node, node, path)


def _encode_part(part: Any, node: Hashable, path: Any) -> Any:
    if isinstance(part, tuple):
        return [_encode_part(item, node, path) for item in part]
    if isinstance(part, (str, int)) and not isinstance(part, bool):
        return part
    raise ModelFileError(f"neuron id {shown(node)} ({type(node).__name__}) cannot be stored; "
                         "use strings, integers or tuples of them", path=path)


def _decode_id(value: Any, path: Any) -> Hashable:
    _check_depth(value, f"neuron id {shown(value)}", path)
    return _decode_part(value, value, path)


def _decode_part(part: Any, value: Any, path: Any) -> Hashable:
    if isinstance(part, list):
        return tuple(_decode_part(item, value, path) for item in part)
    if isinstance(part, (str, int)) and not isinstance(part, bool):
        return part
    raise ModelFileError(f"neuron id {shown(value)} is not a string, integer or list", path=path)


def _extra(attributes: dict, contract: set[str], where: str, path: Any) -> dict:
    extra = {key: value for key, value in attributes.items() if key not in contract}
    _check_depth(extra, f"{where}: attributes", path)
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where}: attributes {sorted(map(str, extra))} must be JSON values "
                             "(finite numbers, strings, lists, dicts) to be saved", path=path) from None
    return extra


def to_document(G: nx.DiGraph, *, path: Any = "<network>") -> dict[str, Any]:
    """Return the JSON-ready document for a validated network (what ``save`` writes): version 1
    unless the network uses a key that version 2 added.

    Examples
    --------
    >>> import nngraph
    >>> G = nngraph.new_network()
    >>> _ = nngraph.add_input(G, "x")
    >>> _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output"))
    >>> _ = nngraph.connect(G, "x", "y", 1.0)
    >>> to_document(G)["version"]
    1
    >>> G.nodes["y"]["aggregation"] = "max"
    >>> to_document(G)["version"], to_document(G)["neurons"][1]["aggregation"]
    (2, 'max')
    """
    validate(G)
    newer = False  # whether a field of version 2 is needed
    neurons = []
    for node, data in G.nodes(data=True):
        record: dict[str, Any] = {"id": _encode_id(node, path), ROLE: data[ROLE]}
        if data[ROLE] != INPUT:
            record[BIAS] = float(data.get(BIAS, DEFAULT_BIAS))
            record[ACTIVATION] = data.get(ACTIVATION, DEFAULT_ACTIVATION)
            if data.get(LAYER) is not None:
                record[LAYER] = data[LAYER]
            for key in _NEW_NEURON_FIELDS:
                if key in data:
                    record[key] = data[key]
                    newer = True
        extra = _extra(data, _NEURON_FIELDS[VERSION], f"neuron {node!r}", path)
        if extra:
            record["extra"] = extra
        neurons.append(record)
    connections = []
    for source, target, data in G.edges(data=True):
        record = {"source": _encode_id(source, path), "target": _encode_id(target, path),
                  WEIGHT: float(data[WEIGHT])}
        if len(data) > 1:  # most connections hold their weight alone
            if PARAM in data:
                record[PARAM] = data[PARAM]
                newer = True
            extra = _extra(data, _CONNECTION_FIELDS[VERSION], f"connection {source!r} -> {target!r}", path)
            if extra:
                record["extra"] = extra
        connections.append(record)
    layers = [_layer_document(record, path) for record in G.graph[LAYERS]] if LAYERS in G.graph else None
    document = {"format": FORMAT, "version": VERSION if newer or layers is not None else 1,
                "inputs": [_encode_id(node, path) for node in inputs(G)],
                "outputs": [_encode_id(node, path) for node in outputs(G)],
                "neurons": neurons, "connections": connections}
    if layers is not None:
        document[LAYERS] = layers
    return document


def _layer_document(record: dict, path: Any) -> dict[str, Any]:
    """A validated layer record as JSON: its neurons by encoded id, its other fields as they are."""
    written = {**record, "neurons": [_encode_id(node, path) for node in record["neurons"]],
               "input_shape": list(record["input_shape"]), "output_shape": list(record["output_shape"])}
    try:
        json.dumps(written["config"], allow_nan=False)
    except (TypeError, ValueError):
        raise ModelFileError(f"layer {record['name']!r}: its config must hold JSON values (numbers, strings, "
                             "lists, dicts) to be saved", path=path) from None
    return written


def save(G: nx.DiGraph, path: str | os.PathLike[str]) -> None:
    """Write ``G`` to ``path`` as an nngraph JSON model file, atomically (see the module doc).

    Missing folders on the way are created. A network that breaks the graph
    contract raises ``NetworkError``; one that cannot be stored, or a path that
    cannot be written, ``ModelFileError``; a path that is not a path, ``ArgumentError``.

    Examples
    --------
    >>> import tempfile, os
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> model = Sequential([Dense(units=2, input_shape=(3,))], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> save(model.graph, path)
    >>> load(path).number_of_edges()
    6
    """
    as_path(path, function="save")
    text = json.dumps(to_document(G, path=path), indent=1, allow_nan=False)
    try:
        with atomic_write(path) as stream:
            stream.write(text + "\n")
    except OSError as error:
        raise ModelFileError(write_failure(error), path=path) from None


def load(path: str | os.PathLike[str]) -> nx.DiGraph:
    """Read a model file written by ``save``; refuse a malformed one whole, naming the file and the problem.

    The rules a file must follow are in the module doc. A path that is not a
    path raises ``ArgumentError``; anything wrong with the file, ``ModelFileError``.
    """
    return from_document(read_json(path, function="load"), path=path)


def _field(record: Any, key: str, where: str, path: Any) -> Any:
    if not isinstance(record, dict) or key not in record:
        raise ModelFileError(f"{where} has no {key!r}", path=path)
    return record[key]


def _number(value: Any, where: str, path: Any) -> float:
    problem = number_problem(value)
    if problem:
        raise ModelFileError(f"{where} must be a finite number, {problem}", path=path)
    return float(value)


def _check_keys(record: dict, allowed: set[str], where: str, path: Any) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ModelFileError(f"{where} has unknown fields {shown(unknown)}; known: {sorted(allowed)}",
                             path=path)


def from_document(document: Any, *, path: Any = "<document>") -> nx.DiGraph:
    """Build a network from a parsed model document, checking every field (see ``load``)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError('not an nngraph model file (expected "format": "nngraph")', path=path)
    version = _field(document, "version", "the top level", path)
    if type(version) is not int:
        raise ModelFileError(f'"version" must be an integer (this nngraph reads versions '
                             f"{', '.join(map(str, READABLE_VERSIONS))}), got {shown(json.dumps(version))[1:-1]}",
                             path=path)
    version = check_version(version, path=path)
    _check_keys(document, _DOCUMENT_KEYS[version], "the top level", path)
    neuron_fields, connection_fields = _NEURON_FIELDS[version], _CONNECTION_FIELDS[version]
    G = nx.DiGraph()
    for index, record in enumerate(_list(document, "neurons", path)):
        where = f"neuron #{index}"
        node = _decode_id(_field(record, "id", where, path), path)
        where = f"neuron {node!r}"
        _check_keys(record, neuron_fields | {"id", "extra"}, where, path)
        if node in G:
            raise ModelFileError(f"duplicate neuron {node!r}", path=path)
        attributes = _read_extra(record, neuron_fields, where, path)
        attributes[ROLE] = _field(record, ROLE, where, path)
        if attributes[ROLE] == INPUT:
            # Kept as they are, so that validate refuses them as it refuses them in a graph.
            attributes.update((key, record[key]) for key in (BIAS, ACTIVATION, LAYER) if key in record)
        else:
            attributes[BIAS] = _number(record.get(BIAS, DEFAULT_BIAS), f"{where}: bias", path)
            attributes[ACTIVATION] = record.get(ACTIVATION, DEFAULT_ACTIVATION)
            if record.get(LAYER) is not None:
                attributes[LAYER] = record[LAYER]
        # validate refuses these on inputs, naming the neuron
        attributes.update({key: record[key] for key in _NEW_NEURON_FIELDS if key in record})
        G.add_node(node, **attributes)
    for index, record in enumerate(_list(document, "connections", path)):
        where = f"connection #{index}"
        source = _decode_id(_field(record, "source", where, path), path)
        target = _decode_id(_field(record, "target", where, path), path)
        where = f"connection {source!r} -> {target!r}"
        _check_keys(record, connection_fields | {"source", "target", "extra"}, where, path)
        for end in (source, target):
            if end not in G:
                raise ModelFileError(f"{where} names neuron {end!r}, which is not in the file", path=path)
        if G.has_edge(source, target):
            raise ModelFileError(f"duplicate {where}", path=path)
        weight = _number(_field(record, WEIGHT, where, path), f"{where}: weight", path)
        attributes = _read_extra(record, connection_fields, where, path)
        attributes[WEIGHT] = weight
        if PARAM in record:
            attributes[PARAM] = record[PARAM]
        G.add_edge(source, target, **attributes)
    if version >= 2 and LAYERS in document:
        G.graph[LAYERS] = _read_layers(document[LAYERS], path)
    try:
        validate(G)
    except NetworkError as error:
        raise ModelFileError(str(error), path=path) from error
    for key, found in (("inputs", inputs(G)), ("outputs", outputs(G))):
        listed = [_decode_id(node, path) for node in _list(document, key, path)]
        if listed != found:
            raise ModelFileError(f"{key!r} lists {listed!r}, but the neurons' roles give {found!r}", path=path)
    return G


def check_version(version: Any, *, path: Any, readable: tuple[int, ...] = READABLE_VERSIONS) -> int:
    """Return ``version`` if this nngraph reads it (``readable``), else refuse the file, saying why.

    Examples
    --------
    >>> check_version(2, path="m.json", readable=(1,))  # a reader of version 1 given version 2
    Traceback (most recent call last):
    ...
    nngraph.errors.ModelFileError: m.json: the file is in format version 2, which this nngraph cannot read (it reads version 1); upgrade nngraph to read it
    """
    if isinstance(version, int) and not isinstance(version, bool) and version in readable:
        return version
    reads = f"version{'s' if len(readable) > 1 else ''} {', '.join(map(str, readable))}"
    if isinstance(version, int) and not isinstance(version, bool) and version > max(readable):
        raise ModelFileError(f"the file is in format version {version}, which this nngraph cannot read "
                             f"(it reads {reads}); upgrade nngraph to read it", path=path)
    raise ModelFileError(f"unknown format version {version!r}; this nngraph reads {reads}", path=path)


def _read_layers(value: Any, path: Any) -> list:
    """The layer records of a version-2 document, neurons decoded to ids (``validate`` checks the rest)."""
    if not isinstance(value, list):
        raise ModelFileError(f"{LAYERS!r} must be a list of layer records", path=path)
    records = []
    for index, record in enumerate(value):
        neurons = _field(record, "neurons", f"layer record #{index}", path)
        if not isinstance(neurons, list):
            raise ModelFileError(f"layer record #{index}: 'neurons' must be a list of neuron ids", path=path)
        records.append({**record, "neurons": [_decode_id(node, path) for node in neurons]})
    return records


def _read_extra(record: dict, contract: set[str], where: str, path: Any) -> dict:
    extra = record.get("extra", {})
    if not isinstance(extra, dict):
        raise ModelFileError(f"{where}: 'extra' must be an object", path=path)
    _check_depth(extra, f"{where}: 'extra'", path)
    clashing = sorted(set(extra) & contract)
    if clashing:
        raise ModelFileError(f"{where}: 'extra' repeats contract fields {clashing}", path=path)
    return dict(extra)


def _list(document: dict, key: str, path: Any) -> list:
    value = document.get(key)
    if not isinstance(value, list):
        raise ModelFileError(f"{key!r} must be a list", path=path)
    return value
