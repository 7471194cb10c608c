"""from_keras: real Keras 3 models (PyTorch backend) and their .keras files come in as the network
nngraph's own Sequential builds, computing what Keras predicts; what nngraph cannot express, and
hostile files, are refused by name."""

from __future__ import annotations

import io
import json
import runpy
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import keras
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers as K

import nngraph
from nngraph.core.activations import resolve_activation
from nngraph.interop.keras_layers import ACTIVATIONS
from nngraph.keras.summary import layer_table

RNG = np.random.default_rng(12)
HERE = Path(__file__).resolve().parent


# -- models -------------------------------------------------------------------------------------

def dense_activations() -> keras.Model:
    """A dense stack through every activation nngraph imports, and the activation layers."""
    names = [name for name in ACTIVATIONS if name != "softmax"]
    stack = [keras.Input(shape=(5,))]
    stack += [K.Dense(4, activation=name, use_bias=index % 3 != 1) for index, name in enumerate(names)]
    stack += [K.Activation("gelu"), K.ReLU(negative_slope=0.05), K.LeakyReLU(negative_slope=0.1), K.ELU(alpha=0.7),
              K.ReLU(), K.Dropout(0.3), K.Dense(3), K.Softmax()]
    return keras.Sequential(stack, name="activations")


def cnn_2d() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(9, 9, 2)),
        K.Conv2D(4, 3, padding="same", activation="relu"),
        K.BatchNormalization(),
        K.MaxPooling2D(2, padding="same"),
        K.Conv2D(3, (2, 3), strides=(2, 1), activation="elu"),
        K.AveragePooling2D(2, strides=1, padding="same"),
        K.Conv2D(3, 2, dilation_rate=2, padding="same", use_bias=False),
        K.BatchNormalization(center=False, epsilon=0.01),
        K.Flatten(),
        K.Dense(3, activation="softmax"),
    ], name="cnn_2d")


def cnn_2d_global() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(5, 5, 1)),
        K.Conv2D(3, 2, activation="tanh"),
        K.GlobalMaxPooling2D(keepdims=True),
        K.Flatten(),
        K.Dense(2),
        K.Reshape((2, 1, 1)),
        K.GlobalAveragePooling2D(),
    ], name="cnn_2d_global")


def cnn_1d() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(12, 3)),
        K.Conv1D(4, 3, padding="same", activation="swish"),
        K.MaxPooling1D(2),
        K.Conv1D(4, 2, dilation_rate=2),
        K.AveragePooling1D(2, padding="same"),
        K.LayerNormalization(epsilon=1e-4),
        K.BatchNormalization(axis=2, scale=False),  # the last axis, counted with the batch
        K.GlobalMaxPooling1D(),
        K.Dense(2, activation="sigmoid"),
    ], name="cnn_1d")


def cnn_1d_average() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(6, 2)),
        K.Conv1D(3, 2, strides=2, padding="same"),
        K.LayerNormalization(center=False),
        K.GlobalAveragePooling1D(),
        K.Dense(2),
    ], name="cnn_1d_average")


def recurrent() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(5, 3)),
        K.SimpleRNN(4, return_sequences=True, activation="relu"),
        K.LSTM(3, return_sequences=True, go_backwards=True),
        K.GRU(3, return_sequences=True, reset_after=False),
        K.GRU(2, return_sequences=True, go_backwards=True, recurrent_activation="hard_sigmoid"),
        K.Dense(2),
        K.Flatten(),
        K.Dense(1, activation="sigmoid"),
    ], name="recurrent")


def conv_lstm() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(9, 2)),
        K.Conv1D(3, 3, activation="relu", name="conv"),
        K.LSTM(4, use_bias=False, name="lstm"),
        K.Dense(2, activation="softmax", name="head"),
    ], name="conv_lstm")


