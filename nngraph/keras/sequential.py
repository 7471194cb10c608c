"""Keras-style ``Sequential``: a stack of layers that builds a plain nngraph network as it grows.

``model.graph`` is the network itself (a ``networkx.DiGraph`` following the graph contract);
layers read and write their weights there. Each layer added also writes its record (name, kind,
settings, shapes, neurons) into ``model.graph.graph["layers"]``, so that summaries, traces and
diagrams see the layers in the graph alone. Inputs have any shape, channels last: ``predict``
and ``trace`` take ``x`` of shape ``(batch, *input_shape)``, as Keras does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from nngraph.core.network import HIDDEN, INPUT, OUTPUT, ROLE, add_input, add_layer
from nngraph.errors import ArgumentError, InputError, LayerError, shown
from nngraph.execute.compiled import compile_network
from nngraph.execute.reference import run_reference
from nngraph.execute.trace import Trace
from nngraph.keras.layers.base import MAX_CONNECTIONS, Layer, check_size, position_ids
from nngraph.keras.layers.core import Input
from nngraph.keras.summary import format_summary, layer_table


def _generator(seed: object) -> np.random.Generator:
    """numpy's generator for ``seed``; a seed numpy refuses is a ``LayerError`` or ``ArgumentError``."""
    if isinstance(seed, (bool, np.bool_, float)):
        raise ArgumentError(f"seed must be None or a whole number, got {shown(seed)}")
    try:
        return np.random.default_rng(seed)  # type: ignore[arg-type]
    except TypeError:
        raise ArgumentError(f"seed must be None or a whole number, got {shown(seed)}") from None
    except ValueError:
        raise LayerError(f"seed must be 0 or more, got {shown(seed)}") from None


