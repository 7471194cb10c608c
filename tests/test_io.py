"""Model files: exact round trips, and malformed files refused whole with the file named."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import ModelFileError
from nngraph.demo import lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.io import check_version


V1_LESSON_SHA256 = "c3a40a0c56acdec56af4f15e0141855abd121dd92032923aa97e0ea22b149b83"


def write(tmp_path: Path, document: object, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def lesson_document(tmp_path: Path) -> dict:
    path = tmp_path / "lesson.json"
    nngraph.save(lesson_model().graph, path)
    return json.loads(path.read_text())


def test_round_trip_is_exact_bit_for_bit(tmp_path: Path) -> None:
    G = lesson_model().graph
    G.edges["input/0", "dense/0"]["weight"] = 0.1 + 0.2  # a float with no short decimal form
    G.nodes["dense/1"]["bias"] = np.float64(-1e-300)
    path = tmp_path / "m.json"
    nngraph.save(G, path)
    loaded = nngraph.load(path)
    assert list(loaded.nodes(data=True)) == list(G.nodes(data=True))
    assert list(loaded.edges(data=True)) == list(G.edges(data=True))
    assert loaded.edges["input/0", "dense/0"]["weight"] == 0.1 + 0.2
    assert nngraph.inputs(loaded) == nngraph.inputs(G) and nngraph.outputs(loaded) == nngraph.outputs(G)
    x = np.random.default_rng(0).normal(size=(3, 8))
    np.testing.assert_array_equal(nngraph.run_reference(loaded, x).values, nngraph.run_reference(G, x).values)


def test_document_is_versioned_json_with_named_parts(tmp_path: Path) -> None:
    document = lesson_document(tmp_path)
    assert document["format"] == "nngraph" and document["version"] == 2  # it lists its layers
    assert document["inputs"][0] == "input/0" and len(document["outputs"]) == 4
    assert document["neurons"][8] == {"id": "dense/0", "role": "hidden", "bias": 0.0,
                                      "activation": "relu", "layer": "dense"}
    assert len(document["connections"]) == 108 and set(document["connections"][0]) == {"source", "target", "weight"}
    assert [record["name"] for record in document["layers"]] == ["dense", "dense_1", "dense_2"]
    assert document["layers"][2] == {
        "name": "dense_2", "kind": "Dense", "input_shape": [None, 6], "output_shape": [None, 4],
        "config": {"units": 4, "activation": "softmax", "use_bias": True,
                   "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"},
        "neurons": ["dense_2/0", "dense_2/1", "dense_2/2", "dense_2/3"]}


def test_a_network_without_the_new_keys_is_written_as_version_1_as_before(tmp_path: Path) -> None:
    G = lesson_model().graph
    del G.graph["layers"]
    path = tmp_path / "v1.json"
    nngraph.save(G, path)
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert list(document) == ["format", "version", "inputs", "outputs", "neurons", "connections"]
    assert all(set(record) <= {"id", "role", "bias", "activation", "layer"} for record in document["neurons"])
    assert all(set(record) == {"source", "target", "weight"} for record in document["connections"])
    # Byte for byte the file nngraph wrote for this network before version 2 existed.
    assert hashlib.sha256(path.read_bytes()).hexdigest() == V1_LESSON_SHA256


def tied_network() -> nx.DiGraph:
    """Every new key: aggregations, numbers tied across connections and biases, layer records."""
    G = lesson_model().graph
    G.nodes["dense/0"]["aggregation"] = "max"
    G.nodes["dense_1/2"]["aggregation"] = "median"
    for target in ("dense/1", "dense/2"):
        G.edges["input/3", target].update(weight=0.1 + 0.2, param="k")
    for node in ("dense_1/0", "dense_1/1"):
        G.nodes[node].update(bias=-1e-300, bias_param="b")
    G.edges["input/0", "dense/0"]["innovation"] = 7  # extras still travel under "extra"
    return G


def test_version_2_round_trip_is_exact(tmp_path: Path) -> None:
    G = tied_network()
    path = tmp_path / "v2.json"
    nngraph.save(G, path)
    document = json.loads(path.read_text())
    assert document["version"] == 2
    assert document["neurons"][8]["aggregation"] == "max"
    assert document["connections"][0] == {"source": "input/0", "target": "dense/0",
                                          "weight": G.edges["input/0", "dense/0"]["weight"],
                                          "extra": {"innovation": 7}}
    loaded = nngraph.load(path)
    assert list(loaded.nodes(data=True)) == list(G.nodes(data=True))
    assert list(loaded.edges(data=True)) == list(G.edges(data=True))
    assert loaded.graph == G.graph
    assert loaded.edges["input/3", "dense/2"]["weight"] == 0.1 + 0.2
    x = np.random.default_rng(0).normal(size=(3, 8))
    np.testing.assert_array_equal(nngraph.run_reference(loaded, x).values, nngraph.run_reference(G, x).values)


def test_a_version_2_file_is_refused_by_a_reader_of_version_1(tmp_path: Path) -> None:
    path = tmp_path / "v2.json"
    nngraph.save(tied_network(), path)
    document = json.loads(path.read_text())
    # A reader of version 1 refuses the file by its version, saying what to do ...
    with pytest.raises(ModelFileError, match="format version 2, which this nngraph cannot read "
                                             "\\(it reads version 1\\); upgrade nngraph") as info:
        check_version(document["version"], path=path, readable=(1,))
    assert info.value.path == path
    # ... and a file claiming version 1 with version 2's fields is no version-1 file either.
    forged = write(tmp_path, {**document, "version": 1}, name="forged.json")
    with pytest.raises(ModelFileError, match="has unknown fields"):
        nngraph.load(forged)


def test_a_version_1_file_with_extras_named_like_the_new_keys_still_loads(tmp_path: Path) -> None:
    document = lesson_document(tmp_path)
    document["version"] = 1
    del document["layers"]
    document["neurons"][8]["extra"] = {"aggregation": "max"}
    loaded = nngraph.load(write(tmp_path, document))
    assert loaded.nodes["dense/0"]["aggregation"] == "max"


def test_save_refuses_a_layer_config_it_cannot_store(tmp_path: Path) -> None:
    G = lesson_model().graph
    G.graph["layers"][0]["config"]["callback"] = object()
    with pytest.raises(ModelFileError, match="layer 'dense': its config must hold JSON values"):
        nngraph.save(G, tmp_path / "m.json")


def test_tuple_and_integer_ids_and_extra_attributes_survive(tmp_path: Path) -> None:
    G = nx.DiGraph()
    G.add_node(("x", 0), role="input", label="pixel")
    G.add_node(5, role="output", activation="tanh", note=[1, 2])
    G.add_edge(("x", 0), 5, weight=-2.5, innovation=17)
    nngraph.save(G, tmp_path / "g.json")
    loaded = nngraph.load(tmp_path / "g.json")
    assert list(loaded.nodes) == [("x", 0), 5]
    assert loaded.nodes[("x", 0)]["label"] == "pixel" and loaded.nodes[5]["note"] == [1, 2]
    assert loaded.edges[("x", 0), 5] == {"weight": -2.5, "innovation": 17}


def test_save_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    G = lesson_model().graph
    G.nodes["dense/0"]["callback"] = object()
    with pytest.raises(ModelFileError, match="neuron 'dense/0': attributes \\['callback'\\] must be JSON"):
        nngraph.save(G, tmp_path / "m.json")
    H = nx.DiGraph()
    H.add_node(1.5, role="input")
    H.add_node("y", role="output")
    with pytest.raises(ModelFileError, match="neuron id 1.5 \\(float\\) cannot be stored"):
        nngraph.save(H, tmp_path / "h.json")
    assert not (tmp_path / "h.json").exists()


def test_save_refuses_an_invalid_network_and_an_unwritable_path(tmp_path: Path) -> None:
    G = lesson_model().graph
    G.edges["dense/0", "dense_1/0"]["weight"] = float("nan")
    with pytest.raises(nngraph.NetworkError, match="connection 'dense/0' -> 'dense_1/0'"):
        nngraph.save(G, tmp_path / "m.json")
    blocker = tmp_path / "a-file"  # a file where a folder should be: unwritable even for root
    blocker.write_text("")
    with pytest.raises(ModelFileError, match="cannot write: Not a directory") as info:
        nngraph.save(lesson_model().graph, blocker / "m.json")
    assert info.value.path == blocker / "m.json"


MUTATIONS = {
    "not JSON": (lambda d: "{not json", "not a JSON model file"),
    "NaN constant": (lambda d: '{"format": "nngraph", "version": 1, "x": NaN}', "NaN is not a finite number"),
    "not an object": (lambda d: [1, 2], "not an nngraph model file"),
    "newer version": (lambda d: {**d, "version": 3}, "the file is in format version 3, which this nngraph "
                      "cannot read \\(it reads versions 1, 2\\); upgrade nngraph to read it"),
    "unknown version": (lambda d: {**d, "version": 0}, "unknown format version 0; this nngraph reads "
                        "versions 1, 2"),
    "version not an integer": (lambda d: {**d, "version": "2"}, '"version" must be an integer \\(this nngraph reads '
                               'versions 1, 2\\), got "2"'),
    "unknown aggregation": (lambda d: _set(d, "neurons", 8, "aggregation", "avg"),
                            "neuron 'dense/0': unknown aggregation 'avg'; known: sum, product"),
    "tied numbers differ": (lambda d: _set(_set(d, "connections", 0, "param", "k"), "connections", 1, "param", "k"),
                            "connection 'input/0' -> 'dense/0' \\(weight .*\\) and connection 'input/0' -> "
                            "'dense/1' \\(weight .*\\) are tied by the name 'k' but differ"),
    "param not a name": (lambda d: _set(d, "connections", 0, "param", 3), "param must be a name"),
    "layers not a list": (lambda d: {**d, "layers": {}}, "'layers' must be a list of layer records"),
    "layer of a missing neuron": (lambda d: _set(d, "layers", 0, "neurons", ["dense/99"]),
                                  "layer 'dense' lists neuron 'dense/99', which is not in the network"),
    "layer without neurons": (lambda d: _drop(d, "layers", 1, "neurons"), "layer record #1 has no 'neurons'"),
    "missing weight": (lambda d: _drop(d, "connections", 5, "weight"), "has no 'weight'"),
    "string weight": (lambda d: _set(d, "connections", 5, "weight", "0.5"), "weight must be a finite number"),
    "duplicate neuron": (lambda d: {**d, "neurons": d["neurons"] + [d["neurons"][9]]}, "duplicate neuron 'dense/1'"),
    "dangling connection": (lambda d: _set(d, "connections", 0, "target", "dense/99"),
                            "names neuron 'dense/99', which is not in the file"),
    "duplicate connection": (lambda d: {**d, "connections": d["connections"] + [d["connections"][0]]},
                             "duplicate connection 'input/0' -> 'dense/0'"),
    "unknown field": (lambda d: _set(d, "neurons", 8, "colour", "red"), "unknown fields \\['colour'\\]"),
    "no neurons list": (lambda d: {**d, "neurons": {}}, "'neurons' must be a list"),
    "bad activation": (lambda d: _set(d, "neurons", 8, "activation", "rleu"), "unknown activation 'rleu'"),
    "inputs out of order": (lambda d: {**d, "inputs": d["inputs"][::-1]}, "'inputs' lists"),
    "cycle": (lambda d: {**d, "connections": d["connections"] + [
        {"source": "dense_1/0", "target": "dense/0", "weight": 1.0}]}, "cycle"),
    # One rule for what version 1 does not define: refused, naming the key.
    "float version": (lambda d: {**d, "version": 1.0}, '"version" must be an integer .*, got 1.0'),
    "string version": (lambda d: {**d, "version": "1"}, '"version" must be an integer .*, got "1"'),
    "boolean version": (lambda d: {**d, "version": True}, '"version" must be an integer .*, got true'),
    "no version": (lambda d: {k: v for k, v in d.items() if k != "version"}, "the top level has no 'version'"),
    "unknown top-level key": (lambda d: {**d, "colour": "red"}, "the top level has unknown fields \\['colour'\\]"),
    "repeated key": (lambda d: json.dumps(d).replace('"weight": ', '"weight": 1.0, "weight": ', 1),
                     "an object repeats the key 'weight'; each key may appear once"),
    # An input carries nothing but its role, in a file as in a graph.
    "input with bias": (lambda d: _set(d, "neurons", 0, "bias", 0.5), "input 'input/0' carries 'bias'"),
    "input with activation": (lambda d: _set(d, "neurons", 0, "activation", "relu"),
                              "input 'input/0' carries 'activation'"),
    "input with layer": (lambda d: _set(d, "neurons", 1, "layer", "input"), "input 'input/1' carries 'layer'"),
    # Numbers beyond float range, named where they are.
    "huge integer weight": (lambda d: _set(d, "connections", 5, "weight", 10**400),
                            "connection 'input/0' -> 'dense/5': weight must be a finite number, "
                            "got 100000000000000000\\.\\.\\.0000000000000000000, beyond float range"),
    "huge integer bias": (lambda d: _set(d, "neurons", 9, "bias", -(10**400)),
                          "neuron 'dense/1': bias must be a finite number, got -1000.*beyond float range"),
    "huge float weight": (lambda d: json.dumps(_set(d, "connections", 5, "weight", 12345.5)).replace(
        "12345.5", "1.5e400"), "the number 1.5e400 is beyond float range"),
    "huge float extra": (lambda d: json.dumps(_set(d, "neurons", 9, "extra", {"note": 12345.5})).replace(
        "12345.5", "-2e999"), "the number -2e999 is beyond float range"),
    # Nesting: too deep for the parser, or deeper than the stated limit where values are free.
    "deep file": (lambda d: json.dumps(d)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                  "lists and objects nested too deep: more than 100 levels"),
    "deep extra": (lambda d: _set(d, "neurons", 9, "extra", {"a": _nested(150)}),
                   "neuron 'dense/1': 'extra' nested too deep: more than 100 levels"),
    "deep id": (lambda d: {**d, "inputs": [_nested(150)] + d["inputs"][1:]},
                "neuron id \\[\\[.*nested too deep: more than 100 levels"),
}


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _drop(d: dict, key: str, index: int, field: str) -> dict:
    d[key][index].pop(field)
    return d


def _set(d: dict, key: str, index: int, field: str, value: object) -> dict:
    d[key][index][field] = value
    return d


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_malformed_files_are_refused_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    mutate, message = MUTATIONS[case]
    path = write(tmp_path, mutate(lesson_document(tmp_path)), name="broken.json")
    with pytest.raises(ModelFileError, match=message) as info:
        nngraph.load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.path == path


def test_save_refuses_what_it_could_not_read_back(tmp_path: Path) -> None:
    G = lesson_model().graph
    G.nodes["dense/0"]["note"] = _nested(150)
    with pytest.raises(ModelFileError, match="neuron 'dense/0': attributes nested too deep: more than 100"):
        nngraph.save(G, tmp_path / "m.json")
    G.nodes["dense/0"]["note"] = _nested(5000)  # too deep for json.dumps as well: still refused
    with pytest.raises(ModelFileError, match="nested too deep"):
        nngraph.save(G, tmp_path / "m.json")
    H = nx.DiGraph()
    node: tuple = ("x",)
    for _ in range(150):
        node = (node,)
    H.add_node(node, role="input")
    H.add_node("y", role="output")
    with pytest.raises(ModelFileError, match="neuron id .* nested too deep"):
        nngraph.save(H, tmp_path / "h.json")
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "h.json").exists()


def test_save_makes_missing_folders_and_keeps_the_previous_file_when_it_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "new" / "folder" / "m.json"
    nngraph.save(lesson_model().graph, path)
    before = path.read_text()
    model = Sequential([Dense(units=3, input_shape=(2,))], seed=0)

    def full_disk(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("nngraph.files.os.fsync", full_disk)
    with pytest.raises(ModelFileError, match="m.json: cannot write: No space left on device"):
        nngraph.save(model.graph, path)
    assert path.read_text() == before and os.listdir(path.parent) == ["m.json"]


@pytest.mark.parametrize("call", [lambda: nngraph.load(None), lambda: nngraph.save(lesson_model().graph, None),
                                  lambda: nngraph.save(lesson_model().graph, 3), lambda: nngraph.load(b"m.json")])
def test_a_path_that_is_not_a_path_is_an_argument_error(call) -> None:
    with pytest.raises(nngraph.ArgumentError, match="(load|save): path must be a str or os.PathLike") as caught:
        call()
    assert isinstance(caught.value, TypeError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="missing.json: cannot read: No such file or directory"):
        nngraph.load(tmp_path / "missing.json")


def test_load_never_unpickles(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(lesson_model().graph))
    with pytest.raises(ModelFileError, match="cannot read|not a JSON model file"):
        nngraph.load(path)