def functional_chain() -> keras.Model:
    x = keras.Input(shape=(6,), name="features")
    h = K.Dense(8, activation="tanh", name="encode")(x)
    h = K.Dropout(0.2, name="drop")(h)
    h = K.Reshape((4, 2), name="as_sequence")(h)
    h = K.GRU(3, go_backwards=True, name="gru")(h)
    y = K.Dense(2, activation="softplus", name="out")(h)
    return keras.Model(x, y, name="functional_chain")


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "dense_activations": dense_activations, "cnn_2d": cnn_2d, "cnn_2d_global": cnn_2d_global, "cnn_1d": cnn_1d,
    "cnn_1d_average": cnn_1d_average, "recurrent": recurrent, "conv_lstm": conv_lstm,
    "functional_chain": functional_chain,
}
TRAINED = ("cnn_2d", "cnn_1d", "recurrent", "functional_chain")


def sample(model: keras.Model, n: int = 6) -> np.ndarray:
    return RNG.normal(size=(n, *model.input_shape[1:])).astype("float32")


def randomised(model: keras.Model) -> keras.Model:
    """Every weight drawn at random (moving variances positive), so that no default value hides a mistake."""
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, K.BatchNormalization):
            layer.set_weights([RNG.uniform(0.5, 1.5, w.shape) if i == len(weights) - 1 else RNG.normal(0, 0.5, w.shape)
                               for i, w in enumerate(weights)])
        else:
            layer.set_weights([RNG.normal(0, 0.5, w.shape) for w in weights])
    return model


def trained(model: keras.Model) -> keras.Model:
    """Fitted for two epochs on a few random samples (BatchNormalization's moving statistics move)."""
    x = sample(model, 16)
    y = RNG.uniform(size=(16, *model.output_shape[1:])).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[keras.Model, Path]]:
    """Each architecture with random weights, and those in TRAINED also trained, each saved to a .keras file."""
    folder = tmp_path_factory.mktemp("keras")
    keras.utils.set_random_seed(12)  # Keras' own draws (initial weights, shuffling) too
    built = {}
    for name, build in ARCHITECTURES.items():
        built[name] = randomised(build())
        if name in TRAINED:
            built[f"{name}_trained"] = trained(randomised(build()))
    saved = {}
    for name, model in built.items():
        path = folder / f"{name}.keras"
        model.save(path)
        saved[name] = (model, path)
    return saved


def assert_predicts_as_keras(G: nx.DiGraph, model: keras.Model) -> None:
    x = sample(model)
    expected = model.predict(x, verbose=0).reshape(len(x), -1)
    np.testing.assert_allclose(nngraph.compile_network(G)(x.reshape(len(x), -1)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nngraph.run_reference(G, x.reshape(len(x), -1).astype(float)).outputs, expected,
                               rtol=1e-5, atol=1e-6)


def assert_same_network(G: nx.DiGraph, H: nx.DiGraph) -> None:
    assert nx.utils.graphs_equal(G, H)
    assert list(G.nodes) == list(H.nodes)
    assert nngraph.layer_records(G) == nngraph.layer_records(H)


MODEL_NAMES = [*ARCHITECTURES, *(f"{name}_trained" for name in TRAINED)]


# -- what comes in --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_keras_model_and_its_file_give_one_network_that_predicts_as_keras(
        name: str, models: dict[str, tuple[keras.Model, Path]]) -> None:
    model, path = models[name]
    G = nngraph.from_keras(model)
    nngraph.validate(G)
    assert_predicts_as_keras(G, model)
    assert layer_table(G).total == model.count_params()
    assert [record.name for record in nngraph.layer_records(G)] == [
        layer.name for layer in model.layers if not isinstance(layer, K.InputLayer)]
    assert_same_network(nngraph.from_keras(path), G)
    assert_same_network(nngraph.interop.from_keras(str(path)), G)


