"""Every layer kind against an independent numpy reference (tests/layer_references.py), through
both executors: the reference pass (``model.trace``) and the compiled plan (``predict``, and a
float32 plan)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from layer_references import ACTIVATIONS, assert_close, batch_norm, conv, global_pool, layer_norm, pool

import nngraph
from nngraph import LayerError, NetworkError
from nngraph.keras.layers.base import add_connections, connect_all
from nngraph.layers import (Activation, AveragePooling1D, AveragePooling2D, BatchNormalization, Conv1D, Conv2D,
                            Dense, Dropout, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
                            GlobalMaxPooling1D, GlobalMaxPooling2D, Input, LayerNormalization, MaxPooling1D,
                            MaxPooling2D, Reshape)
from nngraph.models import Sequential

RNG = np.random.default_rng(20)


def sample(shape: tuple[int, ...], batch: int = 3) -> np.ndarray:
    return RNG.normal(size=(batch, *shape))


def check_model(model: Sequential, x: np.ndarray, expected: np.ndarray) -> None:
    """The reference pass, the compiled plan and a float32 plan all give ``expected``."""
    assert model.output_shape[1:] == expected.shape[1:]
    assert_close(model.predict(x), expected)
    assert_close(model.trace(x).outputs.reshape(expected.shape), expected)
    plan32 = nngraph.compile_network(model.graph, dtype=np.float32)
    assert_close(plan32(x.reshape(len(x), -1)).reshape(expected.shape), expected, dtype=np.float32)


CONV2D_CASES = [
    # input shape, filters, kernel, strides, padding, dilation
    ((5, 5, 1), 1, (3, 3), 1, "valid", 1),
    ((5, 5, 1), 4, (3, 3), 1, "same", 1),
    ((7, 6, 3), 4, (2, 3), 2, "valid", 1),
    ((7, 6, 3), 2, (2, 3), 2, "same", 1),
    ((7, 6, 3), 3, (3, 3), (1, 3), "same", 1),
    ((6, 7, 2), 2, (3, 2), (3, 2), "same", 1),
    ((8, 8, 2), 3, (3, 3), 1, "valid", 2),
    ((8, 7, 2), 3, (3, 3), 1, "same", (2, 1)),
    ((4, 9, 2), 5, (1, 1), 1, "valid", 1),
    ((5, 5, 1), 2, (5, 5), 1, "valid", 1),
    ((5, 5, 2), 2, (4, 4), 1, "same", 1),
    ((9, 9, 1), 2, (4, 4), 3, "same", 1),
]


@pytest.mark.parametrize(("shape", "filters", "kernel", "strides", "padding", "dilation"), CONV2D_CASES)
def test_conv2d_matches_the_numpy_reference(shape: tuple, filters: int, kernel: tuple, strides: object,
                                            padding: str, dilation: object) -> None:
    layer = Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation, activation="tanh")
    model = Sequential([Input(shape=shape), layer], seed=1)
    weights = [RNG.normal(size=(*kernel, shape[-1], filters)), RNG.normal(size=filters)]
    layer.set_weights(weights)
    x = sample(shape)
    pair = (lambda v: (v, v) if isinstance(v, int) else v)
    expected = np.tanh(conv(x, *weights, strides=pair(strides), padding=padding, dilation=pair(dilation)))
    check_model(model, x, expected)


CONV1D_CASES = [
    ((9, 1), 2, 3, 1, "valid", 1),
    ((9, 2), 3, 3, 2, "same", 1),
    ((10, 2), 3, 4, 3, "same", 1),
    ((10, 3), 1, 3, 1, "same", 2),
    ((11, 2), 2, 2, 1, "valid", 3),
    ((4, 2), 2, 4, 1, "valid", 1),
]


@pytest.mark.parametrize(("shape", "filters", "kernel", "strides", "padding", "dilation"), CONV1D_CASES)
def test_conv1d_matches_the_numpy_reference(shape: tuple, filters: int, kernel: int, strides: int, padding: str,
                                            dilation: int) -> None:
    layer = Conv1D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation, use_bias=False)
    model = Sequential([Input(shape=shape), layer], seed=2)
    weights = [RNG.normal(size=(kernel, shape[-1], filters))]
    layer.set_weights(weights)
    x = sample(shape)
    check_model(model, x, conv(x, weights[0], None, strides=(strides,), padding=padding, dilation=(dilation,)))


POOL_CASES = [
    ((6, 6, 2), 2, None, "valid"),
    ((7, 7, 1), 2, None, "valid"),
    ((7, 7, 2), 2, None, "same"),
    ((5, 6, 3), 3, 1, "same"),
    ((5, 6, 2), (2, 3), (1, 2), "same"),
    ((8, 5, 1), 3, 2, "valid"),
    ((4, 4, 2), 4, 3, "same"),
]


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("shape", "size", "strides", "padding"), POOL_CASES)
def test_pooling2d_matches_the_numpy_reference(mode: str, shape: tuple, size: object, strides: object,
                                               padding: str) -> None:
    kind = MaxPooling2D if mode == "max" else AveragePooling2D
    model = Sequential([Input(shape=shape), kind(size, strides=strides, padding=padding)])
    pair = (lambda v: (v, v) if isinstance(v, int) else v)
    x = sample(shape)
    expected = pool(x, size=pair(size), strides=pair(size if strides is None else strides), padding=padding,
                    mode=mode)
    check_model(model, x, expected)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("shape", "size", "strides", "padding"), [
    ((9, 2), 2, None, "valid"), ((9, 2), 2, None, "same"), ((10, 1), 3, 2, "same"), ((7, 3), 4, 1, "valid")])
def test_pooling1d_matches_the_numpy_reference(mode: str, shape: tuple, size: int, strides: int | None,
                                               padding: str) -> None:
    kind = MaxPooling1D if mode == "max" else AveragePooling1D
    model = Sequential([Input(shape=shape), kind(size, strides=strides, padding=padding)])
    x = sample(shape)
    check_model(model, x, pool(x, size=(size,), strides=(size if strides is None else strides,), padding=padding,
                               mode=mode))


@pytest.mark.parametrize(("kind", "shape", "mode"), [
    (GlobalMaxPooling2D, (4, 5, 3), "max"), (GlobalAveragePooling2D, (4, 5, 3), "average"),
    (GlobalMaxPooling1D, (6, 2), "max"), (GlobalAveragePooling1D, (6, 2), "average")])
def test_global_pooling_matches_the_numpy_reference(kind: type, shape: tuple, mode: str) -> None:
    x = sample(shape)
    check_model(Sequential([Input(shape=shape), kind()]), x, global_pool(x, mode=mode))
    kept = Sequential([Input(shape=shape), kind(keepdims=True)])
    check_model(kept, x, global_pool(x, mode=mode).reshape(len(x), *(1,) * (len(shape) - 1), shape[-1]))


@pytest.mark.parametrize("shape", [(5,), (3, 4, 2)])
@pytest.mark.parametrize(("center", "scale"), [(True, True), (False, True), (True, False), (False, False)])
def test_batch_normalization_matches_the_numpy_reference(shape: tuple, center: bool, scale: bool) -> None:
    layer = BatchNormalization(epsilon=0.01, center=center, scale=scale)
    model = Sequential([Input(shape=shape), layer])
    channels = shape[-1]
    gamma, beta = RNG.normal(size=channels), RNG.normal(size=channels)
    mean, variance = RNG.normal(size=channels), RNG.uniform(0.5, 2.0, size=channels)
    given = ([gamma] if scale else []) + ([beta] if center else []) + [mean, variance]
    layer.set_weights(given)
    for got, expected in zip(layer.get_weights(), given):
        np.testing.assert_array_equal(got, expected)
    x = sample(shape)
    expected = batch_norm(x, gamma if scale else 1.0, beta if center else 0.0, mean, variance, 0.01)
    check_model(model, x, expected)
    assert layer.count_params() == channels * (2 + center + scale)
    assert layer.non_trainable_params() == 2 * channels


@pytest.mark.parametrize("shape", [(6,), (3, 2, 4)])
@pytest.mark.parametrize(("center", "scale"), [(True, True), (False, True), (False, False)])
def test_layer_normalization_matches_the_numpy_reference(shape: tuple, center: bool, scale: bool) -> None:
    layer = LayerNormalization(epsilon=1e-5, center=center, scale=scale)
    model = Sequential([Input(shape=shape), layer])
    channels = shape[-1]
    gamma, beta = RNG.normal(size=channels), RNG.normal(size=channels)
    layer.set_weights(([gamma] if scale else []) + ([beta] if center else []))
    x = sample(shape)
    expected = layer_norm(x, gamma if scale else 1.0, beta if center else 0.0, 1e-5)
    check_model(model, x, expected)
    assert layer.count_params() == channels * (center + scale)


@pytest.mark.parametrize("activation", ["relu", "softmax"])
@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_activation_layer_applies_over_the_last_axis(activation: str, shape: tuple) -> None:
    x = sample(shape)
    check_model(Sequential([Input(shape=shape), Activation(activation)]), x, ACTIVATIONS[activation](x))


def test_dense_on_a_feature_map_works_on_the_last_axis_with_one_kernel() -> None:
    layer = Dense(3, activation="softmax")
    model = Sequential([Input(shape=(2, 2, 4)), layer], seed=0)
    kernel, bias = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    layer.set_weights([kernel, bias])
    x = sample((2, 2, 4))
    check_model(model, x, ACTIVATIONS["softmax"](x @ kernel + bias))
    for position in layer.neurons.reshape(-1, 3):
        assert model.graph.edges[model.graph.pred[position[0]].__iter__().__next__(), position[0]]["param"] \
            == "dense/kernel/0,0"


def test_renaming_layers_add_no_neurons() -> None:
    model = Sequential([Input(shape=(2, 3, 2)), Flatten(), Dropout(0.5), Reshape((3, -1)), Dense(2)], seed=0)
    assert model.graph.number_of_nodes() == 12 + 3 * 2
    assert [layer.output_shape for layer in model.layers[:3]] == [(None, 12), (None, 12), (None, 3, 4)]
    np.testing.assert_array_equal(model.layers[0].neurons, model.layers[2].neurons.reshape(-1))
    assert model.layers[2].neurons[1, 0] == "input/0,2,0"
    kernel, bias = model.layers[3].get_weights()
    x = sample((2, 3, 2))
    check_model(model, x, x.reshape(3, 3, 4) @ kernel + bias)


def test_layers_add_connections_as_networkx_does_in_the_same_order() -> None:
    def contents(G: nx.DiGraph) -> tuple:
        return (list(G.edges(data=True)), [list(G.pred[node].items()) for node in G],
                [list(G.succ[node].items()) for node in G])

    connections = [(f"x{i}", f"y{j}", {"weight": i - 0.5 * j}) for i in range(3) for j in range(2)]
    expected = nx.DiGraph()
    expected.add_nodes_from(["x0", "x1", "x2", "y0", "y1"])
    built = expected.copy()
    expected.add_edges_from(connections)
    expected.add_edge("x1", "y0", param="k")
    add_connections(built, connections)
    add_connections(built, [("x1", "y0", {"param": "k"})])  # a connection already there gets the new data
    assert contents(built) == contents(expected)
    block = expected.copy()
    block.remove_edges_from(connections)
    block.__networkx_cache__["stale"] = True
    connect_all(block, ["x0", "x1", "x2"], ["y0", "y1"], [[{"weight": i - 0.5 * j} for j in range(2)] for i in range(3)])
    block["x1"]["y0"]["param"] = "k"
    assert contents(block) == contents(expected) and not block.__networkx_cache__
    with pytest.raises(NetworkError, match="connection 'x0' -> 'q': neuron 'q' is not in the network"):
        add_connections(built, [("x0", "q", {"weight": 1.0})])
    with pytest.raises(NetworkError, match="neuron 'q' is not in the network, so it cannot be connected"):
        connect_all(built, ["q"], ["y0"], [[{"weight": 1.0}]])
    assert "q" not in built


def test_lenet5_has_keras_parameter_counts_and_shapes() -> None:
    model = Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(6, (5, 5), activation="relu"), MaxPooling2D((2, 2)),
        Conv2D(16, (5, 5), activation="relu"), MaxPooling2D((2, 2)),
        Flatten(), Dense(120, activation="relu"), Dense(84, activation="relu"), Dense(10, activation="softmax"),
    ], seed=0)
    assert [layer.output_shape for layer in model.layers] == [
        (None, 24, 24, 6), (None, 12, 12, 6), (None, 8, 8, 16), (None, 4, 4, 16), (None, 256), (None, 120),
        (None, 84), (None, 10)]
    assert [layer.count_params() for layer in model.layers] == [156, 0, 2416, 0, 0, 30840, 10164, 850]
    assert model.count_params() == 44_426
    assert "Total params: 44,426" in model.summary_text()
    assert model.layers[0].neurons.shape == (24, 24, 6) and model.layers[0].neurons[3, 4, 5] == "conv2d/3,4,5"


def test_conv_weights_are_tied_and_set_weights_writes_every_copy() -> None:
    layer = Conv2D(2, 3, padding="same")
    model = Sequential([Input(shape=(4, 5, 2)), layer], seed=0)
    kernel, bias = RNG.normal(size=(3, 3, 2, 2)), RNG.normal(size=2)
    layer.set_weights([kernel, bias])
    G = model.graph
    for source, target, data in G.edges(data=True):
        i, j, c, f = map(int, data["param"].split("/")[-1].split(","))
        assert data["weight"] == kernel[i, j, c, f]
        row, col, _ = map(int, source.split("/")[1].split(","))
        out_row, out_col, filt = map(int, target.split("/")[1].split(","))
        assert (row, col, c, f) == (out_row + i - 1, out_col + j - 1, c, filt)
    for node in layer.neurons.reshape(-1):
        f = int(node.rsplit(",", 1)[1])
        assert G.nodes[node]["bias"] == bias[f] and G.nodes[node]["bias_param"] == f"conv2d/bias/{f}"
    got_kernel, got_bias = layer.get_weights()
    np.testing.assert_array_equal(got_kernel, kernel)
    np.testing.assert_array_equal(got_bias, bias)


def test_same_border_windows_have_fewer_connections() -> None:
    model = Sequential([Input(shape=(4, 4, 1)), Conv2D(1, 3, padding="same"), AveragePooling2D(3, 1, "same")])
    G = model.graph
    assert G.in_degree("conv2d/0,0,0") == 4 and G.in_degree("conv2d/1,1,0") == 9
    assert G.in_degree("average_pooling2d/0,3,0") == 4
    assert {G.edges[u, "average_pooling2d/0,3,0"]["weight"] for u in G.pred["average_pooling2d/0,3,0"]} == {0.25}


@pytest.mark.parametrize("padding", [1, (0, 2), ((1, 0), (2, 1))])
def test_explicit_padding_is_zero_cells_around_each_axis(padding: object) -> None:
    x = RNG.normal(size=(2, 5, 6, 2))
    pairs = Conv2D(1, 1, padding=padding).padding
    model = Sequential([Input(shape=(5, 6, 2)), Conv2D(3, 3, strides=(2, 1), padding=padding)], seed=0)
    kernel, bias = model.layers[0].get_weights()
    assert_close(model.predict(x), conv(x, kernel, bias, strides=(2, 1), padding=pairs, dilation=(1, 1)))
    for mode, layer in (("max", MaxPooling2D(3, 2, padding)), ("average", AveragePooling2D(3, 2, padding)),
                        ("included", AveragePooling2D(3, 2, padding, count_include_pad=True))):
        got = Sequential([Input(shape=(5, 6, 2)), layer]).predict(x)
        expected = pool(x, size=(3, 3), strides=(2, 2), padding=pairs, mode="max" if mode == "max" else "average",
                        count_include_pad=mode == "included")
        assert_close(got, expected)
    assert layer.get_config()["padding"] == [list(pair) for pair in pairs] and layer.get_config()["count_include_pad"]


def test_keras_padding_settings_keep_keras_configs() -> None:
    assert AveragePooling2D(2, padding="same").get_config() == {"pool_size": [2, 2], "strides": [2, 2],
                                                                "padding": "same"}
    assert Conv1D(2, 3, padding=0).padding == "valid"


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Conv2D(0, 3), "filters must be a positive whole number, got 0"),
    (lambda: Conv2D(2, (3, 0)), r"kernel_size must be a positive whole number or a tuple of 2 of them, got \(3, 0\)"),
    (lambda: Conv2D(2, 3, strides=-1), "strides must be a positive whole number"),
    (lambda: Conv1D(2, (3, 3)), r"kernel_size must be a positive whole number or a tuple of 1 of them"),
    (lambda: Conv2D(2, 3, dilation_rate=0), "dilation_rate must be a positive whole number"),
    (lambda: Conv2D(2, 3, strides=2, dilation_rate=2), "strides > 1 cannot be combined with dilation_rate > 1"),
    (lambda: Conv2D(2, 3, padding="full"), "padding must be 'valid' or 'same', or the zero cells around each of "
                                           r"the 2 spatial axes \(a whole number, 2 of them, or 2 \(before, after\) "
                                           r"pairs\), got 'full'"),
    (lambda: MaxPooling1D(2, padding=-1), "padding must be 'valid' or 'same', or .* got -1"),
    (lambda: Conv2D(2, 3, padding=((1, 1),)), r"padding must be .* got \(\(1, 1\),\)"),
    (lambda: MaxPooling2D(0), "pool_size must be a positive whole number"),
    (lambda: AveragePooling1D(2, strides=0), "strides must be a positive whole number"),
    (lambda: Dropout(1.5), "rate must be a number from 0 to 1"),
    (lambda: Reshape((2, -1, -1)), "target_shape must be a tuple of positive whole numbers"),
    (lambda: BatchNormalization(axis=1), "axis=-1"),
    (lambda: LayerNormalization(epsilon=0), "epsilon must be a positive finite number"),
    (lambda: Input(shape=(28, 0, 1)), r"Input shape must be a tuple of positive whole numbers"),
    (lambda: Conv2D(2, 3, padding=((1, 1),)), r"or the zero cells around each of the 2 spatial axes"),
    (lambda: MaxPooling1D(padding=((1, -1),)), r"or the zero cells around each of the 1 spatial axes"),
])
def test_bad_settings_are_refused_when_the_layer_is_made(build: object, message: str) -> None:
    with pytest.raises(LayerError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(("layers", "message"), [
    ([Input(shape=(4, 4, 1)), Conv2D(2, 5)], r"layer 'conv2d': the kernel \(5, 5\) .* is larger than its input "
                                             r"\(4, 4\) with padding='valid'"),
    ([Input(shape=(8, 8, 1)), Conv2D(2, 3, dilation_rate=4)], r"spanning \(9, 9\) with dilation_rate=\(4, 4\)"),
    ([Input(shape=(3, 3, 1)), MaxPooling2D(4)], r"the pool \(4, 4\) is larger than its input \(3, 3\)"),
    ([Input(shape=(2, 2, 1)), Conv2D(1, 5, padding="same")], r"kernel entry \(0, 0\) .* never meets the input"),
    ([Input(shape=(5, 1)), AveragePooling1D(2, padding=((2, 0),))], r"a window of the pool \(2,\) lies wholly on "
                                                                     r"the padding"),
    ([Input(shape=(1, 1)), Conv1D(1, 3, padding=((2, 0),))], r"with padding=\[\[2, 0\]\], kernel entry \(0,\) "
                                                             r".* never meets"),
    ([Input(shape=(10, 3)), Conv2D(1, 3)], r"Conv2D takes inputs of shape \(rows, cols, channels\), got \(10, 3\)"),
    ([Input(shape=(10,)), MaxPooling1D()], r"MaxPooling1D takes inputs of shape \(steps, channels\)"),
    ([Input(shape=(12,)), Reshape((5, -1))], r"cannot reshape an input of shape \(12,\) \(12 values\) into \(5, -1\)"),
    ([Input(shape=(4, 4, 1)), Flatten(), Dense(2, input_shape=(15,))],
     r"input_shape=\(15,\) does not match the output \(16,\)"),
])
def test_settings_that_do_not_fit_the_input_are_refused_before_anything_is_built(layers: list,
                                                                                  message: str) -> None:
    model = Sequential([layers[0]])
    with pytest.raises(LayerError, match=message):
        for layer in layers[1:]:
            model.add(layer)
    assert model.graph.number_of_edges() == 0


def test_set_weights_names_the_layer_and_the_expected_and_given_shapes() -> None:
    layer = Conv2D(4, 3)
    Sequential([Input(shape=(5, 5, 1)), layer], seed=0)
    with pytest.raises(LayerError, match=r"layer 'conv2d': kernel must have shape \(3, 3, 1, 4\), got \(3, 3, 4\)"):
        layer.set_weights([np.zeros((3, 3, 4)), np.zeros(4)])
    with pytest.raises(LayerError, match=r"set_weights expects 2 arrays \(kernel \(3, 3, 1, 4\), bias \(4,\)\)"):
        layer.set_weights([np.zeros((3, 3, 1, 4))])
    norm = BatchNormalization()
    Sequential([Input(shape=(3,)), norm])
    with pytest.raises(LayerError, match="moving_variance \\+ epsilon must be positive"):
        norm.set_weights([np.ones(3), np.zeros(3), np.zeros(3), np.full(3, -1.0)])
    with pytest.raises(LayerError, match=r"layer 'batch_normalization': moving_mean must have shape \(3,\)"):
        norm.set_weights([np.ones(3), np.zeros(3), np.zeros(4), np.ones(3)])


def test_keras_shaped_inputs_are_checked() -> None:
    model = Sequential([Input(shape=(4, 4, 1)), Flatten(), Dense(2)], seed=0)
    assert model.predict(np.zeros((4, 4, 1))).shape == (2,)
    assert model.predict(np.zeros((5, 4, 4, 1))).shape == (5, 2)
    with pytest.raises(nngraph.InputError, match=r"expected an array of shape \(batch, 4, 4, 1\) or \(4, 4, 1\) "
                                                 r"for one sample, got shape \(5, 4, 4\)"):
        model.predict(np.zeros((5, 4, 4)))


def test_a_trace_reads_whole_layers_by_position_from_either_executor() -> None:
    conv_layer, norm = Conv2D(3, 3, padding="same", activation="relu"), BatchNormalization()
    model = Sequential([Input(shape=(6, 5, 2)), conv_layer, AveragePooling2D(2, padding="same"), norm,
                        Flatten(), Dense(4, activation="softmax")], seed=3)
    kernel, bias = conv_layer.get_weights()
    gamma, beta, mean, variance = [RNG.normal(size=3), RNG.normal(size=3), RNG.normal(size=3), np.full(3, 2.0)]
    norm.set_weights([gamma, beta, mean, variance])
    x = sample((6, 5, 2))
    z = conv(x, kernel, bias, strides=(1, 1), padding="same", dilation=(1, 1))
    pooled = pool(np.maximum(z, 0), size=(2, 2), strides=(2, 2), padding="same", mode="average")
    normed = batch_norm(pooled, gamma, beta, mean, variance, 1e-3)
    plan = nngraph.compile_network(model.graph)
    for trace in (model.trace(x), plan.trace(x.reshape(3, -1))):
        assert_close(trace.layer_values("input"), x)
        assert_close(trace.layer_weighted_sums("conv2d"), z)
        assert_close(trace.layer_values("conv2d"), np.maximum(z, 0))
        assert_close(trace.layer_values("average_pooling2d"), pooled)
        assert_close(trace.layer_values("batch_normalization"), normed)
        assert_close(trace.layer_values("flatten"), normed.reshape(3, -1))
        assert trace.layer_values("dense").shape == (3, 4)
        assert trace.layer_weighted_sums("conv2d")[1, 2, 3, 0] == trace.weighted_sum("conv2d/2,3,0")[1]
        with pytest.raises(nngraph.NeuronNotFoundError, match="layer 'input' holds inputs"):
            trace.layer_weighted_sums("input")
        with pytest.raises(nngraph.NeuronNotFoundError, match="no layer 'conv' in this trace; layers: input, "
                                                               "conv2d, average_pooling2d"):
            trace.layer_values("conv")


def test_layer_normalization_shows_its_normalised_neurons_and_its_output() -> None:
    layer = LayerNormalization()
    model = Sequential([Input(shape=(2, 3)), layer])
    layer.set_weights([np.array([1.0, 2.0, 3.0]), np.zeros(3)])
    x = sample((2, 3))
    trace = model.trace(x)
    normalized = layer_norm(x, 1.0, 0.0, 1e-3)
    assert layer.normalized[1, 2] == "layer_normalization/normalized/1,2"
    assert model.graph.nodes["layer_normalization/normalized/1,2"]["layer"] == "layer_normalization/normalized[1]"
    assert_close(np.stack([trace.value(node) for node in layer.normalized.reshape(-1)], axis=1),
                 normalized.reshape(3, -1))
    assert_close(trace.layer_values("layer_normalization"), normalized * [1.0, 2.0, 3.0])


def test_a_graph_without_layer_records_has_no_layers_to_read() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output"))
    nngraph.connect(G, "x", "y", 1.0)
    with pytest.raises(nngraph.NeuronNotFoundError, match="has no layer records"):
        nngraph.run_reference(G, [1.0]).layer_values("y")


def test_a_record_whose_shape_does_not_fit_its_neurons_is_read_as_their_list() -> None:
    model = Sequential([Input(shape=(2, 2, 1)), Flatten(), Dense(3)], seed=0)
    model.graph.graph["layers"][1]["output_shape"] = [None, 5]
    assert model.trace(np.zeros((2, 2, 2, 1))).layer_values("dense").shape == (2, 3)


def test_explicit_padding_and_counted_padding_compute_as_pytorch_does() -> None:
    """Asymmetric padding of a convolution, and an average that counts the padding's zeros
    (PyTorch's defaults for AvgPool2d), against numpy on a padded input."""
    x = np.random.default_rng(3).normal(size=(2, 5, 6, 1))
    conv = Conv2D(1, (2, 3), padding=((1, 0), (0, 2)), use_bias=False)
    model = Sequential([Input(shape=(5, 6, 1)), conv], seed=0)
    kernel = conv.get_weights()[0][..., 0, 0]
    padded = np.pad(x[..., 0], ((0, 0), (1, 0), (0, 2)))
    expected = np.array([[[np.sum(padded[b, i:i + 2, j:j + 3] * kernel) for j in range(6)] for i in range(5)]
                         for b in range(2)])
    np.testing.assert_allclose(model.predict(x)[..., 0], expected, rtol=1e-12)
    assert model.layers[0].get_config()["padding"] == [[1, 0], [0, 2]]
    pooled = Sequential([Input(shape=(5, 6, 1)), AveragePooling2D(3, strides=2, padding=((1, 1), (1, 1)),
                                                                     count_include_pad=True)])
    padded = np.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))
    expected = np.array([[[padded[b, i:i + 3, j:j + 3].mean() for j in range(0, 6, 2)] for i in range(0, 5, 2)]
                         for b in range(2)])
    np.testing.assert_allclose(pooled.predict(x)[..., 0], expected, rtol=1e-12)
    assert pooled.layers[0].get_config()["count_include_pad"] is True
