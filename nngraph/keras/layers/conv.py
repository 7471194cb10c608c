"""Convolution layers (``Conv1D``, ``Conv2D``) as neurons: one per output position and filter.

Each neuron reads the window of input positions under the kernel (all input channels), with the
kernel's weights; the same kernel entry, used at every position, is one number tied by name
(``conv2d/kernel/i,j,c,f`` on each of its connections), and so is each filter's bias
(``conv2d/bias/f``). ``same`` padding adds no neuron: a window entry on the padding has no
connection, which is what a zero in the padding contributes. Keras' semantics: cross-correlation,
``same`` padding split evenly with the odd cell after, ``strides > 1`` refused together with
``dilation_rate > 1``; kernel ``(*kernel_size, in_channels, filters)``, bias ``(filters,)``. Beyond
Keras, ``padding`` may also give the zero cells around each axis, as PyTorch and ONNX do
(``padding=1``, ``padding=((0, 1), (1, 1))``; see ``nngraph.keras.layers.base.padding_mode``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, BIAS, BIAS_PARAM, DEFAULT_ACTIVATION, HIDDEN, LAYER, PARAM, ROLE,
                                  WEIGHT)
from nngraph.errors import LayerError
from nngraph.keras.initializers import get_initializer
from nngraph.keras.layers.base import (Layer, Padding, Windows, add_connections, padding_config, padding_mode,
                                       position_ids, size_tuple, tied_name, whole_number, windows)


class BaseConv(Layer):
    """A convolution over ``rank`` spatial axes, channels last (``Conv1D``, ``Conv2D``)."""

    rank = 2

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: Padding | int | Sequence[int] = "valid", *, dilation_rate: int | Sequence[int] = 1,
                 activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = self.label
        if not whole_number(filters) or filters < 1:
            raise LayerError(f"{where}: filters must be a positive whole number, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = size_tuple(kernel_size, self.rank, "kernel_size", where)
        self.strides = size_tuple(strides, self.rank, "strides", where)
        self.dilation_rate = size_tuple(dilation_rate, self.rank, "dilation_rate", where)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise LayerError(f"{where}: strides > 1 cannot be combined with dilation_rate > 1 (Keras "
                             f"refuses it too); got strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = padding_mode(padding, where, rank=self.rank)
        self.activation = resolve_activation(DEFAULT_ACTIVATION if activation is None else activation).name
        self.use_bias = bool(use_bias)
        self.initializer_names = (kernel_initializer, bias_initializer)
        self.kernel_initializer = get_initializer(kernel_initializer, argument="kernel_initializer")
        self.bias_initializer = get_initializer(bias_initializer, argument="bias_initializer")
        self.windows: Windows | None = None

    def __repr__(self) -> str:
        return (f"{self.kind}(filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, name={self.name!r})")

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(*spatial output, filters)``; refuses an input of the wrong rank, or a window larger
        than the input under ``valid`` padding, or a kernel entry that no position reaches."""
        found = self._windows(shape)
        return (*found.output, self.filters)

    def _windows(self, shape: tuple[int, ...]) -> Windows:
        if len(shape) != self.rank + 1:
            axes = "(steps, channels)" if self.rank == 1 else "(rows, cols, channels)"
            raise LayerError(f"{self.label}: {self.kind} takes inputs of shape {axes}, got {shape}; "
                             "add a Reshape before it")
        spatial = shape[:-1]
        found = windows(spatial, self.kernel_size, strides=self.strides, dilation=self.dilation_rate,
                        padding=self.padding)
        if found is None:
            extent = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise LayerError(f"{self.label}: the kernel {self.kernel_size} (spanning {extent} with "
                             f"dilation_rate={self.dilation_rate}) is larger than its input {spatial} "
                             f"with padding={padding_config(self.padding)!r}, so there is no output "
                             "position; use a smaller kernel or padding='same'")
        unused = ~found.valid.any(axis=0)
        if unused.any():
            entry = np.unravel_index(int(np.flatnonzero(unused)[0]), self.kernel_size)
            raise LayerError(f"{self.label}: with padding={padding_config(self.padding)!r}, kernel entry {tuple(map(int, entry))} of "
                             f"the kernel {self.kernel_size} never meets the input {spatial} (it falls "
                             "on padding at every position), so it would be no weight of the network; "
                             "use a kernel no larger than the input")
        return found

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        found = self._windows(shape)
        return math.prod(output), int(found.valid.sum()) * shape[-1] * self.filters

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        self._require_built("weights")
        kernel = (*self.kernel_size, self._input[-1], self.filters)
        return [kernel, (self.filters,)] if self.use_bias else [kernel]

    def get_config(self) -> dict[str, Any]:
        kernel, bias = self.initializer_names
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": padding_config(self.padding), "dilation_rate": list(self.dilation_rate),
                "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": kernel, "bias_initializer": bias}

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.windows = self._windows(tuple(sources.shape))
        neurons = position_ids(str(self.name), self._output)
        kernel_shape, *_ = self.weight_shapes()
        kernel = self.kernel_initializer(rng, kernel_shape)
        bias = self.bias_initializer(rng, (self.filters,)) if self.use_bias else np.zeros(self.filters)
        bias_names = [tied_name(str(self.name), "bias", (f,)) for f in range(self.filters)]
        flat = neurons.reshape(-1, self.filters)
        nodes = []
        for position in flat:
            for f, node in enumerate(position):
                data = {ROLE: HIDDEN, BIAS: float(bias[f]), ACTIVATION: self.activation, LAYER: self.name}
                if self.use_bias:
                    data[BIAS_PARAM] = bias_names[f]
                nodes.append((node, data))
        G.add_nodes_from(nodes)
        names = [tied_name(str(self.name), "kernel", index) for index in np.ndindex(*kernel.shape)]
        values = kernel.reshape(-1).tolist()
        add_connections(G, self._connections(sources, neurons, values, names))
        return neurons

    def _connections(self, sources: np.ndarray, neurons: np.ndarray, values: list[float],
                     names: list[str]) -> Iterator[tuple[object, object, dict]]:
        """Every connection with its weight and tied name: target by target (position, then
        filter), each reading its window in kernel order (window entry, then input channel)."""
        channels, filters = sources.shape[-1], self.filters
        inputs = sources.reshape(-1, channels).tolist()
        targets = neurons.reshape(-1, filters).tolist()
        for position, cells in enumerate(self._built_windows().index.tolist()):
            reads = [(inputs[cell][c], (entry * channels + c) * filters)
                     for entry, cell in enumerate(cells) if cell >= 0 for c in range(channels)]
            for f, target in enumerate(targets[position]):
                for source, row in reads:
                    yield source, target, {WEIGHT: values[row + f], PARAM: names[row + f]}

    def _built_windows(self) -> Windows:
        """The windows of the built layer."""
        if self.windows is None:
            self._require_built("windows")
            self.windows = self._windows(self._input)
        return self.windows

    def _places(self) -> list[tuple[str, list]]:
        # Each kernel entry is read and written where it first meets the input; assign() writes
        # its tied copies at every other position.
        found = self._built_windows()
        channels, filters = self._input[-1], self.filters
        inputs = self.sources.reshape(-1, channels)
        targets = self.neurons.reshape(-1, filters)
        first = found.valid.argmax(axis=0)
        kernel = [(inputs[found.index[first[entry], entry], c], targets[first[entry], f])
                  for entry in range(len(first)) for c in range(channels) for f in range(filters)]
        return [("weights", kernel)] + ([("biases", list(targets[0]))] if self.use_bias else [])


