"""Activations: Keras' names and aliases, correct values, numerical stability, dtype kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nngraph import UnknownActivationError, known_activations, resolve_activation

Z = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


EXPECTED = {
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "leaky_relu": lambda z: z if z > 0 else 0.2 * z,
    "elu": lambda z: z if z > 0 else math.exp(z) - 1,
    "selu": lambda z: 1.0507009873554805 * (z if z > 0 else 1.6732632423543772 * (math.exp(z) - 1)),
    "sigmoid": sigmoid,
    "hard_sigmoid": lambda z: min(1.0, max(0.0, z / 6 + 0.5)),
    "tanh": math.tanh,
    "softplus": lambda z: math.log1p(math.exp(z)),
    "softsign": lambda z: z / (1 + abs(z)),
    "gelu": lambda z: 0.5 * z * (1 + math.erf(z / math.sqrt(2))),
    "swish": lambda z: z * sigmoid(z),
    "exponential": math.exp,
}


def test_registry_has_every_name_keras_uses() -> None:
    keras = {name for name in known_activations() if not name.startswith("neat_")}
    assert keras == set(EXPECTED) | {"softmax", "layer_norm"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_element_wise_values_match_the_scalar_definition(name: str) -> None:
    got = resolve_activation(name)(Z)
    np.testing.assert_allclose(got, [EXPECTED[name](z) for z in Z], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("alias, name", [
    ("identity", "linear"), ("logistic", "sigmoid"), ("silu", "swish"), ("SiLU", "swish"),
    ("leaky-relu", "leaky_relu"), ("LeakyReLU", "leaky_relu"), ("ReLU", "relu"),
    ("hard-sigmoid", "hard_sigmoid"), ("None", "linear"), ("exp", "exponential"),
])
def test_aliases_resolve_to_the_canonical_name(alias: str, name: str) -> None:
    assert resolve_activation(alias).name == name


def test_parameters_are_part_of_the_name_and_change_the_function() -> None:
    leaky = resolve_activation("leaky_relu(alpha=0.1)")
    assert leaky.name == "leaky_relu(alpha=0.1)"
    np.testing.assert_allclose(leaky(np.array([-2.0, 3.0])), [-0.2, 3.0])
    assert resolve_activation("leaky_relu(alpha=0.2)").name == "leaky_relu"
    np.testing.assert_allclose(resolve_activation("elu(alpha=2)")(np.array([-1.0])), [2 * (math.exp(-1) - 1)])


def test_hard_sigmoid_and_selu_take_onnx_parameters() -> None:
    # ONNX's HardSigmoid is clip(alpha * z + beta, 0, 1) with alpha=0.2, beta=0.5; Keras 3's is alpha=1/6.
    onnx_style = resolve_activation("hard_sigmoid(alpha=0.2)")
    assert onnx_style.name == "hard_sigmoid(alpha=0.2)"
    np.testing.assert_allclose(onnx_style(Z), np.clip(0.2 * Z + 0.5, 0, 1), rtol=1e-15)
    assert resolve_activation(f"hard_sigmoid(alpha={1 / 6!r}, beta=0.5)").name == "hard_sigmoid"
    selu = resolve_activation("selu(alpha=1.5, scale=2)")
    assert selu.name == "selu(alpha=1.5, scale=2.0)"
    np.testing.assert_allclose(selu(np.array([-1.0, 3.0])), [2 * 1.5 * (math.exp(-1) - 1), 6.0], rtol=1e-15)


@pytest.mark.parametrize("spec", ["rleu", "relu(alpha=1)", "leaky_relu(beta=1)", "leaky_relu(alpha=x)",
                                  "leaky_relu(alpha=nan)", "", "1relu", 3, None])
def test_unknown_activation_lists_the_known_ones(spec: object) -> None:
    with pytest.raises(UnknownActivationError) as info:
        resolve_activation(spec, node="h3")
    assert "neuron 'h3'" in str(info.value)
    assert "relu, selu, sigmoid" in str(info.value)
    assert info.value.node == "h3"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", [name for name in known_activations() if name != "exponential"])
def test_stable_and_finite_for_large_weighted_sums(name: str) -> None:
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value = resolve_activation(name)(z)
    assert np.isfinite(value).all()


def test_exponential_overflows_to_infinity_without_a_warning() -> None:
    z = np.array([[-1e4, 0.0, 700.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value = resolve_activation("exponential")(z)
    np.testing.assert_array_equal(value, [[0.0, 1.0, math.exp(700.0), np.inf]])


def test_sigmoid_and_softmax_are_exact_at_the_extremes() -> None:
    np.testing.assert_array_equal(resolve_activation("sigmoid")(np.array([-1e4, 1e4])), [0.0, 1.0])
    softmax = resolve_activation("softmax")
    np.testing.assert_allclose(softmax(np.array([[1e4, 1e4 - math.log(3)]])), [[0.75, 0.25]], rtol=1e-12)
    np.testing.assert_allclose(softmax(np.array([[-1e4, 0.0]])), [[0.0, 1.0]])


def test_softmax_normalises_each_row_over_the_layer() -> None:
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    values = resolve_activation("softmax")(z)
    np.testing.assert_allclose(values.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(values[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    assert resolve_activation("softmax").group_wise


@pytest.mark.parametrize("name", known_activations())
def test_float32_stays_float32(name: str) -> None:
    assert resolve_activation(name)(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_nan_propagates() -> None:
    for name in known_activations():
        assert np.isnan(resolve_activation(name)(np.array([[np.nan, 1.0]]))[0, 0]), name


def test_layer_norm_normalises_each_row_over_the_group_with_keras_epsilon() -> None:
    z = np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    layer_norm = resolve_activation("layer_norm")
    mean, variance = 3.0, (4 + 1 + 0 + 9) / 4
    np.testing.assert_allclose(layer_norm(z)[0], (z[0] - mean) / math.sqrt(variance + 1e-3), rtol=1e-12)
    np.testing.assert_array_equal(layer_norm(z)[1], 0.0)
    assert layer_norm.group_wise and resolve_activation("layer_norm(epsilon=0.001)").name == "layer_norm"
    wide = resolve_activation("layer_norm(epsilon=1.0)")
    np.testing.assert_allclose(wide(z)[0], (z[0] - mean) / math.sqrt(variance + 1.0), rtol=1e-12)


def test_softplus_takes_pytorchs_beta_and_threshold_and_keeps_keras_form_by_default() -> None:
    z = np.array([-3.0, 0.5, 2.0, 2.5, 40.0])
    np.testing.assert_array_equal(resolve_activation("softplus")(z), np.logaddexp(0, z))  # no threshold
    torch_form = resolve_activation("softplus(beta=2, threshold=4)")
    assert torch_form.name == "softplus(beta=2.0, threshold=4.0)"
    expected = [math.log1p(math.exp(2 * v)) / 2 if 2 * v <= 4 else v for v in z]
    np.testing.assert_allclose(torch_form(z), expected, rtol=1e-15)
    assert torch_form(z.astype(np.float32)).dtype == np.float32
    with pytest.raises(UnknownActivationError, match=r"beta must be positive in activation 'softplus\(beta=0\)'"):
        resolve_activation("softplus(beta=0)")


class _CountedArray(np.ndarray):
    """An array that counts the ufunc calls made on it (its operators among them)."""

    calls = 0

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: object) -> object:
        _CountedArray.calls += 1
        plain = [np.asarray(x) if isinstance(x, _CountedArray) else x for x in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        return result.view(_CountedArray) if isinstance(result, np.ndarray) else result


class _CountedNumpy:
    """numpy, with each call of a function that is not a ufunc counted (a ufunc counts itself)."""

    def __getattr__(self, name: str) -> object:
        attribute = getattr(np, name)
        if attribute is not np.errstate and (isinstance(attribute, (np.ufunc, type)) or not callable(attribute)):
            return attribute

        def counted(*args: object, **kwargs: object) -> object:
            _CountedArray.calls += 1
            result = attribute(*args, **kwargs)
            return result.view(_CountedArray) if isinstance(result, np.ndarray) else result
        return counted


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "exponential"])
def test_the_cost_model_counts_each_native_activations_numpy_calls(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # costs.ACTIVATION_CALLS, for the registry's activations with a native form (softmax apart: it
    # reduces along an axis); the code calls the function once, the least it counts.
    from nngraph.compiler.costs import ACTIVATION_CALLS
    from nngraph.core import activations

    monkeypatch.setattr(activations, "np", _CountedNumpy())
    _CountedArray.calls = 0
    resolve_activation(name)(Z.view(_CountedArray))
    assert max(_CountedArray.calls, 1) == ACTIVATION_CALLS.get(name, 1)