def test_the_lessons_keras_code_gives_the_lessons_network() -> None:
    from keras.layers import Dense
    from keras.models import Sequential

    layers = [
        Dense(units=6, input_shape=(8,), activation='relu'),
        Dense(units=6, activation='relu'),
        Dense(units=4, activation='softmax'),
    ]
    model = Sequential(layers)
    G = nngraph.from_keras(model)
    assert (G.number_of_nodes(), G.number_of_edges(), nngraph.count_params(G)) == (24, 108, 124)
    assert len(nngraph.computed(G)) == 16
    own = nngraph.models.Sequential([
        nngraph.layers.Dense(units=6, input_shape=(8,), activation='relu', name=layers[0].name),
        nngraph.layers.Dense(units=6, activation='relu', name=layers[1].name),
        nngraph.layers.Dense(units=4, activation='softmax', name=layers[2].name),
    ])
    for mine, theirs in zip(own.layers, layers):
        mine.set_weights(theirs.get_weights())
    assert_same_network(G, own.graph)
    x = RNG.uniform(size=(5, 8))
    np.testing.assert_array_equal(nngraph.compile_network(G)(x), own.predict(x))
    assert_predicts_as_keras(G, model)
    hidden = keras.Model(model.inputs, layers[0].output).predict(x.astype("float32"), verbose=0)
    np.testing.assert_allclose(nngraph.compile_network(G).trace(x).layer_values(layers[0].name), hidden,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_imported_activation_is_kerass_function(name: str) -> None:
    z = np.concatenate([np.linspace(-8, 8, 41), RNG.normal(0, 3, 40)]).reshape(9, 9)
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(keras.ops.convert_to_tensor(z, "float64")))
    np.testing.assert_allclose(resolve_activation(ACTIVATIONS[name])(z), theirs, rtol=1e-12, atol=1e-12)


def test_the_file_reader_needs_neither_keras_nor_a_backend(models: dict[str, tuple[keras.Model, Path]]) -> None:
    model, path = models["recurrent_trained"]
    x = sample(model, 3)
    script = ("import sys; sys.modules['keras'] = None; sys.modules['torch'] = None\n"
              "import numpy as np, nngraph\n"
              f"G = nngraph.from_keras({str(path)!r})\n"
              f"x = np.array({x.tolist()!r}, dtype=np.float32)\n"
              "print(repr(nngraph.compile_network(G)(x.reshape(len(x), -1)).tolist()))\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] in ('keras', 'torch', 'tensorflow')))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    values, imported = run.stdout.splitlines()
    np.testing.assert_allclose(eval(values), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)  # noqa: S307
    assert imported == "['keras', 'torch']"  # the two placeholders set above, nothing imported


def test_keras_objects_need_no_h5py_and_files_say_which_extra_is_missing(
        models: dict[str, tuple[keras.Model, Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    model, path = models["conv_lstm"]
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert nngraph.from_keras(model).number_of_nodes() > 0
    with pytest.raises(nngraph.ExtraMissingError, match=r"needs h5py; install it with: pip install 'nngraph\[keras\]'"):
        nngraph.from_keras(path)
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(nngraph.ExtraMissingError, match=r"needs Keras; .*nngraph\[keras\]"):
        nngraph.from_keras(object())


def test_not_a_model_nor_a_path_is_an_argument_error() -> None:
    with pytest.raises(nngraph.ArgumentError, match="from_keras takes a Keras model or the path of a .keras file, "
                                                    "got list"):
        nngraph.from_keras([1, 2])
    with pytest.raises(nngraph.ArgumentError, match="got Dense"):
        nngraph.from_keras(K.Dense(3))


# -- what nngraph cannot express ------------------------------------------------------------------

def refused_model(layers: list) -> keras.Model:
    return keras.Sequential(layers)


@pytest.mark.parametrize("build, message", [
    (lambda: refused_model([keras.Input(shape=(4, 4, 2)), K.Conv2D(2, 2, data_format="channels_first", name="cf")]),
     r"layer 'cf' \(Conv2D\): data_format='channels_first' is not supported; nngraph computes "
     r"data_format='channels_last' only"),
    (lambda: refused_model([keras.Input(shape=(6, 2)), K.Conv1D(2, 2, padding="causal", name="causal")]),
     r"layer 'causal' \(Conv1D\): padding must be 'valid' or 'same', or the zero cells .* got 'causal'"),
    (lambda: refused_model([keras.Input(shape=(4, 4, 2)), K.Conv2D(2, 2, groups=2, name="grouped")]),
     r"layer 'grouped' \(Conv2D\): groups=2 is not supported"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.Dense(2, activation="relu6", name="r6")]),
     r"layer 'r6' \(Dense\): activation 'relu6' has no nngraph equivalent; nngraph imports elu, exponential, gelu"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.Activation("mish", name="mish")]),
     r"layer 'mish' \(Activation\): activation 'mish' has no nngraph equivalent"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.PReLU(name="prelu")]),
     r"layer 'prelu' \(PReLU\): nngraph has no PReLU layer; it imports Activation, AveragePooling1D"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.LayerNormalization(rms_scaling=True, name="rms")]),
     r"layer 'rms' \(LayerNormalization\): rms_scaling=True is not supported"),
    (lambda: refused_model([keras.Input(shape=(2, 3)), K.BatchNormalization(axis=1, name="bn")]),
     r"layer 'bn' \(BatchNormalization\): axis=1: nngraph normalizes over the last axis"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.ReLU(max_value=6.0, name="capped")]),
     r"layer 'capped' \(ReLU\): max_value=6.0 is not supported; nngraph computes max_value=None only"),
    (lambda: refused_model([keras.Input(shape=(3, 2)), K.Softmax(axis=1, name="columns")]),
     r"layer 'columns' \(Softmax\): axis=1 is not supported"),
    (lambda: refused_model([keras.Input(shape=(3,)), K.Lambda(lambda x: x * 2, name="double")]),
     r"layer 'double' \(Lambda\): a Lambda layer holds Python code, which nngraph never loads or runs"),
    (lambda: refused_model([keras.Input(shape=(3,)), keras.Sequential([K.Dense(2)], name="inner")]),
     r"layer 'inner' \(Sequential\): a model used as a layer"),
    (lambda: refused_model([keras.Input(shape=(3,))]), "the model has no layers besides its input"),
    (lambda: refused_model([K.Dense(2)]),
     r"the model has no input shape; give it an input \(keras.Input\(shape=...\)\) or build it"),
    (lambda: refused_model([keras.Input(shape=(None, 3)), K.LSTM(2)]),
     r"the input shape \[None, None, 3\] is not a batch and fixed positive sizes"),
])
def test_what_nngraph_cannot_express_is_refused_naming_the_layer(build: Callable[[], keras.Model],
                                                                  message: str) -> None:
    with pytest.raises(nngraph.InteropError, match=message):
        nngraph.from_keras(build())


