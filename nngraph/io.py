"""Model files: a network as a versioned JSON document, read back exactly or refused whole.

Format (version 1)::

    {"format": "nngraph", "version": 1,
     "inputs": [ids...], "outputs": [ids...],
     "neurons": [{"id": ..., "role": "input"},
                 {"id": ..., "role": "hidden", "bias": 0.0, "activation": "relu", "layer": "dense"}, ...],
     "connections": [{"source": ..., "target": ..., "weight": 0.25}, ...]}

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

from nngraph.core.network import (ACTIVATION, BIAS, DEFAULT_ACTIVATION, DEFAULT_BIAS, INPUT, LAYER, ROLE,
                                  WEIGHT, inputs, outputs)
from nngraph.core.validate import number_problem, validate
from nngraph.errors import ModelFileError, NetworkError, shown
from nngraph.files import (MAX_DEPTH, JSONRuleError, as_path, atomic_write, nesting_depth, parse_json, too_deep,
                           write_failure)

FORMAT = "nngraph"
VERSION = 1
_DOCUMENT_KEYS = {"format", "version", "inputs", "outputs", "neurons", "connections"}
_NEURON_KEYS = {"id", ROLE, BIAS, ACTIVATION, LAYER, "extra"}
_CONNECTION_KEYS = {"source", "target", WEIGHT, "extra"}


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
    """Return the JSON-ready document for a validated network (what ``save`` writes)."""
    validate(G)
    neurons = []
    for node, data in G.nodes(data=True):
        record: dict[str, Any] = {"id": _encode_id(node, path), ROLE: data[ROLE]}
        if data[ROLE] != INPUT:
            record[BIAS] = float(data.get(BIAS, DEFAULT_BIAS))
            record[ACTIVATION] = data.get(ACTIVATION, DEFAULT_ACTIVATION)
            if data.get(LAYER) is not None:
                record[LAYER] = data[LAYER]
        extra = _extra(data, {ROLE, BIAS, ACTIVATION, LAYER}, f"neuron {node!r}", path)
        if extra:
            record["extra"] = extra
        neurons.append(record)
    connections = []
    for source, target, data in G.edges(data=True):
        record = {"source": _encode_id(source, path), "target": _encode_id(target, path),
                  WEIGHT: float(data[WEIGHT])}
        extra = _extra(data, {WEIGHT}, f"connection {source!r} -> {target!r}", path)
        if extra:
            record["extra"] = extra
        connections.append(record)
    return {"format": FORMAT, "version": VERSION,
            "inputs": [_encode_id(node, path) for node in inputs(G)],
            "outputs": [_encode_id(node, path) for node in outputs(G)],
            "neurons": neurons, "connections": connections}


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
    try:
        text = as_path(path, function="load").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ModelFileError(f"cannot read: {reason}", path=path) from None
    try:
        document = parse_json(text)
    except JSONRuleError as error:
        raise ModelFileError(str(error), path=path) from None
    except ValueError as error:
        raise ModelFileError(f"not a JSON model file: {error}", path=path) from None
    return from_document(document, path=path)


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
        raise ModelFileError(f'"version" must be an integer (this nngraph reads version {VERSION}), '
                             f"got {shown(json.dumps(version))[1:-1]}", path=path)
    if version != VERSION:
        raise ModelFileError(f"unknown format version {shown(version)}; this nngraph reads version {VERSION}",
                             path=path)
    _check_keys(document, _DOCUMENT_KEYS, "the top level", path)
    G = nx.DiGraph()
    for index, record in enumerate(_list(document, "neurons", path)):
        where = f"neuron #{index}"
        node = _decode_id(_field(record, "id", where, path), path)
        where = f"neuron {node!r}"
        _check_keys(record, _NEURON_KEYS, where, path)
        if node in G:
            raise ModelFileError(f"duplicate neuron {node!r}", path=path)
        attributes = _read_extra(record, {ROLE, BIAS, ACTIVATION, LAYER}, where, path)
        attributes[ROLE] = _field(record, ROLE, where, path)
        if attributes[ROLE] == INPUT:
            # Kept as they are, so that validate refuses them as it refuses them in a graph.
            attributes.update((key, record[key]) for key in (BIAS, ACTIVATION, LAYER) if key in record)
        else:
            attributes[BIAS] = _number(record.get(BIAS, DEFAULT_BIAS), f"{where}: bias", path)
            attributes[ACTIVATION] = record.get(ACTIVATION, DEFAULT_ACTIVATION)
            if record.get(LAYER) is not None:
                attributes[LAYER] = record[LAYER]
        G.add_node(node, **attributes)
    for index, record in enumerate(_list(document, "connections", path)):
        where = f"connection #{index}"
        source = _decode_id(_field(record, "source", where, path), path)
        target = _decode_id(_field(record, "target", where, path), path)
        where = f"connection {source!r} -> {target!r}"
        _check_keys(record, _CONNECTION_KEYS, where, path)
        for end in (source, target):
            if end not in G:
                raise ModelFileError(f"{where} names neuron {end!r}, which is not in the file", path=path)
        if G.has_edge(source, target):
            raise ModelFileError(f"duplicate {where}", path=path)
        weight = _number(_field(record, WEIGHT, where, path), f"{where}: weight", path)
        G.add_edge(source, target, **_read_extra(record, {WEIGHT}, where, path), **{WEIGHT: weight})
    try:
        validate(G)
    except NetworkError as error:
        raise ModelFileError(str(error), path=path) from error
    for key, found in (("inputs", inputs(G)), ("outputs", outputs(G))):
        listed = [_decode_id(node, path) for node in _list(document, key, path)]
        if listed != found:
            raise ModelFileError(f"{key!r} lists {listed!r}, but the neurons' roles give {found!r}", path=path)
    return G


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
