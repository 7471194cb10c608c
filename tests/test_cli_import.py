"""``nngraph import``: an ONNX, Keras or neat-python file as an nngraph model file that computes what
the foreign library computes. Usage and file errors sit with every command's in ``tests/test_cli.py``
and ``tests/test_cli_files.py``."""

from __future__ import annotations

from pathlib import Path

import keras
import neat
import networkx as nx
import numpy as np
import onnxruntime
import pytest
from neat.export import export_network_json
from test_cli_files import cli

import nngraph

CONFIG = Path(nngraph.__file__).resolve().parents[1] / "examples" / "neat_xor.cfg"


@pytest.fixture(scope="module")
def keras_model() -> keras.Model:
    keras.utils.set_random_seed(4)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="relu"),
                             keras.layers.Dense(6, activation="relu"), keras.layers.Dense(4, activation="softmax")])


def imported(capsys: pytest.CaptureFixture, source: Path, target: Path, what: str, counts: str) -> nx.DiGraph:
    status, out, err = cli(capsys, "import", source, "-o", target)
    assert (status, err) == (0, "")
    assert out == f"wrote {target}: {source} ({what}), {counts}\n"
    return nngraph.load(target)


def test_a_keras_file_comes_in_as_the_lessons_network(capsys, tmp_path: Path, keras_model: keras.Model) -> None:
    keras_model.save(tmp_path / "lesson.keras")
    G = imported(capsys, tmp_path / "lesson.keras", tmp_path / "lesson.json", "Keras",
                 "24 neurons (8 inputs, 4 outputs), 108 connections, 124 parameters")
    assert nx.utils.graphs_equal(G, nngraph.from_keras(tmp_path / "lesson.keras"))
    x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    np.testing.assert_allclose(nngraph.compile_network(G, dtype=np.float32)(x), keras_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_an_onnx_file_comes_in_and_goes_back_out(capsys, tmp_path: Path, keras_model: keras.Model) -> None:
    """Keras -> nngraph -> ONNX (onnxruntime agrees with Keras) -> nngraph import -> export again."""
    nngraph.to_onnx(nngraph.from_keras(keras_model), tmp_path / "lesson.onnx")
    x = np.random.default_rng(1).normal(size=(6, 8)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "lesson.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], keras_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    G = imported(capsys, tmp_path / "lesson.onnx", tmp_path / "back.json", "ONNX",
                 "24 neurons (8 inputs, 4 outputs), 108 connections, 124 parameters")
    np.testing.assert_allclose(nngraph.compile_network(G, dtype=np.float32)(x), keras_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    status, _, err = cli(capsys, "export", tmp_path / "back.json", "-o", tmp_path / "again.onnx")
    assert (status, err) == (0, "")
    again = onnxruntime.InferenceSession(str(tmp_path / "again.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(again.run(None, {"input": x})[0], session.run(None, {"input": x})[0],
                               rtol=1e-5, atol=1e-6)


def test_neat_pythons_json_export_comes_in_with_its_node_ids(capsys, tmp_path: Path) -> None:
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, str(CONFIG))
    genome = next(iter(neat.Population(config, seed=2).population.values()))
    network = neat.nn.FeedForwardNetwork.create(genome, config)
    export_network_json(network, filepath=str(tmp_path / "xor.json"))
    G = nngraph.from_neat(genome, config)
    loaded = imported(capsys, tmp_path / "xor.json", tmp_path / "xor-network.json",
                      "neat-python's JSON export",
                      f"{G.number_of_nodes()} neurons (2 inputs, 1 outputs), {G.number_of_edges()} connections, "
                      f"{nngraph.count_params(G)} parameters")
    assert nngraph.inputs(loaded) == [-1, -2] and nngraph.outputs(loaded) == [0]
    for sample in ([0.0, 1.0], [1.0, 1.0], [0.3, -0.7]):
        assert nngraph.compile_network(loaded)(sample)[0] == pytest.approx(network.activate(sample)[0], rel=1e-12)