def test_a_functional_model_that_branches_or_merges_is_refused_naming_the_layer() -> None:
    x = keras.Input(shape=(4,), name="x")
    left, right = K.Dense(3, name="left")(x), K.Dense(3, name="right")(x)
    merged = keras.Model(x, K.Add(name="sum")([left, right]))
    with pytest.raises(nngraph.InteropError, match=r"layer 'sum' \(Add\) takes 2 inputs \(a merge\)") as error:
        nngraph.from_keras(merged)
    assert error.value.part == "sum"
    shared = K.Dense(4, name="shared")
    twice = keras.Model(x, shared(shared(x)))
    with pytest.raises(nngraph.InteropError, match=r"layer 'shared' \(Dense\) is called 2 times \(a shared layer\)"):
        nngraph.from_keras(twice)
    h = K.Dense(3, name="trunk")(x)
    two_outputs = keras.Model(x, [K.Dense(1, name="a")(h), K.Dense(1, name="b")(h)])
    with pytest.raises(nngraph.InteropError, match="the model has 2 outputs; nngraph imports models of one input"):
        nngraph.from_keras(two_outputs)


def test_a_functional_layer_called_in_training_mode_is_refused() -> None:
    x = keras.Input(shape=(4,))
    model = keras.Model(x, K.Dropout(0.5, name="noisy")(K.Dense(3)(x), training=True))
    with pytest.raises(nngraph.InteropError, match=r"layer 'noisy' \(Dropout\) is called with \{'training': True\}; "
                                                   "nngraph imports layers called on their input alone"):
        nngraph.from_keras(model)


