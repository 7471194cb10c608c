"""The core layers: ``Input``, ``Dense``, ``Activation``, and ``Flatten``, ``Reshape``, ``Dropout``.

A layer holds its settings; once added to a ``Sequential`` model it is bound to the model's
graph, and its weights live there, on the connections and biases of its neurons. ``Flatten``,
``Reshape`` and ``Dropout`` (which does nothing at inference) add no neuron: they hand the
previous neurons on in another shape.

A graph of neurons costs memory per element: about ``BYTES_PER_CONNECTION`` per connection and
``BYTES_PER_NEURON`` per neuron in networkx. A model may hold at most ``MAX_CONNECTIONS``
connections, and as many neurons, unless it is given another limit
(``Sequential(max_connections=...)``): a layer that would go beyond it is refused before
anything is allocated, with the count and the memory it would take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, BIAS, BIAS_PARAM, DEFAULT_ACTIVATION, HIDDEN, LAYER, PARAM, ROLE,
                                  WEIGHT)
from nngraph.errors import LayerError, shown
from nngraph.keras.initializers import get_initializer
from nngraph.keras.layers.base import (BYTES_PER_CONNECTION, BYTES_PER_NEURON, MAX_CONNECTIONS, Layer, Weightless,
                                       add_connections, check_shape, check_size, connect_all, group_name,
                                       position_ids, tied_name, whole_number)

__all__ = ["BYTES_PER_CONNECTION", "BYTES_PER_NEURON", "MAX_CONNECTIONS", "Activation", "Dense", "Dropout",
           "Flatten", "Input", "Reshape", "check_size"]


class Input:
    """Declares the input's shape, channels last, as Keras' ``Input(shape=...)`` does: ``(8,)`` for
    8 features, ``(steps, channels)``, ``(rows, cols, channels)``.

    Input neurons are named ``input/<index>`` (``input/3``, ``input/27,27,0``).

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Input(shape=(8,)), Dense(units=6, activation="relu")], seed=0)
    >>> model.input_shape
    (None, 8)
    """

    def __init__(self, shape: Sequence[int], *, name: str = "input") -> None:
        self.shape = check_shape(shape, "Input shape")
        self.name = name


def _layer_of(layer: Layer, activation: str, output: tuple[int, ...]) -> np.ndarray:
    """The ``layer`` attribute of every output position: the layer's name, or per-position groups
    for a group-wise activation on an output of more than one axis."""
    names = np.full(output, layer.name, dtype=object)
    if resolve_activation(activation).group_wise and len(output) > 1:
        for index in np.ndindex(*output):
            names[index] = group_name(str(layer.name), index, len(output))
    return names


class Dense(Layer):
    """A fully connected layer: every input feature feeds every one of its ``units`` neurons.

    Parameters follow Keras: ``units``, ``activation`` (a name; ``None`` means linear),
    ``use_bias``, ``kernel_initializer`` (default ``"glorot_uniform"``), ``bias_initializer``
    (default ``"zeros"``), ``input_shape`` (first layer only, or use ``Input``) and ``name``
    (default ``dense``, ``dense_1``, ...). Neurons are named ``"<layer name>/<index>"``. On an
    input of more than one axis it works on the last one, as Keras' does: the same kernel at every
    position (tied by name), output ``(..., units)``.

    Examples
    --------
    >>> layer = Dense(units=6, input_shape=(8,), activation="relu")
    >>> layer.units, layer.activation
    (6, 'relu')
    """

    kind = "Dense"
    base_name = "dense"

    def __init__(self, units: int, activation: str | None = None, *, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 input_shape: Sequence[int] | None = None, name: str | None = None) -> None:
        if not whole_number(units) or units < 1:
            raise LayerError(f"Dense{f' {name!r}' if name else ''}: units must be a positive whole "
                             f"number, got {units!r}")
        super().__init__(name=name, input_shape=input_shape)
        self.units = int(units)
        self.activation = resolve_activation(DEFAULT_ACTIVATION if activation is None else activation).name
        self.use_bias = bool(use_bias)
        self.initializer_names = (kernel_initializer, bias_initializer)
        self.kernel_initializer = get_initializer(kernel_initializer, argument="kernel_initializer")
        self.bias_initializer = get_initializer(bias_initializer, argument="bias_initializer")

    def __repr__(self) -> str:
        return f"Dense(units={self.units}, activation={self.activation!r}, name={self.name!r})"

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(..., units)``: the last axis becomes ``units``."""
        return (*shape[:-1], self.units)

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return math.prod(output), math.prod(shape) * self.units

    def _adding(self, neurons: int) -> str:
        return f"Dense {self.name!r} ({self.units:,} units)"

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        self._require_built("weights")
        kernel = (self._input[-1], self.units)
        return [kernel, (self.units,)] if self.use_bias else [kernel]

    def get_config(self) -> dict[str, Any]:
        kernel, bias = self.initializer_names
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": kernel, "bias_initializer": bias}

    @property
    def tied(self) -> bool:
        """Whether the kernel serves several positions (an input of more than one axis), and so is
        tied by name; a 1-D layer's weights are each used once."""
        return len(self._input) > 1

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        features = sources.shape[-1]
        kernel = self.kernel_initializer(rng, (features, self.units))
        bias = self.bias_initializer(rng, (1, self.units))[0] if self.use_bias else np.zeros(self.units)
        neurons = position_ids(str(self.name), self._output)
        layers = _layer_of(self, self.activation, self._output).reshape(-1, self.units)
        inputs = sources.reshape(-1, features)
        targets = neurons.reshape(-1, self.units)
        tied = self.tied
        bias_names = [tied_name(str(self.name), "bias", (u,)) for u in range(self.units)]
        nodes = []
        for position, row in enumerate(targets):
            for u, node in enumerate(row):
                data = {ROLE: HIDDEN, BIAS: float(bias[u]), ACTIVATION: self.activation,
                        LAYER: layers[position, u]}
                if tied and self.use_bias:
                    data[BIAS_PARAM] = bias_names[u]
                nodes.append((node, data))
        G.add_nodes_from(nodes)
        values = kernel.tolist()
        if not tied:
            connect_all(G, inputs[0].tolist(), targets[0].tolist(), [[{WEIGHT: w} for w in row] for row in values])
            return neurons
        names = [[tied_name(str(self.name), "kernel", (i, j)) for j in range(self.units)] for i in range(features)]
        for sources_row, targets_row in zip(inputs.tolist(), targets.tolist()):
            connect_all(G, sources_row, targets_row, [[{WEIGHT: w, PARAM: name} for w, name in zip(row, row_names)]
                                                      for row, row_names in zip(values, names)])
        return neurons

    def _places(self) -> list[tuple[str, list]]:
        # A 1-D layer uses each weight once; on more axes, the first position's copies stand for
        # the tied ones at every other position.
        features = self._input[-1]
        inputs = self.sources.reshape(-1, features)[0].tolist()
        targets = self.neurons.reshape(-1, self.units)[0].tolist()
        kernel = [(source, target) for source in inputs for target in targets]
        return [("weights", kernel)] + ([("biases", targets)] if self.use_bias else [])


