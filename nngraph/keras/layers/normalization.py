"""Normalization layers for inference, as neurons, over the last axis (channels last).

``BatchNormalization`` at inference is an affine map per channel: one neuron per position, with
one connection from the same position of its input. Its weight is the channel's scale
``gamma / sqrt(moving_variance + epsilon)`` and its bias the offset ``beta - moving_mean * scale``,
each tied by name across the positions of the channel (``batch_normalization/scale/c``,
``batch_normalization/offset/c``). The graph holds these two numbers per channel, which is all
inference computes; the layer keeps Keras' four arrays they come from, which ``get_weights``
returns.

``LayerNormalization`` normalises each position over its channels, as softmax does over its
layer: a neuron per position reads its input with weight 1 and the group-wise activation
``layer_norm`` gives ``(z - mean) / sqrt(variance + epsilon)`` over the neurons of its group
(the neurons' ``layer``: one group per position, ``layer_normalization/normalized[i,j]``). A
second neuron per position applies ``gamma`` (weight) and ``beta`` (bias) of its channel, tied across positions, unless
``scale=False`` and ``center=False``. The layer's ``neurons`` are the last ones.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, BIAS, BIAS_PARAM, DEFAULT_ACTIVATION, HIDDEN, LAYER, PARAM, ROLE,
                                  WEIGHT, LayerRecord)
from nngraph.core.params import assign
from nngraph.errors import LayerError
from nngraph.keras.initializers import get_initializer
from nngraph.keras.layers.base import Layer, add_connections, group_name, position_ids, tied_name, whole_number


def _check_axis(layer: Layer, axis: object) -> None:
    if not whole_number(axis) or axis != -1:
        raise LayerError(f"{layer.label}: nngraph normalizes over the last axis (channels last) only, "
                         f"axis=-1; got axis={axis!r}")


def _check_epsilon(layer: Layer, epsilon: object) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) or not (
            math.isfinite(epsilon) and epsilon > 0):
        raise LayerError(f"{layer.label}: epsilon must be a positive finite number, got {epsilon!r}")
    return float(epsilon)


def _affine_neurons(G: nx.DiGraph, layer: Layer, sources: np.ndarray, neurons: np.ndarray,
                    weights: np.ndarray, biases: np.ndarray, *, weight: str | None, bias: str | None) -> None:
    """One linear neuron per position: ``weights[c] * source + biases[c]`` for its channel ``c``,
    the weight and bias tied across positions by the names ``weight`` and ``bias`` (None: untied)."""
    channels = sources.shape[-1]
    weight_names = [tied_name(str(layer.name), weight, (c,)) for c in range(channels)] if weight else None
    bias_names = [tied_name(str(layer.name), bias, (c,)) for c in range(channels)] if bias else None
    w, b = weights.tolist(), biases.tolist()
    nodes, edges = [], []
    for source, node in zip(sources.reshape(-1, channels).tolist(), neurons.reshape(-1, channels).tolist()):
        for c in range(channels):
            data = {ROLE: HIDDEN, BIAS: b[c], ACTIVATION: DEFAULT_ACTIVATION, LAYER: layer.name}
            if bias_names:
                data[BIAS_PARAM] = bias_names[c]
            nodes.append((node[c], data))
            edge = {WEIGHT: w[c]}
            if weight_names:
                edge[PARAM] = weight_names[c]
            edges.append((source[c], node[c], edge))
    G.add_nodes_from(nodes)
    add_connections(G, edges)


class BatchNormalization(Layer):
    """Keras' ``BatchNormalization`` at inference: ``gamma * (x - moving_mean) / sqrt(moving_variance
    + epsilon) + beta``, channel by channel over the last axis.

    Parameters follow Keras: ``axis=-1`` (the only one), ``momentum`` (kept, unused: nngraph does
    not train), ``epsilon=1e-3``, ``center``, ``scale``, and the four initialisers (beta zeros,
    gamma ones, moving mean zeros, moving variance ones). Weights: ``[gamma, beta, moving_mean,
    moving_variance]`` (gamma without ``scale``, beta without ``center`` left out), each
    ``(channels,)``; the moving statistics are non-trainable.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([BatchNormalization(input_shape=(3,))])
    >>> model.layers[0].set_weights([np.ones(3), np.zeros(3), np.full(3, 2.0), np.full(3, 4.0)])
    >>> model.predict(np.array([[4.0, 2.0, 0.0]])).round(3)  # (x - 2) / sqrt(4.001)
    array([[ 1.,  0., -1.]])
    >>> model.layers[0].count_params(), model.layers[0].non_trainable_params()
    (12, 6)
    """

    kind = "BatchNormalization"
    base_name = "batch_normalization"

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, *, beta_initializer: str = "zeros", gamma_initializer: str = "ones",
                 moving_mean_initializer: str = "zeros", moving_variance_initializer: str = "ones",
                 name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _check_axis(self, axis)
        self.momentum = float(momentum)
        self.epsilon = _check_epsilon(self, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializer_names = {"gamma": gamma_initializer, "beta": beta_initializer,
                                  "moving_mean": moving_mean_initializer,
                                  "moving_variance": moving_variance_initializer}
        self.initializers = {key: get_initializer(value, argument=f"{key}_initializer")
                             for key, value in self.initializer_names.items()}
        self.state: dict[str, np.ndarray] = {}

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return math.prod(shape), math.prod(shape)

    def weight_names(self) -> list[str]:
        return (["gamma"] if self.scale else []) + (["beta"] if self.center else []) + [
            "moving_mean", "moving_variance"]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        self._require_built("weights")
        return [(self._input[-1],)] * len(self.weight_names())

    def non_trainable_params(self) -> int:
        self._require_built("count_params()")
        return 2 * self._input[-1]

    def get_config(self) -> dict[str, Any]:
        return {"axis": -1, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, **{f"{key}_initializer": value
                                        for key, value in self.initializer_names.items()}}

    def _scale_and_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, Keras' inference arithmetic: ``inv = gamma / sqrt(var + eps)``, ``-mean * inv + beta``."""
        state = self.state
        inv = 1.0 / np.sqrt(state["moving_variance"] + self.epsilon)
        if self.scale:
            inv = inv * state["gamma"]
        offset = -state["moving_mean"] * inv
        if self.center:
            offset = offset + state["beta"]
        return inv, offset

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        channels = (sources.shape[-1],)
        self.state = {key: initialize(rng, channels) for key, initialize in self.initializers.items()
                      if key in self.weight_names()}
        neurons = position_ids(str(self.name), self._output)
        scale, offset = self._scale_and_offset()
        _affine_neurons(G, self, sources, neurons, scale, offset, weight="scale", bias="offset")
        return neurons

    def _check_weights(self, arrays: list[np.ndarray]) -> None:
        variance = arrays[-1]
        if (variance + self.epsilon <= 0).any():
            raise LayerError(f"{self.label}: moving_variance + epsilon must be positive in every channel, "
                             f"got moving_variance {variance.tolist()}")

    @classmethod
    def keras_params(cls, record: LayerRecord) -> tuple[int, int] | None:
        channels = record.output_shape[-1]
        config = record.config
        return channels * (2 + bool(config.get("center", True)) + bool(config.get("scale", True))), 2 * channels

    def _read_weights(self, G: nx.DiGraph) -> list[np.ndarray]:
        return [self.state[key].copy() for key in self.weight_names()]

    def _write_weights(self, G: nx.DiGraph, arrays: list[np.ndarray]) -> None:
        self.state = dict(zip(self.weight_names(), (array.copy() for array in arrays)))
        scale, offset = self._scale_and_offset()
        channels = self._input[-1]
        sources, neurons = self.sources.reshape(-1, channels)[0], self.neurons.reshape(-1, channels)[0]
        # One copy per channel: assign() writes the tied ones at every position.
        assign(G, weights=dict(zip(zip(sources, neurons), scale.tolist())), biases=dict(zip(neurons, offset.tolist())))