class Conv1D(BaseConv):
    """A 1-D convolution over ``(steps, channels)``: Keras' ``Conv1D``.

    Parameters follow Keras: ``filters``, ``kernel_size``, ``strides`` (default 1), ``padding``
    (``"valid"`` or ``"same"``, or explicit zero cells: ``2``, ``((1, 0),)``), ``dilation_rate``, ``activation``, ``use_bias``,
    ``kernel_initializer`` (``"glorot_uniform"``), ``bias_initializer`` (``"zeros"``),
    ``name`` (default ``conv1d``, ``conv1d_1``, ...) and ``input_shape``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Conv1D(4, 3, padding="same", input_shape=(10, 2))], seed=0)
    >>> model.output_shape, model.layers[0].get_weights()[0].shape
    ((None, 10, 4), (3, 2, 4))
    """

    kind = "Conv1D"
    base_name = "conv1d"
    rank = 1


class Conv2D(BaseConv):
    """A 2-D convolution over ``(rows, cols, channels)``: Keras' ``Conv2D``.

    Parameters as ``Conv1D``'s, with sizes given as one number or a pair (``kernel_size=(5, 5)``);
    the default name is ``conv2d``. The kernel is ``(kh, kw, in_channels, filters)``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([Conv2D(6, 5, activation="relu", input_shape=(28, 28, 1))], seed=0)
    >>> model.output_shape, model.count_params()
    ((None, 24, 24, 6), 156)
    >>> model.layers[0].neurons[0, 4, 5]
    'conv2d/0,4,5'
    """

    kind = "Conv2D"
    base_name = "conv2d"
    rank = 2
