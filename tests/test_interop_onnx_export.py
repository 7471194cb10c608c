"""Export to ONNX: every model checks with onnx.checker, and onnxruntime computes what ``plan(x)`` computes.

Networks: the lesson's, Dense stacks with every activation nngraph knows, group-wise softmax and
layer_norm over several groups, random DAGs (``tests/strategies.py``: skip connections, partial
wiring, every aggregation, tied numbers), a CNN, recurrent layers and a neat-python genome. Each in
float32 (1e-5) and float64 (1e-10).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import neat
import networkx as nx
import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_close, networks

import nngraph
from nngraph import ArgumentError, ExtraMissingError, InputError, InteropError
from nngraph.interop import onnx_conv, onnx_export, onnx_nodes
from nngraph.core.network import reordered
from nngraph.interop.neat import from_neat
from nngraph.interop.onnx_export import to_onnx
from nngraph.layers import (GRU, LSTM, AveragePooling2D, BatchNormalization, Conv1D, Conv2D, Dense, Flatten,
                            GlobalAveragePooling1D, LayerNormalization, MaxPooling1D, MaxPooling2D, SimpleRNN)
from nngraph.models import Sequential

HERE = Path(__file__).resolve().parent
RTOL = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = (np.float32, np.float64)


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def assert_exports(network: object, x: np.ndarray, *, dtype: type = np.float64, opset: int | None = None) -> onnx.ModelProto:
    """Export ``network``, check the model and compare onnxruntime's outputs with the plan's on ``x``."""
    G = network.graph if isinstance(network, Sequential) else network
    plan = nngraph.compile_network(G, dtype=dtype)
    model = to_onnx(network, dtype=dtype) if opset is None else to_onnx(network, dtype=dtype, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    x = np.asarray(x, dtype=dtype).reshape(len(x), -1)
    got = run_onnx(model, x)
    assert got.dtype == dtype and got.shape == (len(x), len(plan.outputs))
    assert_close(got, plan(x).reshape(len(x), -1), rtol=RTOL[dtype], what="onnxruntime output",
                 names=list(plan.outputs))
    return model


def samples(n_inputs: int, *, batch: int = 6, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=(batch, n_inputs))


def lesson() -> Sequential:
    return Sequential([Dense(units=6, input_shape=(8,), activation="relu"), Dense(units=6, activation="relu"),
                       Dense(units=4, activation="softmax")], seed=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_lesson_network_is_one_gemm_and_one_activation_per_layer(dtype: type) -> None:
    model = assert_exports(lesson(), samples(8), dtype=dtype)
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax",
                                                           "Identity"]
    element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    for value, width in ((model.graph.input[0], 8), (model.graph.output[0], 4)):
        dims = value.type.tensor_type.shape.dim
        assert value.type.tensor_type.elem_type == element
        assert (dims[0].dim_param, dims[1].dim_value) == ("batch", width)
    assert [value.name for value in model.graph.input] == ["input"]
    assert [value.name for value in model.graph.output] == ["output"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_compiled_plan_and_a_graph_export_alike(dtype: type) -> None:
    model = lesson()
    x = samples(8).astype(dtype)
    from_plan = run_onnx(to_onnx(nngraph.compile_network(model.graph, dtype=dtype), dtype=dtype), x)
    from_ir = run_onnx(to_onnx(nngraph.compile_network(model.graph).plan, dtype=dtype), x)
    np.testing.assert_allclose(from_plan, run_onnx(to_onnx(model.graph, dtype=dtype), x), rtol=RTOL[dtype])
    np.testing.assert_allclose(from_ir, from_plan, rtol=RTOL[dtype])


ACTIVATIONS = sorted(set(nngraph.known_activations()) - {"layer_norm"}) + [
    "leaky_relu(alpha=0.1)", "elu(alpha=0.5)", "selu(alpha=1.5, scale=0.9)", "hard_sigmoid(alpha=0.2, beta=0.4)",
    "softplus(beta=2.0, threshold=3.0)", "softplus(beta=0.5)"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_stacks_export_every_activation(activation: str, dtype: type) -> None:
    model = Sequential([Dense(units=5, input_shape=(4,), activation=activation),
                        Dense(units=3, activation=activation)], seed=1)
    x = np.concatenate([samples(4, scale=3.0), np.zeros((1, 4)), np.full((1, 4), 9.0)])
    assert_exports(model, x, dtype=dtype)


def test_every_activation_and_aggregation_has_an_onnx_form() -> None:
    kinds = {nngraph.resolve_activation(name).kind for name in nngraph.known_activations()}
    assert kinds == set(onnx_nodes.FORMULAS)
    assert set(nngraph.known_aggregations()) == set(onnx_nodes.REDUCTIONS)


@pytest.mark.parametrize("dtype", DTYPES)
def test_group_wise_activations_over_several_groups(dtype: type) -> None:
    model = Sequential([Dense(units=4, input_shape=(3, 5), activation="softmax"),
                        LayerNormalization(epsilon=0.01), Flatten(), Dense(units=2, activation="layer_norm")],
                       seed=2)
    plan = nngraph.compile_network(model.graph)
    assert any(getattr(op, "groups", 1) > 1 for op in plan.ops)
    assert_exports(model, samples(15), dtype=dtype)


def test_the_erf_pieces_are_scipys_erf_in_float64() -> None:
    from scipy import special

    x = np.linspace(-8.0, 8.0, 20001)
    model = Sequential([Dense(units=1, input_shape=(1,), activation="gelu")], seed=0)
    model.layers[0].set_weights([np.ones((1, 1)), np.zeros(1)])
    got = run_onnx(to_onnx(model, dtype=np.float64), x[:, None])[:, 0]
    np.testing.assert_allclose(got, 0.5 * x * (1 + special.erf(x / np.sqrt(2))), rtol=1e-12, atol=1e-13)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(1, 4), st.integers(0, 2**16), st.sampled_from(DTYPES),
       st.sampled_from((13, 17, 18)))
def test_random_networks_export(G: nx.DiGraph, batch: int, seed: int, dtype: type, opset: int) -> None:
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(batch, len(nngraph.inputs(G))))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        assert_exports(G, x, dtype=dtype, opset=opset)


@pytest.mark.parametrize("aggregation", nngraph.known_aggregations())
@pytest.mark.parametrize("opset", (13, 18))
def test_every_aggregation_with_ties_and_no_terms(aggregation: str, opset: int) -> None:
    G = nngraph.new_network()
    for node in ("a", "b", "c", "d"):
        nngraph.add_input(G, node)
    for node, sources in (("m", "abcd"), ("t", "ab"), ("e", "")):
        nngraph.add_neuron(G, nngraph.Neuron(node, role="hidden", aggregation=aggregation, bias=0.25,
                                             activation="tanh"))
        for k, source in enumerate(sources):
            nngraph.connect(G, source, node, (-1.0) ** k)
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", aggregation=aggregation, activation="softmax",
                                         layer="out"))
    nngraph.add_neuron(G, nngraph.Neuron("z", role="output", aggregation="sum", activation="softmax",
                                         layer="out"))
    for source in ("m", "t", "e", "a"):
        nngraph.connect(G, source, "y", 0.5)
        nngraph.connect(G, source, "z", -0.5)
    x = np.array([[1.0, 1.0, -2.0, 0.5], [3.0, -3.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]])  # ties of magnitude
    for dtype in DTYPES:
        assert_exports(G, x, dtype=dtype, opset=opset)


def assert_convolutions(model: Sequential, exported: onnx.ModelProto, dtype: type) -> None:
    """Every shared-weights op of the plan is one ONNX Conv in float32 (onnxruntime has no float64 Conv)."""
    shared = sum(op.kind == "shared" for op in nngraph.compile_network(model.graph, dtype=dtype).ops)
    convs = sum(node.op_type == "Conv" for node in exported.graph.node)
    assert shared >= 1 and convs == (shared if dtype == np.float32 else 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_cnn_exports(dtype: type) -> None:
    model = Sequential([Conv2D(3, 3, padding="same", activation="relu", input_shape=(8, 8, 2)), MaxPooling2D(2),
                        Conv2D(4, 2, strides=2, activation="elu"), AveragePooling2D(1, padding="same"),
                        BatchNormalization(), Flatten(), Dense(3, activation="softmax")], seed=3)
    model.layers[4].set_weights([np.full(4, 1.5), np.full(4, 0.1), np.full(4, 0.2), np.full(4, 2.0)])
    exported = assert_exports(model, samples(128), dtype=dtype)
    assert_convolutions(model, exported, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_1d_cnn_with_global_pooling_exports(dtype: type) -> None:
    model = Sequential([Conv1D(4, 3, padding="same", activation="tanh", input_shape=(48, 3)), MaxPooling1D(2),
                        Conv1D(4, 3, dilation_rate=2, padding="same"), Conv1D(4, 3, strides=2),
                        GlobalAveragePooling1D(), Dense(2)], seed=4)
    exported = assert_exports(model, samples(144), dtype=dtype)
    assert_convolutions(model, exported, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", (LSTM, GRU, SimpleRNN))
def test_recurrent_layers_export(layer: type, dtype: type) -> None:
    model = Sequential([layer(4, input_shape=(3, 2)), Dense(2, activation="sigmoid")], seed=5)
    assert_exports(model, samples(6), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_neat_genome_exports(dtype: type) -> None:
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, str(HERE / "data" / "neat_everything.cfg"))
    population = neat.Population(config, seed=2)

    def fitness(genomes: list, config: neat.Config) -> None:
        for _, genome in genomes:
            genome.fitness = float(len(genome.connections))

    population.run(fitness, 4)
    genomes = sorted(population.population.values(), key=lambda genome: -len(genome.nodes))
    x = np.random.default_rng(6).uniform(-1.0, 1.0, size=(5, 3))
    for genome in genomes[:3]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            assert_exports(from_neat(genome, config), x, dtype=dtype)


def test_a_path_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "models" / "lesson.onnx"
    target.parent.mkdir()
    target.write_bytes(b"an older file")
    model = to_onnx(lesson(), target)
    assert target.read_bytes() == model.SerializeToString()
    assert onnx.load(str(target)) == model
    assert [path.name for path in target.parent.iterdir()] == ["lesson.onnx"]  # no temporary file left
    with pytest.raises(OSError) as caught:
        to_onnx(lesson(), tmp_path / "models")  # a folder: nothing replaced, the error names the path
    assert caught.value.filename == str(tmp_path / "models")
    assert target.read_bytes() == model.SerializeToString()


def test_untrusted_names_reach_doc_strings_escaped_only() -> None:
    G = nngraph.new_network()
    evil = "x\r\n\x1b[2J\u202e; import os"
    nngraph.add_input(G, evil)
    nngraph.add_neuron(G, nngraph.Neuron("out\u2028put", role="output", activation="tanh"))
    nngraph.connect(G, evil, "out\u2028put", 2.0)
    model = to_onnx(G)
    texts = [model.graph.input[0].doc_string, model.graph.output[0].doc_string] + [
        node.doc_string for node in model.graph.node]
    assert any("\\x1b[2J" in text for text in texts) and any("\\u2028" in text for text in texts)
    assert all(text.isascii() and text.isprintable() for text in texts)
    names = [node.name for node in model.graph.node] + [init.name for init in model.graph.initializer]
    assert all(name.isidentifier() for name in names)
    assert_exports(G, samples(1))


def one_neuron(**attributes: str) -> nx.DiGraph:
    """An input ``x`` feeding one output ``y`` with ``attributes``."""
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", **attributes))
    nngraph.connect(G, "x", "y", 1.0)
    return G


def test_an_activation_without_onnx_form_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(onnx_nodes.FORMULAS, "neat_hat")
    with pytest.raises(InteropError, match=r"op 0: activation 'neat_hat' has no ONNX form") as caught:
        to_onnx(one_neuron(activation="neat_hat"))
    assert caught.value.part == 0


def test_an_aggregation_without_onnx_form_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(onnx_nodes.REDUCTIONS, "median")
    with pytest.raises(InteropError, match=r"op 0: aggregation 'median' has no ONNX form"):
        to_onnx(one_neuron(aggregation="median"))


def test_a_model_beyond_protobufs_limit_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(onnx_export, "PROTOBUF_LIMIT", 1000)
    with pytest.raises(InteropError, match=r"the ONNX model would take [\d,]+ bytes; one ONNX file holds at "
                                           r"most 1,000 \(protobuf's limit\)"):
        to_onnx(lesson(), tmp_path / "big.onnx")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="dtype must be float64 or float32"):
        to_onnx(lesson(), dtype=np.int32)
    with pytest.raises(ArgumentError, match=r"opset must be a whole number from 13 to \d+ .*got 12"):
        to_onnx(lesson(), opset=12)
    with pytest.raises(ArgumentError, match="expected a network .* got list"):
        to_onnx([1, 2])


def test_without_onnx_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ExtraMissingError, match=r"pip install 'nngraph\[onnx\]'"):
        to_onnx(lesson())


def test_reexported() -> None:
    assert nngraph.to_onnx is to_onnx and nngraph.interop.to_onnx is to_onnx


def test_the_export_example_writes_both_models_and_they_agree(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    example = runpy.run_path(str(HERE.parent / "examples" / "export_onnx.py"))
    example["main"]([str(tmp_path)])
    out = capsys.readouterr().out
    assert "operators: Gemm Relu Gemm Relu Gemm Softmax Identity" in out and "ReduceMax" in out
    differences = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "largest difference" in line]
    assert len(differences) == 2 and max(differences) < 1e-5
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lesson.onnx", "neat_style.onnx"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(DTYPES))
def test_weighted_sums_beyond_the_dense_limit_gather_their_connections(G: nx.DiGraph, dtype: type) -> None:
    x = np.random.default_rng(7).uniform(-1.0, 1.0, size=(3, len(nngraph.inputs(G))))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(onnx_export, "DENSE_LIMIT", 0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model = assert_exports(G, x, dtype=dtype)
    assert "Gemm" not in {node.op_type for node in model.graph.node}


def test_gathered_sums_keep_a_nan_to_the_neurons_it_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_export, "DENSE_LIMIT", 0)
    G = nngraph.new_network()
    for node in ("a", "b"):
        nngraph.add_input(G, node)
    for node, source in (("ya", "a"), ("yb", "b")):
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output"))
        nngraph.connect(G, source, node, 2.0)
    got = run_onnx(to_onnx(G, dtype=np.float64), np.array([[np.nan, 1.5]]))
    assert np.isnan(got[0, 0]) and got[0, 1] == 3.0


def conv_stack() -> Sequential:
    return Sequential([Conv1D(4, 3, padding="same", input_shape=(48, 3)), Conv1D(4, 3, dilation_rate=2, padding="same"),
                       Conv1D(4, 3, strides=2), Flatten(), Dense(2)], seed=8)


def test_the_convolutions_found_are_the_layers_settings() -> None:
    model = conv_stack()
    plan = nngraph.compile_network(model.graph, dtype=np.float32).plan
    found = [onnx_conv.conv_geometry(plan, op) for op in plan.ops if op.kind == "shared"]
    assert [(g.strides, g.dilations, g.pads, g.weights.shape) for g in found] == [
        ((1,), (1,), (1, 1), (4, 3, 3)), ((1,), (2,), (2, 2), (4, 4, 3)), ((2,), (1,), (0, 0), (4, 4, 3))]
    kernel = model.layers[1].get_weights()[0]  # Keras' (kernel, in channels, filters)
    np.testing.assert_array_equal(found[1].weights, kernel.transpose(2, 1, 0).astype(np.float32))


def test_without_layer_records_convolutions_export_as_gathers() -> None:
    G = conv_stack().graph.copy()
    del G.graph["layers"]
    exported = assert_exports(G, samples(144), dtype=np.float32)
    assert "Conv" not in {node.op_type for node in exported.graph.node}


def test_channels_first_inputs_export_what_the_plan_computes() -> None:
    G = conv_stack().graph
    features = np.array(nngraph.inputs(G), dtype=object).reshape(48, 3)
    H = reordered(G, inputs=features.T.ravel().tolist())  # as an importer of a channels-first network
    exported = assert_exports(H, samples(144), dtype=np.float32)
    # The input positions are found by name (channels last) whatever order the features come in,
    # so every layer, the first too, is one Conv over its maps.
    assert [node.op_type for node in exported.graph.node].count("Conv") == 3