class LayerNormalization(Layer):
    """Keras' ``LayerNormalization`` over the last axis: each position's channels are normalised to
    mean 0 and variance 1 (``epsilon`` added to the variance), then scaled by ``gamma`` and shifted
    by ``beta`` per channel.

    Parameters follow Keras: ``axis=-1`` (the only one), ``epsilon=1e-3``, ``center``, ``scale``,
    ``beta_initializer`` (zeros), ``gamma_initializer`` (ones). Weights ``[gamma, beta]`` (those
    enabled), each ``(channels,)``. The normalised values are neurons too, named
    ``<layer>/normalized/<index>``, so a trace shows them.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([LayerNormalization(input_shape=(4,))])
    >>> model.predict(np.array([[1.0, 2.0, 3.0, 4.0]])).round(4)
    array([[-1.3411, -0.447 ,  0.447 ,  1.3411]])
    >>> model.count_params()
    8
    """

    kind = "LayerNormalization"
    base_name = "layer_normalization"

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True, *,
                 beta_initializer: str = "zeros", gamma_initializer: str = "ones", name: str | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _check_axis(self, axis)
        self.epsilon = _check_epsilon(self, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializer_names = {"gamma": gamma_initializer, "beta": beta_initializer}
        self.initializers = {key: get_initializer(value, argument=f"{key}_initializer")
                             for key, value in self.initializer_names.items()}
        self.activation = resolve_activation(f"layer_norm(epsilon={self.epsilon!r})").name
        self.normalized: np.ndarray = np.empty(0, dtype=object)

    @property
    def affine(self) -> bool:
        """Whether the layer scales or shifts after normalising (a second neuron per position)."""
        return self.center or self.scale

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return math.prod(shape) * (1 + self.affine), math.prod(shape) * (1 + self.affine)

    def weight_names(self) -> list[str]:
        return (["gamma"] if self.scale else []) + (["beta"] if self.center else [])

    def weight_shapes(self) -> list[tuple[int, ...]]:
        self._require_built("weights")
        return [(self._input[-1],)] * len(self.weight_names())

    def get_config(self) -> dict[str, Any]:
        return {"axis": -1, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **{f"{key}_initializer": value for key, value in self.initializer_names.items()}}

    def computed_neurons(self) -> list[Hashable]:
        """The normalised neurons, then (with ``center`` or ``scale``) the output ones."""
        normalized = self.normalized.reshape(-1).tolist()
        return normalized + self.neurons.reshape(-1).tolist() if self.affine else normalized

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shape = tuple(sources.shape)
        self.normalized = position_ids(f"{self.name}/normalized", shape)
        nodes, edges = [], []
        for index in np.ndindex(*shape):
            node = self.normalized[index]
            nodes.append((node, {ROLE: HIDDEN, BIAS: 0.0, ACTIVATION: self.activation,
                                 LAYER: group_name(f"{self.name}/normalized", index, len(shape))}))
            edges.append((sources[index], node, {WEIGHT: 1.0}))
        G.add_nodes_from(nodes)
        add_connections(G, edges)
        if not self.affine:
            return self.normalized
        channels = (shape[-1],)
        gamma = self.initializers["gamma"](rng, channels) if self.scale else np.ones(channels)
        beta = self.initializers["beta"](rng, channels) if self.center else np.zeros(channels)
        neurons = position_ids(str(self.name), shape)
        _affine_neurons(G, self, self.normalized, neurons, gamma, beta, weight="gamma" if self.scale else None,
                        bias="beta" if self.center else None)
        return neurons

    @classmethod
    def keras_params(cls, record: LayerRecord) -> tuple[int, int] | None:
        config = record.config
        return record.output_shape[-1] * (bool(config.get("center", True)) + bool(config.get("scale", True))), 0

    def _places(self) -> list[tuple[str, list]]:
        # The first position's gamma and beta stand for their tied copies at every other position.
        channels = self._input[-1]
        first = list(self.neurons.reshape(-1, channels)[0])
        normalized = list(self.normalized.reshape(-1, channels)[0])
        return (([("weights", list(zip(normalized, first)))] if self.scale else [])
                + ([("biases", first)] if self.center else []))
