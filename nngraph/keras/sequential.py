"""Keras-style ``Sequential``: a stack of layers that builds a plain nngraph network as it grows.

``model.graph`` is the network itself (a ``networkx.DiGraph`` following the
graph contract); layers read and write their weights there.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from nngraph.errors import ArgumentError, LayerError, shown
from nngraph.execute.compiled import compile_network
from nngraph.execute.reference import run_reference
from nngraph.execute.trace import Trace
from nngraph.core.network import HIDDEN, OUTPUT, ROLE, add_input, add_layer
from nngraph.keras.layers.core import MAX_CONNECTIONS, Dense, Input, check_size
from nngraph.keras.summary import format_summary, layer_rows


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

    Each layer added writes its neurons and connections into ``model.graph`` and its record
    (name, kind, config, shapes, neurons) into ``model.graph.graph["layers"]``, so that a saved
    and loaded graph keeps its layer structure.

    Parameters
    ----------
    layers : iterable of Input / Dense, optional
        The layers, first to last. The first ``Dense`` needs ``input_shape``
        unless an ``Input`` comes before it.
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

    def __init__(self, layers: Iterable[Dense | Input] | None = None, *, name: str = "sequential",
                 seed: int | None = None, max_connections: int = MAX_CONNECTIONS) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, (int, np.integer)):
            raise ArgumentError(f"max_connections must be a whole number, got {shown(max_connections)}")
        if layers is not None and not isinstance(layers, Iterable):
            raise ArgumentError(f"Sequential takes a list of layers, got {type(layers).__name__}")
        self.name = name
        self.graph = nx.DiGraph()
        self.layers: list[Dense] = []
        self.max_connections = int(max_connections)
        self._inputs: tuple[str, ...] = ()
        self._rng = _generator(seed)
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Dense | Input) -> None:
        """Append ``layer``: its neurons become the outputs, fully connected from the last layer."""
        if isinstance(layer, Input):
            if self._inputs:
                raise LayerError("Input must come first, before any other layer")
            self._set_inputs(layer.units)
            return
        if not isinstance(layer, Dense):
            raise LayerError(f"Sequential takes Input and Dense layers, got {type(layer).__name__}")
        if not self._inputs:
            if layer.input_units is None:
                raise LayerError(f"the first layer needs input_shape, e.g. Dense(units={layer.units}, "
                                 "input_shape=(8,)), or put an Input(shape=(8,)) before it")
            self._set_inputs(layer.input_units)
        elif layer.input_units is not None and self.layers and layer.input_units != self.layers[-1].units:
            raise LayerError(f"layer {layer.name or 'Dense'!r}: input_shape=({layer.input_units},) does not "
                             f"match the {self.layers[-1].units} units of the layer before it")
        if layer.name is None:
            layer.name = self._free_name("dense")
        elif any(existing.name == layer.name for existing in self.layers) or layer.name == "input":
            raise LayerError(f"the model already has a layer named {layer.name!r}; names must be unique")
        sources = self.layers[-1].neurons if self.layers else self._inputs
        layer.build(self.graph, sources, self._rng, self)
        for node in sources if self.layers else ():
            self.graph.nodes[node][ROLE] = HIDDEN
        for node in layer.neurons:
            self.graph.nodes[node][ROLE] = OUTPUT
        add_layer(self.graph, layer.record())
        self.layers.append(layer)

    def _set_inputs(self, units: int) -> None:
        check_size(neurons=units, connections=0, limit=self.max_connections,
                   adding=f"an input of {units:,} features")
        self._inputs = tuple(f"input/{index}" for index in range(units))
        for node in self._inputs:
            add_input(self.graph, node)

    def _free_name(self, base: str) -> str:
        taken = {layer.name for layer in self.layers}
        candidates = (base if index == 0 else f"{base}_{index}" for index in range(len(taken) + 1))
        return next(name for name in candidates if name not in taken)

    @property
    def input_shape(self) -> tuple[None, int]:
        """Keras' ``(None, n_inputs)``."""
        return (None, len(self._inputs))

    @property
    def output_shape(self) -> tuple[None, int]:
        """Keras' ``(None, units of the last layer)``."""
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def get_layer(self, name: str) -> Dense:
        """Return the layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise LayerError(f"no layer named {name!r}; layers: {', '.join(l.name for l in self.layers)}")

    def count_params(self) -> int:
        """All trainable numbers: kernels and biases of every layer, a tied number once."""
        return layer_rows(self.graph)[1]

    def summary_text(self) -> str:
        """The text ``summary()`` prints: the layer table of ``model.graph`` (``nngraph summary``'s too)."""
        rows, total = layer_rows(self.graph)
        return format_summary(self.name, rows, total=total)

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

    def trace(self, x: ArrayLike) -> Trace:
        """Every neuron's weighted sum and value for ``x``, from the reference pass (see ``nngraph.Trace``)."""
        self._require_layers()
        return run_reference(self.graph, x)

    def predict(self, x: ArrayLike) -> np.ndarray:
        """The outputs for ``x``: shape ``(batch, units)`` for a batch, ``(units,)`` for one sample.

        Compiles the graph as it is now, so edits to ``model.graph`` always count; to run
        many small batches, compile once with ``nngraph.compile_network(model.graph)``.
        """
        self._require_layers()
        return compile_network(self.graph)(x)
