"""The Keras-style front end: the lesson's code runs unchanged and behaves as Keras does."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nngraph
from nngraph import LayerError
from nngraph.layers import Dense, Input
from nngraph.models import Sequential


def lesson(seed: int | None = 0) -> Sequential:
    layers = [
        Dense(units=6, input_shape=(8,), activation='relu'),
        Dense(units=6, activation='relu'),
        Dense(units=4, activation='softmax'),
    ]
    return Sequential(layers, seed=seed)


def test_the_lesson_network_has_the_lessons_shape() -> None:
    G = lesson().graph
    assert len(nngraph.inputs(G)) == 8
    assert len(nngraph.computed(G)) == 16
    assert G.number_of_edges() == 108
    nngraph.validate(G)


def test_neurons_are_named_by_layer_and_index_and_carry_their_layer() -> None:
    G = lesson().graph
    assert nngraph.inputs(G) == [f"input/{i}" for i in range(8)]
    assert nngraph.outputs(G) == [f"dense_2/{i}" for i in range(4)]
    assert G.nodes["dense_1/5"] == {"role": "hidden", "bias": 0.0, "activation": "relu", "layer": "dense_1"}
    assert G.nodes["dense_2/0"]["role"] == "output" and G.nodes["dense_2/0"]["layer"] == "dense_2"
    assert set(G.predecessors("dense_1/0")) == {f"dense/{i}" for i in range(6)}


def test_automatic_layer_names_and_parameter_counts() -> None:
    model = lesson()
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"]
    assert [layer.count_params() for layer in model.layers] == [54, 42, 28]
    assert model.count_params() == 124
    assert model.input_shape == (None, 8) and model.output_shape == (None, 4)


def test_summary_prints_a_keras_like_table() -> None:
    lines: list[str] = []
    lesson().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "sequential"' in text
    assert " dense (Dense)                  (None, 6)                     54" in text
    assert " dense_1 (Dense)                (None, 6)                     42" in text
    assert " dense_2 (Dense)                (None, 4)                     28" in text
    assert "Total params: 124" in text


def test_glorot_uniform_kernels_and_zero_biases() -> None:
    model = lesson()
    kernel, bias = model.layers[0].get_weights()
    assert kernel.shape == (8, 6) and bias.shape == (6,)
    assert np.all(bias == 0)
    limit = math.sqrt(6 / (8 + 6))
    assert np.all(np.abs(kernel) <= limit) and np.abs(kernel).max() > limit / 2
    assert len(np.unique(kernel)) == kernel.size


def test_seed_makes_weights_reproducible() -> None:
    first, again, other = lesson(seed=3), lesson(seed=3), lesson(seed=4)
    for a, b, c in zip(first.layers, again.layers, other.layers):
        np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
        assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_add_and_input_layer() -> None:
    model = Sequential(name="stacked", seed=1)
    model.add(Input(shape=(3,)))
    model.add(Dense(4, activation="tanh"))
    assert nngraph.outputs(model.graph) == [f"dense/{i}" for i in range(4)]
    model.add(Dense(2, name="head"))
    assert nngraph.outputs(model.graph) == ["head/0", "head/1"]
    assert model.graph.nodes["dense/0"]["role"] == "hidden"
    assert model.get_layer("head").activation == "linear"


def test_set_weights_writes_the_graph_in_keras_layout() -> None:
    model = lesson()
    layer = model.layers[1]
    kernel = np.arange(36, dtype=float).reshape(6, 6)
    layer.set_weights([kernel, np.full(6, 0.5)])
    assert model.graph.edges["dense/2", "dense_1/3"]["weight"] == kernel[2, 3]
    assert model.graph.nodes["dense_1/4"]["bias"] == 0.5
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)


def test_use_bias_false_has_no_bias_parameters() -> None:
    model = Sequential([Dense(3, input_shape=(2,), use_bias=False)], seed=0)
    assert model.count_params() == 6 and len(model.layers[0].get_weights()) == 1
    with pytest.raises(LayerError, match=r"set_weights expects 1 arrays"):
        model.layers[0].set_weights([np.zeros((2, 3)), np.zeros(3)])


def test_predict_agrees_with_the_reference_pass() -> None:
    model = lesson()
    x = np.random.default_rng(0).normal(size=(4, 8))
    np.testing.assert_allclose(model.predict(x), nngraph.run_reference(model.graph, x).outputs)
    assert model.predict(x[0]).shape == (4,)
    np.testing.assert_allclose(model.predict(x).sum(axis=1), 1.0)


def test_first_layer_needs_an_input_shape() -> None:
    with pytest.raises(LayerError, match=r"the first layer needs input_shape"):
        Sequential([Dense(units=6, activation="relu")])


@pytest.mark.parametrize("units", [0, -3, 2.5, True, "6"])
def test_units_must_be_positive(units: object) -> None:
    with pytest.raises(LayerError, match="units must be a positive whole number"):
        Dense(units=units)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(0,), (28, -1), (), ("8",), 2.5, True])
def test_input_shape_must_be_positive_sizes(shape: object) -> None:
    with pytest.raises(LayerError, match=r"input_shape must be a tuple of positive whole numbers"):
        Dense(units=2, input_shape=shape)  # type: ignore[arg-type]


def test_set_weights_refuses_wrong_shapes() -> None:
    layer = lesson().layers[0]
    with pytest.raises(LayerError, match=r"layer 'dense': kernel must have shape \(8, 6\), got \(6, 8\)"):
        layer.set_weights([np.zeros((6, 8)), np.zeros(6)])
    with pytest.raises(LayerError, match=r"bias must have shape \(6,\), got \(4,\)"):
        layer.set_weights([np.zeros((8, 6)), np.zeros(4)])
    with pytest.raises(LayerError, match="non-finite"):
        layer.set_weights([np.full((8, 6), np.inf), np.zeros(6)])


def test_unknown_activation_and_initializer() -> None:
    with pytest.raises(nngraph.UnknownActivationError, match="unknown activation 'rleu'"):
        Dense(units=2, activation="rleu")
    with pytest.raises(LayerError, match="kernel_initializer: unknown initializer 'glorot'"):
        Dense(units=2, kernel_initializer="glorot")


def test_duplicate_names_and_reused_layers_are_refused() -> None:
    model = Sequential([Dense(2, input_shape=(2,), name="a")])
    with pytest.raises(LayerError, match="already has a layer named 'a'"):
        model.add(Dense(2, name="a"))
    shared = model.layers[0]
    with pytest.raises(LayerError, match="already belongs to a model"):
        Sequential([Input(shape=(2,)), shared])


def test_unbuilt_layer_has_no_weights() -> None:
    layer = Dense(3)
    assert layer.get_weights() == []
    with pytest.raises(LayerError, match="add it to a Sequential model first"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(3)])


@pytest.mark.parametrize("name", ["glorot_normal", "he_uniform", "he_normal", "lecun_normal", "ones"])
def test_other_initializers(name: str) -> None:
    model = Sequential([Dense(50, input_shape=(40,), kernel_initializer=name)], seed=0)
    kernel = model.layers[0].get_weights()[0]
    if name == "ones":
        assert np.all(kernel == 1)
        return
    fan_in, fan_avg = 40, 45
    expected_std = {"glorot_normal": math.sqrt(1 / fan_avg), "he_uniform": math.sqrt(2 / fan_in),
                    "he_normal": math.sqrt(2 / fan_in), "lecun_normal": math.sqrt(1 / fan_in)}[name]
    assert kernel.std() == pytest.approx(expected_std, rel=0.1)


def test_predict_sees_weights_changed_after_an_earlier_call() -> None:
    model = lesson()
    x = np.ones(8)
    before = model.predict(x)
    model.graph.nodes["dense_2/0"]["bias"] = 50.0
    after = model.predict(x)
    assert after[0] > 0.999 > before[0]
    np.testing.assert_allclose(after, nngraph.run_reference(model.graph, x).outputs[0], rtol=1e-12)


def test_predict_without_layers_is_refused() -> None:
    with pytest.raises(LayerError, match="no layers yet"):
        Sequential().predict(np.ones(3))


def test_every_layer_leaves_its_record_in_the_graph() -> None:
    model = Sequential([Input(shape=(3,)), Dense(units=2, activation="tanh", use_bias=False, name="hidden"),
                        Dense(units=1, kernel_initializer="ones")], seed=0)
    records = model.graph.graph["layers"]
    assert records == [
        {"name": "hidden", "kind": "Dense", "input_shape": [None, 3], "output_shape": [None, 2],
         "config": {"units": 2, "activation": "tanh", "use_bias": False, "kernel_initializer": "glorot_uniform",
                    "bias_initializer": "zeros"}, "neurons": ["hidden/0", "hidden/1"]},
        {"name": "dense", "kind": "Dense", "input_shape": [None, 2], "output_shape": [None, 1],
         "config": {"units": 1, "activation": "linear", "use_bias": True, "kernel_initializer": "ones",
                    "bias_initializer": "zeros"}, "neurons": ["dense/0"]}]
    assert nngraph.layer_records(model.graph)[0] == nngraph.LayerRecord(
        "hidden", "Dense", records[0]["config"], (None, 3), (None, 2), ("hidden/0", "hidden/1"))
    assert model.count_params() == 6 + 3  # the layer without bias counts its kernel only


def test_a_loaded_model_summarises_as_the_sequential_does(tmp_path) -> None:
    from nngraph.keras.summary import describe

    model = Sequential([Dense(units=5, input_shape=(4,), activation="relu", use_bias=False),
                        Dense(units=3, activation="softmax")], name="m", seed=0)
    nngraph.save(model.graph, tmp_path / "m.json")
    loaded = nngraph.load(tmp_path / "m.json")
    table = model.summary_text()
    assert describe(loaded, title="m").startswith(table + "\n")
    assert "Total params: 38" in table and " dense (Dense)                  (None, 5)                     20" in table
    # without records, a graph is summarised by its columns, inputs included
    del loaded.graph["layers"]
    assert " input (Input)" in describe(loaded, title="m")


BAD_RECORDS = {
    "not a list": (lambda records: {"a": 1}, "the graph attribute 'layers' must be a list of layer records"),
    "not a dict": (lambda records: records + [3], "layer record #3 must be a dict"),
    "missing key": (lambda records: [{k: v for k, v in records[0].items() if k != "kind"}, *records[1:]],
                    "layer 'dense': the record lacks \\['kind'\\]"),
    "unknown key": (lambda records: [{**records[0], "colour": "red"}, *records[1:]],
                    "layer 'dense': the record has unknown keys \\['colour'\\]"),
    "name not a str": (lambda records: [{**records[0], "name": 5}, *records[1:]],
                       "layer record #0: 'name' must be a non-empty str"),
    "duplicate name": (lambda records: [records[0], {**records[1], "name": "dense"}, records[2]],
                       "layer 'dense': two layer records share the name 'dense'"),
    "config not a dict": (lambda records: [{**records[0], "config": [1]}, *records[1:]],
                          "layer 'dense': 'config' must be a dict keyed by str"),
    "bad shape": (lambda records: [{**records[0], "output_shape": [None, -6]}, *records[1:]],
                  "layer 'dense': 'output_shape' must be a list of sizes"),
    "missing neuron": (lambda records: [{**records[0], "neurons": ["dense/0", "dense/9"]}, *records[1:]],
                       "layer 'dense' lists neuron 'dense/9', which is not in the network"),
    "unhashable neuron": (lambda records: [{**records[0], "neurons": [["dense/0"]]}, *records[1:]],
                          "layer 'dense' lists neuron \\['dense/0'\\], which is not in the network"),
    "neuron in two layers": (lambda records: [records[0], {**records[1], "neurons": ["dense/0"]}, records[2]],
                             "layer 'dense_1' lists neuron 'dense/0', which layer 'dense' lists already"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_validate_checks_the_layer_records(case: str) -> None:
    change, message = BAD_RECORDS[case]
    G = lesson().graph
    nngraph.validate(G)
    G.graph["layers"] = change(G.graph["layers"])
    with pytest.raises(nngraph.NetworkError, match=message):
        nngraph.validate(G)