def test_a_sequential_model_built_without_an_input_layer_takes_its_built_shape() -> None:
    model = keras.Sequential([K.Dense(3, activation="tanh"), K.Dense(2)])
    model.build((None, 5))
    G = nngraph.from_keras(randomised(model))
    assert len(nngraph.inputs(G)) == 5
    assert_predicts_as_keras(G, model)


def test_a_subclassed_model_is_refused() -> None:
    class Doubler(keras.Model):
        def call(self, x):  # noqa: ANN001, ANN202
            return x * 2

    with pytest.raises(nngraph.InteropError, match="the model is a .*Doubler.*; nngraph imports Keras' Sequential "
                                                   "and functional models"):
        nngraph.from_keras(Doubler())


def test_a_model_larger_than_the_limit_is_refused_before_it_is_built(
        models: dict[str, tuple[keras.Model, Path]]) -> None:
    model, _ = models["dense_activations"]
    with pytest.raises(nngraph.InteropError, match=r"layer 'dense(_\d+)?' \(Dense\): Dense 'dense(_\d+)?' \(4 units\) "
                                                   r"would make the model .* the limit is 30 connections") as error:
        nngraph.from_keras(model, max_connections=30)
    assert error.value.part.startswith("dense")


# -- hostile files --------------------------------------------------------------------------------