class Sequential:
    """A linear stack of layers, as in Keras; the lesson's code runs unchanged.

    Parameters
    ----------
    layers : iterable of layers, optional
        The layers, first to last (``Input``, ``Dense``, ``Conv2D``, ``MaxPooling2D``, ...). The
        first needs ``input_shape`` unless an ``Input`` comes before it.
    name : str
        The model's name, shown by ``summary()``.
    seed : int, optional
        Seeds the weight initialisers, so the same seed gives the same weights.
    max_connections : int
        The most connections (and neurons) the model may hold; a layer that would
        go beyond is refused before anything is allocated (``nngraph.layers.MAX_CONNECTIONS``).

    Examples
    --------
    >>> from nngraph.layers import Dense
    >>> model = Sequential([
    ...     Dense(units=6, input_shape=(8,), activation='relu'),
    ...     Dense(units=6, activation='relu'),
    ...     Dense(units=4, activation='softmax'),
    ... ], seed=0)
    >>> model.graph.number_of_edges(), model.count_params()
    (108, 124)
    """

    def __init__(self, layers: Iterable[Layer | Input] | None = None, *, name: str = "sequential",
                 seed: int | None = None, max_connections: int = MAX_CONNECTIONS) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, (int, np.integer)):
            raise ArgumentError(f"max_connections must be a whole number, got {shown(max_connections)}")
        if layers is not None and not isinstance(layers, Iterable):
            raise ArgumentError(f"Sequential takes a list of layers, got {type(layers).__name__}")
        self.name = name
        self.graph = nx.DiGraph()
        self.layers: list[Layer] = []
        self.max_connections = int(max_connections)
        self._inputs: np.ndarray | None = None
        self._rng = _generator(seed)
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Layer | Input) -> None:
        """Append ``layer``: it reads the last layer's neurons, and its own become the outputs."""
        if isinstance(layer, Input):
            if self._inputs is not None:
                raise LayerError("Input must come first, before any other layer")
            self._set_inputs(layer.shape)
            return
        if not isinstance(layer, Layer):
            raise LayerError(f"Sequential takes nngraph layers (Input, Dense, Conv2D, MaxPooling2D, ...), "
                             f"got {type(layer).__name__}")
        if self._inputs is None:
            if layer.declared_input is None:
                example = "Dense(units=6, input_shape=(8,))" if layer.kind == "Dense" else \
                    f"{layer.kind}(..., input_shape=(28, 28, 1))"
                raise LayerError(f"the first layer needs input_shape, e.g. {example}, or put an "
                                 "Input(shape=...) before it")
            self._set_inputs(layer.declared_input)
        elif layer.declared_input is not None and layer.declared_input != self._shape():
            raise LayerError(f"{layer.label}: input_shape={layer.declared_input} does not match the output "
                             f"{self._shape()} of the layer before it")
        if layer.name is None:
            layer.name = self._free_name(layer.base_name)
        elif any(existing.name == layer.name for existing in self.layers) or layer.name == "input":
            raise LayerError(f"the model already has a layer named {layer.name!r}; names must be unique")
        sources = self.layers[-1].neurons if self.layers else self._inputs
        layer.build(self.graph, sources, self._rng, self)  # type: ignore[arg-type]
        nodes = self.graph.nodes
        for node in sources.reshape(-1).tolist():  # type: ignore[union-attr]
            if nodes[node][ROLE] == OUTPUT:
                nodes[node][ROLE] = HIDDEN
        for node in layer.neurons.reshape(-1).tolist():
            if nodes[node][ROLE] != INPUT:
                nodes[node][ROLE] = OUTPUT
        add_layer(self.graph, layer.record())
        self.layers.append(layer)

    def _set_inputs(self, shape: tuple[int, ...]) -> None:
        count = math.prod(shape)
        check_size(neurons=count, connections=0, limit=self.max_connections,
                   adding=f"an input of {count:,} features")
        self._inputs = position_ids("input", shape)
        for node in self._inputs.reshape(-1).tolist():
            add_input(self.graph, node)

    def _shape(self) -> tuple[int, ...]:
        """The shape the next layer reads: the last layer's output, or the input's."""
        if self.layers:
            return self.layers[-1].output_shape[1:]  # type: ignore[return-value]
        return tuple(self._inputs.shape)  # type: ignore[union-attr]

    def _free_name(self, base: str) -> str:
        taken = {layer.name for layer in self.layers}
        candidates = (base if index == 0 else f"{base}_{index}" for index in range(len(taken) + 1))
        return next(name for name in candidates if name not in taken)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """Keras' ``(None, *input shape)``."""
        if self._inputs is None:
            raise LayerError("the model has no input yet; add an Input or a first layer with input_shape")
        return (None, *self._inputs.shape)

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """Keras' ``(None, *output shape of the last layer)``."""
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def get_layer(self, name: str) -> Layer:
        """Return the layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise LayerError(f"no layer named {name!r}; layers: {', '.join(str(l.name) for l in self.layers)}")

    def count_params(self) -> int:
        """All numbers of every layer's weights, as Keras counts them (non-trainable ones included),
        a tied number once."""
        return layer_table(self.graph).total

    def summary_text(self) -> str:
        """The text ``summary()`` prints: the layer table of ``model.graph`` (``nngraph summary``'s too)."""
        table = layer_table(self.graph)
        return format_summary(self.name, table.rows, total=table.total, non_trainable=table.non_trainable)

    def summary(self, print_fn=print) -> None:  # noqa: ANN001 - mirrors Keras' signature
        """Print a Keras-like table: each layer's name, type, output shape and parameter count."""
        print_fn(self.summary_text())

    def _repr_html_(self) -> str:
        """Jupyter shows the model as the interactive neuron view (its weights; ``model.trace(x)`` adds values)."""
        from nngraph.render.notebook import notebook_html

        return notebook_html(self)

    def _require_layers(self) -> None:
        if not self.layers:
            raise LayerError("the model has no layers yet; add a Dense layer first")

    def _flat(self, x: ArrayLike) -> tuple[ArrayLike, bool]:
        """``x`` as the executors take it, ``(batch, n_inputs)``, and whether it was one sample.

        A model of 1-D input hands ``x`` on as it is (the executors check it); others take
        ``(batch, *input_shape)`` or one sample of ``input_shape``.
        """
        shape = tuple(self._inputs.shape)  # type: ignore[union-attr]
        if len(shape) == 1:
            return x, np.ndim(x) == 1
        try:
            array = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise InputError(f"input must be a numeric array of shape (batch, {', '.join(map(str, shape))}): "
                             f"{error}") from None
        if array.shape == shape:
            return array.reshape(1, -1), True
        if array.ndim == len(shape) + 1 and array.shape[1:] == shape:
            return array.reshape(len(array), -1), False
        raise InputError(f"expected an array of shape (batch, {', '.join(map(str, shape))}) or {shape} "
                         f"for one sample, got shape {array.shape}")

    def trace(self, x: ArrayLike) -> Trace:
        """Every neuron's weighted sum and value for ``x``, from the reference pass (see ``nngraph.Trace``);
        ``x`` of shape ``(batch, *input_shape)``."""
        self._require_layers()
        flat, _ = self._flat(x)
        return run_reference(self.graph, flat)

    def predict(self, x: ArrayLike) -> np.ndarray:
        """The outputs for ``x`` of shape ``(batch, *input_shape)``: shape ``(batch, *output_shape)``
        (one sample of ``input_shape`` gives ``output_shape``).

        Compiles the graph as it is now, so edits to ``model.graph`` always count; to run
        many small batches, compile once with ``nngraph.compile_network(model.graph)``.
        """
        self._require_layers()
        flat, single = self._flat(x)
        outputs = compile_network(self.graph)(flat)
        shape = self.output_shape[1:]
        return outputs.reshape(shape) if single else outputs.reshape(len(outputs), *shape)
