"""Keras-style layers (``Input``, ``Dense``): a front end that writes neurons and connections into a graph.

A layer holds its settings; once added to a ``Sequential`` model it is bound to
the model's graph, and its weights live there (and only there), on the
connections and biases of its neurons.

A graph of neurons costs memory per element: about ``BYTES_PER_CONNECTION``
per connection and ``BYTES_PER_NEURON`` per neuron in networkx. A model may
hold at most ``MAX_CONNECTIONS`` connections, and as many neurons, unless it
is given another limit (``Sequential(max_connections=...)``): a layer that
would go beyond it is refused before anything is allocated, with the count and
the memory it would take.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from nngraph.core.activations import resolve_activation
from nngraph.core.network import BIAS, DEFAULT_ACTIVATION, HIDDEN, WEIGHT, LayerRecord, Neuron, add_neuron
from nngraph.core.params import assign
from nngraph.core.validate import first_bad_number
from nngraph.errors import ArgumentError, LayerError, NetworkError
from nngraph.keras.initializers import get_initializer

if TYPE_CHECKING:
    from nngraph.keras.sequential import Sequential

MAX_CONNECTIONS = 50_000_000
BYTES_PER_CONNECTION = 350  # a networkx edge with its weight, as measured on a Dense layer, rounded up
BYTES_PER_NEURON = 600      # a networkx node with its role, bias, activation and layer


def check_size(*, neurons: int, connections: int, limit: int, adding: str,
               remedy: str = "Sequential(max_connections=...) raises it") -> None:
    """Refuse a model of more than ``limit`` connections or neurons: ``LayerError`` naming what is
    being added, the counts, the memory they would take, the limit and the ``remedy``.

    Examples
    --------
    >>> check_size(neurons=2_000_001_000, connections=1_000_000, limit=50_000_000, adding="Input")
    Traceback (most recent call last):
    ...
    nngraph.errors.LayerError: Input would make the model 2,000,001,000 neurons and 1,000,000 connections, ...
    """
    if neurons <= limit and connections <= limit:
        return
    memory = neurons * BYTES_PER_NEURON + connections * BYTES_PER_CONNECTION
    raise LayerError(f"{adding} would make the model {neurons:,} neurons and {connections:,} connections, "
                     f"about {memory / 1e9:,.1f} GB as a networkx graph; the limit is {limit:,} connections "
                     f"and as many neurons ({remedy})")


def _check_shape(shape: object, what: str) -> int:
    if (not isinstance(shape, (tuple, list)) or len(shape) != 1 or isinstance(shape[0], bool)
            or not isinstance(shape[0], (int, np.integer)) or shape[0] < 1):
        raise LayerError(f"{what} must be (n_features,) with a positive whole number, got {shape!r}")
    return int(shape[0])


class Input:
    """Declares the input layer's width, as Keras' ``Input(shape=(8,))`` does.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Input(shape=(8,)), Dense(units=6, activation="relu")], seed=0)
    >>> model.input_shape
    (None, 8)
    """

    def __init__(self, shape: Sequence[int], *, name: str = "input") -> None:
        self.units = _check_shape(shape, "Input shape")
        self.name = name


class Dense:
    """A fully connected layer: every input of the layer feeds every one of its ``units`` neurons.

    Parameters follow Keras: ``units``, ``activation`` (a name; ``None`` means
    linear), ``use_bias``, ``kernel_initializer`` (default ``"glorot_uniform"``),
    ``bias_initializer`` (default ``"zeros"``), ``input_shape`` (first layer
    only, or use ``Input``) and ``name`` (default ``dense``, ``dense_1``, ...).
    Neurons are named ``"<layer name>/<index>"``.

    Examples
    --------
    >>> layer = Dense(units=6, input_shape=(8,), activation="relu")
    >>> layer.units, layer.activation
    (6, 'relu')
    """

    kind = "Dense"

    def __init__(self, units: int, activation: str | None = None, *, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 input_shape: Sequence[int] | None = None, name: str | None = None) -> None:
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise LayerError(f"Dense{f' {name!r}' if name else ''}: units must be a positive whole "
                             f"number, got {units!r}")
        self.units = int(units)
        self.activation = resolve_activation(DEFAULT_ACTIVATION if activation is None else activation).name
        self.use_bias = bool(use_bias)
        self.kernel_initializer = get_initializer(kernel_initializer, argument="kernel_initializer")
        self.bias_initializer = get_initializer(bias_initializer, argument="bias_initializer")
        self.initializer_names = (kernel_initializer, bias_initializer)
        self.input_units = None if input_shape is None else _check_shape(input_shape, "input_shape")
        self.name = name
        self.model: Sequential | None = None
        self.sources: tuple[Hashable, ...] = ()
        self.neurons: tuple[Hashable, ...] = ()

    def __repr__(self) -> str:
        return f"Dense(units={self.units}, activation={self.activation!r}, name={self.name!r})"

    @property
    def built(self) -> bool:
        """Whether the layer belongs to a model (and so has weights)."""
        return self.model is not None

    @property
    def input_shape(self) -> tuple[None, int]:
        """Keras' ``(None, inputs)``: the batch size is free."""
        self._require_built("input_shape")
        return (None, len(self.sources))

    @property
    def output_shape(self) -> tuple[None, int]:
        """Keras' ``(None, units)``."""
        return (None, self.units)

    def count_params(self) -> int:
        """Trainable numbers in the layer: the kernel's, plus the biases when ``use_bias``."""
        self._require_built("count_params()")
        return len(self.sources) * self.units + (self.units if self.use_bias else 0)

    def get_config(self) -> dict[str, object]:
        """The layer's settings, as Keras names them (what its ``layers`` record keeps as ``config``).

        Examples
        --------
        >>> Dense(units=3, activation="tanh").get_config()["activation"]
        'tanh'
        """
        kernel, bias = self.initializer_names
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": kernel, "bias_initializer": bias}

    def record(self) -> LayerRecord:
        """The layer's record for the graph attribute ``layers`` (once the layer belongs to a model)."""
        self._require_built("record")
        return LayerRecord(name=str(self.name), kind=self.kind, config=self.get_config(),
                           input_shape=self.input_shape, output_shape=self.output_shape, neurons=self.neurons)

    def build(self, G: nx.DiGraph, sources: Sequence[Hashable], rng: np.random.Generator,
              model: Sequential) -> None:
        """Add this layer's neurons to ``G``, fully connected from ``sources``, with initial weights."""
        if self.model is not None:
            raise LayerError(f"layer {self.name!r} already belongs to a model; create a new layer")
        check_size(neurons=G.number_of_nodes() + self.units,
                   connections=G.number_of_edges() + len(sources) * self.units,
                   limit=model.max_connections, adding=f"Dense {self.name!r} ({self.units:,} units)")
        self.model = model
        self.sources = tuple(sources)
        self.neurons = tuple(f"{self.name}/{index}" for index in range(self.units))
        kernel = self.kernel_initializer(rng, (len(self.sources), self.units))
        bias = self.bias_initializer(rng, (1, self.units))[0] if self.use_bias else np.zeros(self.units)
        for target, b in zip(self.neurons, bias):
            add_neuron(G, Neuron(target, role=HIDDEN, bias=float(b), activation=self.activation,
                                 layer=self.name))
        G.add_edges_from((source, target, {WEIGHT: float(kernel[i, j])})
                         for i, source in enumerate(self.sources)
                         for j, target in enumerate(self.neurons))

    def _require_built(self, what: str) -> None:
        if self.model is None:
            raise LayerError(f"layer {self.name or 'Dense'!r} has no {what} yet; add it to a Sequential model first")

    def get_weights(self) -> list[np.ndarray]:
        """Return ``[kernel, bias]`` in Keras' layout: kernel ``(inputs, units)``, bias ``(units,)``.

        Without a bias (``use_bias=False``) the list holds the kernel only; an
        unbuilt layer returns ``[]``, as in Keras.
        """
        if self.model is None:
            return []
        G = self.model.graph
        kernel = np.array([[G.edges[source, target][WEIGHT] for target in self.neurons]
                           for source in self.sources], dtype=float).reshape(len(self.sources), self.units)
        if not self.use_bias:
            return [kernel]
        return [kernel, np.array([G.nodes[target][BIAS] for target in self.neurons], dtype=float)]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Write ``[kernel, bias]`` (Keras' layout) onto the layer's connections and neurons.

        A connection or bias tied to others by a name (``param``, ``bias_param``) writes every copy;
        two different numbers for one name are refused.
        """
        self._require_built("weights")
        expected = [(len(self.sources), self.units)] + ([(self.units,)] if self.use_bias else [])
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
            raise ArgumentError(f"layer {self.name!r}: set_weights takes a list of arrays "
                                f"([kernel, bias]), got {type(weights).__name__}")
        if len(weights) != len(expected):
            raise LayerError(f"layer {self.name!r}: set_weights expects {len(expected)} arrays "
                             f"(shapes {', '.join(map(str, expected))}), got {len(weights)}")
        arrays = [self._numbers(array, what) for array, what in zip(weights, ("kernel", "bias"))]
        for array, shape, what in zip(arrays, expected, ("kernel", "bias")):
            if array.shape != shape:
                raise LayerError(f"layer {self.name!r}: {what} must have shape {shape}, got {array.shape}")
            if not np.isfinite(array).all():
                raise LayerError(f"layer {self.name!r}: {what} holds non-finite numbers")
        kernel = arrays[0].tolist()
        weights = {(source, target): kernel[i][j] for i, source in enumerate(self.sources)
                   for j, target in enumerate(self.neurons)}
        biases = dict(zip(self.neurons, arrays[1].tolist())) if self.use_bias else {}
        try:
            assign(self.model.graph, weights=weights, biases=biases)  # type: ignore[union-attr]
        except NetworkError as error:
            raise LayerError(f"layer {self.name!r}: {error}") from None

    def _numbers(self, array: ArrayLike, what: str) -> np.ndarray:
        """``array`` as floats, or ``LayerError`` naming the first value that is not a number (see
        ``nngraph.core.validate.number_problem``: a Fraction is refused here as on a connection)."""
        try:
            raw = np.asarray(array)
        except ValueError:  # ragged nesting
            raise LayerError(f"layer {self.name!r}: {what} must be an array of numbers, with rows "
                             "of one length") from None
        if raw.dtype.kind not in "fiub":
            bad = first_bad_number(raw.astype(object))
            if bad:
                index, problem = bad
                where = f"{what}[{', '.join(map(str, index))}]" if index else what
                raise LayerError(f"layer {self.name!r}: {where} must be a number, {problem}")
        return raw.astype(float)