def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_archive(path: Path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return path


def with_config(source: Path, target: Path, change: Callable[[dict], None]) -> Path:
    """``source`` with its config.json changed by ``change`` (given the parsed document)."""
    contents = members(source)
    document = json.loads(contents["config.json"])
    change(document)
    contents["config.json"] = json.dumps(document).encode()
    return write_archive(target, contents)


def with_weights(source: Path, target: Path, change: Callable[[h5py.File], None]) -> Path:
    """``source`` with its model.weights.h5 changed by ``change`` (given the file, open for writing)."""
    contents = members(source)
    buffer = io.BytesIO(contents["model.weights.h5"])
    with h5py.File(buffer, "r+") as h5:
        change(h5)
    contents["model.weights.h5"] = buffer.getvalue()
    return write_archive(target, contents)


def layer_config(document: dict, index: int) -> dict:
    return document["config"]["layers"][index]


def test_a_file_that_is_not_a_keras_archive_is_refused(tmp_path: Path,
                                                       models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models["conv_lstm"]
    text = tmp_path / "notes.keras"
    text.write_text("not a zip")
    with pytest.raises(nngraph.ModelFileError, match="notes.keras: not a .keras file: not a zip archive"):
        nngraph.from_keras(text)
    contents = members(path)
    no_config = write_archive(tmp_path / "no_config.keras", {"model.weights.h5": contents["model.weights.h5"]})
    with pytest.raises(nngraph.ModelFileError, match="no_config.keras: not a .keras file: the archive has no "
                                                     "config.json"):
        nngraph.from_keras(no_config)
    no_weights = write_archive(tmp_path / "no_weights.keras", {"config.json": contents["config.json"]})
    with pytest.raises(nngraph.ModelFileError, match="the archive has no model.weights.h5"):
        nngraph.from_keras(no_weights)
    bad_h5 = write_archive(tmp_path / "bad_h5.keras", {**contents, "model.weights.h5": b"\x89HDF nonsense"})
    with pytest.raises(nngraph.ModelFileError, match="bad_h5.keras: cannot read model.weights.h5"):
        nngraph.from_keras(bad_h5)
    with pytest.raises(nngraph.ModelFileError, match="cannot read: No such file or directory"):
        nngraph.from_keras(tmp_path / "missing.keras")


@pytest.mark.parametrize("config, message", [
    (b'{"class_name": "Sequential", "class_name": "Functional"}',
     "config.json is not valid JSON: an object repeats the key 'class_name'"),
    (b'{"class_name": "Sequential", "config": {"layers": [', "config.json is not valid JSON: Expecting value"),
    (b'{"class_name": "Sequential", "config": {"epsilon": NaN}}', "config.json is not valid JSON: NaN is not"),
    (b'\xff\xfe{}', "config.json is not UTF-8 text"),
    (b'[1, 2]', "config.json must hold a model's configuration"),
    (b'{"class_name": "Sequential", "config": {"layers": {}}}', "the model's \"layers\" must be a list"),
])
def test_a_config_that_is_not_json_or_not_a_model_is_refused(config: bytes, message: str, tmp_path: Path,
                                                             models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models["conv_lstm"]
    broken = write_archive(tmp_path / "broken.keras", {**members(path), "config.json": config})
    with pytest.raises(nngraph.ModelFileError, match=message):
        nngraph.from_keras(broken)


def test_hostile_configurations_are_refused_before_anything_is_built(
        tmp_path: Path, models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models["conv_lstm"]   # layers: input, conv1d, lstm, dense

    def check(change: Callable[[dict], None], error: type, message: str) -> None:
        with pytest.raises(error, match=message):
            nngraph.from_keras(with_config(path, tmp_path / "hostile.keras", change))

    check(lambda d: layer_config(d, 3)["config"].update(units=10**12), nngraph.InteropError,
          r"hostile.keras: layer 'head' \(Dense\): Dense 'head' \(1,000,000,000,000 units\) would make the "
          "model .* the limit is 50,000,000 connections")
    check(lambda d: layer_config(d, 0)["config"].update(batch_shape=[None, 10**9, 10**9]), nngraph.InteropError,
          r"hostile.keras: the input \(1000000000, 1000000000\): an input of 1,000,000,000,000,000,000 features would")
    check(lambda d: layer_config(d, 3).update(class_name="Lambda"), nngraph.InteropError,
          r"layer 'head' \(Lambda\): a Lambda layer holds Python code")
    check(lambda d: layer_config(d, 3).update(module="evil.layers", registered_name="evil>Dense"),
          nngraph.InteropError, r"the custom class 'evil>Dense' \(module 'evil.layers'\); nngraph imports Keras' "
                                "own layers only")
    check(lambda d: layer_config(d, 2)["config"].update(name="lstm\x1b[2J\r"), nngraph.ModelFileError,
          r"hostile.keras: layer #2 \(LSTM\) has the name 'lstm\\x1b\[2J\\r'; a Keras name is a printable string")
    check(lambda d: layer_config(d, 2)["config"].update(name="a/b"), nngraph.ModelFileError,
          "has the name 'a/b'")
    check(lambda d: layer_config(d, 1)["config"].update(frobnicate=3), nngraph.InteropError,
          r"layer 'conv' \(Conv1D\): option 'frobnicate' \(= 3\) is not one nngraph knows")
    check(lambda d: layer_config(d, 1)["config"].update(use_bias="no"), nngraph.InteropError,
          "option 'use_bias' must be true or false, got 'no'")
    check(lambda d: layer_config(d, 3)["config"].update(activation={"class_name": "Evil"}), nngraph.InteropError,
          "activation is a custom function or object")
    check(lambda d: layer_config(d, 3)["config"].update(dtype={"class_name": "QuantizedDTypePolicy",
                                                              "config": {"name": "int8_from_float32"}}),
          nngraph.InteropError, "dtype .* is not supported; nngraph imports the float policies")
    check(lambda d: d.update(class_name="MyModel", registered_name="Custom>MyModel"), nngraph.InteropError,
          "the model is a 'Custom>MyModel'")


def test_a_functional_configuration_that_names_no_layer_is_refused(
        tmp_path: Path, models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models["functional_chain"]

    def unknown_input(document: dict) -> None:
        gru = next(entry for entry in document["config"]["layers"] if entry["name"] == "gru")
        gru["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "nowhere"

    with pytest.raises(nngraph.ModelFileError, match="layer 'gru' takes the output of 'nowhere', which is not a "
                                                     "layer of the model"):
        nngraph.from_keras(with_config(path, tmp_path / "dangling.keras", unknown_input))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(-10, 10) | st.text(max_size=4)
    | st.sampled_from(["same", "valid", "relu", "softmax", "Dense", "InputLayer", "channels_first"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4)


def json_places(value: object, place: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (a path of keys and indices), the document itself excepted."""
    places = [place] if place else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        places += json_places(item, (*place, key))
    return places


@pytest.mark.parametrize("name", ["functional_chain", "cnn_1d"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_a_configuration_gives_a_network_or_an_nngraph_error(
        name: str, data: st.DataObject, tmp_path: Path, models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models[name]
    document = json.loads(members(path)["config.json"])
    place = data.draw(st.sampled_from(json_places(document)))
    value = data.draw(JSON_VALUES)

    def change(changed: dict) -> None:
        holder = changed
        for key in place[:-1]:
            holder = holder[key]
        holder[place[-1]] = value

    try:
        G = nngraph.from_keras(with_config(path, tmp_path / "changed.keras", change), max_connections=10**5)
    except nngraph.NNGraphError:
        return
    nngraph.validate(G)


def test_weights_that_do_not_match_the_configuration_are_refused_before_they_are_read(
        tmp_path: Path, models: dict[str, tuple[keras.Model, Path]]) -> None:
    _, path = models["conv_lstm"]
    dense = next(name for name in h5py.File(io.BytesIO(members(path)["model.weights.h5"]))["layers"]
                 if name.startswith("dense"))

    def check(change: Callable[[h5py.File], None], message: str) -> None:
        with pytest.raises(nngraph.ModelFileError, match=message):
            nngraph.from_keras(with_weights(path, tmp_path / "hostile.keras", change))

    def replace(h5: h5py.File, key: str, **dataset: object) -> None:
        del h5[key]
        h5.create_dataset(key, **dataset)

    check(lambda h5: replace(h5, f"layers/{dense}/vars/0", data=np.zeros((4, 3), "float32")),
          r"hostile.keras: layer 'head' \(Dense\): kernel \(layers/dense/vars/0\) has shape \(4, 3\) in "
          r"model.weights.h5, but the configuration makes it \(4, 2\)")
    check(lambda h5: replace(h5, f"layers/{dense}/vars/0", shape=(10**7, 10**7), dtype="float32", chunks=(1, 1)),
          r"has shape \(10000000, 10000000\) in model.weights.h5, but the configuration makes it \(4, 2\)")
    check(lambda h5: replace(h5, f"layers/{dense}/vars/1", data=np.array([b"ab", b"cd"])),
          r"bias \(layers/dense/vars/1\) holds \|S2, not floating-point numbers")
    check(lambda h5: replace(h5, f"layers/{dense}/vars/1", data=np.array([np.nan, 1.0])),
          r"layer 'head' \(Dense\): bias holds non-finite numbers")
    check(lambda h5: h5[f"layers/{dense}/vars"].create_dataset("2", data=np.zeros(2)),
          r"model.weights.h5 holds \['0', '1', '2'\] in layers/dense/vars, but the configuration gives 2 weights "
          r"\(kernel \(4, 2\), bias \(2,\)\)")
    check(lambda h5: h5.__delitem__("layers/lstm"), r"layer 'lstm' \(LSTM\): model.weights.h5 has no "
                                                    "layers/lstm/cell/vars")

    def external(h5: h5py.File) -> None:
        del h5[f"layers/{dense}/vars/0"]
        h5[f"layers/{dense}/vars/0"] = h5py.ExternalLink("/etc/secrets.h5", "/kernel")

    check(external, r"layers/dense/vars/0 in model.weights.h5 is a ExternalLink; nngraph follows no links")


# -- documentation --------------------------------------------------------------------------------

def test_the_import_keras_example_imports_the_lesson_network(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    example = runpy.run_path(str(HERE.parent / "examples" / "import_keras.py"))
    example["main"]([str(tmp_path), "--dot"])
    printed = capsys.readouterr().out
    assert "24 neurons (8 inputs), 108 connections, 124 parameters" in printed
    assert "the same network from the object and from the file: True" in printed
    assert "largest difference from Keras' predictions:" in printed
    assert (tmp_path / "lesson.keras").is_file()
    assert "lizard" in (tmp_path / "keras_lesson_neurons.dot").read_text()