class Activation(Weightless):
    """Applies an activation to its input, position by position: Keras' ``Activation``.

    Each neuron reads the same position of its input with weight 1 (a fixed connection, no
    parameter) and applies ``activation``; softmax works over the last axis.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Activation("relu", input_shape=(3,))])
    >>> model.predict(np.array([[-1.0, 0.0, 2.0]]))
    array([[0., 0., 2.]])
    """

    kind = "Activation"
    base_name = "activation"

    def __init__(self, activation: str, *, name: str | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.activation = resolve_activation(activation).name

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return math.prod(shape), math.prod(shape)

    def get_config(self) -> dict[str, Any]:
        return {"activation": self.activation}

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        output = self._output
        neurons = position_ids(str(self.name), output)
        layers = _layer_of(self, self.activation, output)
        G.add_nodes_from((neurons[index], {ROLE: HIDDEN, BIAS: 0.0, ACTIVATION: self.activation,
                                           LAYER: layers[index]}) for index in np.ndindex(*output))
        add_connections(G, ((source, target, {WEIGHT: 1.0})
                            for source, target in zip(sources.reshape(-1).tolist(), neurons.reshape(-1).tolist())))
        return neurons


class Flatten(Weightless):
    """Hands its input on as one axis, in C order (the last axis varies fastest), as Keras'
    ``Flatten``; it adds no neuron.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Input(shape=(2, 2, 3)), Flatten()])
    >>> model.output_shape, model.layers[0].neurons[:4].tolist()
    ((None, 12), ['input/0,0,0', 'input/0,0,1', 'input/0,0,2', 'input/0,1,0'])
    """

    kind = "Flatten"
    base_name = "flatten"
    adds_neurons = False

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(product of the input's sizes,)``."""
        return (math.prod(shape),)


class Reshape(Weightless):
    """Hands its input on in ``target_shape`` (one size may be -1, inferred), as Keras' ``Reshape``;
    it adds no neuron.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([Input(shape=(12,)), Reshape((3, -1))]).output_shape
    (None, 3, 4)
    """

    kind = "Reshape"
    base_name = "reshape"
    adds_neurons = False

    def __init__(self, target_shape: Sequence[int], *, name: str | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if (not isinstance(target_shape, (tuple, list)) or not target_shape
                or not all(whole_number(size) and (size >= 1 or size == -1) for size in target_shape)
                or list(target_shape).count(-1) > 1):
            raise LayerError(f"{self.label}: target_shape must be a tuple of positive whole numbers, one of "
                             f"which may be -1, got {shown(target_shape)}")
        self.target_shape = tuple(int(size) for size in target_shape)

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``target_shape`` with -1 inferred; refuses a shape of another size than the input's."""
        total = math.prod(shape)
        known = math.prod(size for size in self.target_shape if size != -1)
        if -1 in self.target_shape and total % known == 0:
            return tuple(total // known if size == -1 else size for size in self.target_shape)
        if -1 not in self.target_shape and known == total:
            return self.target_shape
        raise LayerError(f"{self.label}: cannot reshape an input of shape {shape} ({total:,} values) into "
                         f"{self.target_shape}")

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape)}


class Dropout(Weightless):
    """Keras' ``Dropout``: during training it zeroes a ``rate`` of its inputs; at inference, which is
    all nngraph runs, it hands its input on unchanged and adds no neuron.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Input(shape=(4,)), Dense(3), Dropout(0.5)], seed=0)
    >>> model.layers[-1].neurons.tolist() == model.layers[0].neurons.tolist()
    True
    """

    kind = "Dropout"
    base_name = "dropout"
    adds_neurons = False

    def __init__(self, rate: float, *, noise_shape: Sequence[int] | None = None, seed: int | None = None,
                 name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) or not (
                0 <= rate <= 1):
            raise LayerError(f"{self.label}: rate must be a number from 0 to 1, got {shown(rate)}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
