"""Pooling layers as neurons: one per output position and channel, reading its window of one channel.

Max pooling is a neuron with ``aggregation="max"`` over connections of weight 1; average pooling
a weighted sum with weights ``1 / n``, where ``n`` counts the window's cells on the input: at a
``same`` border, Keras leaves the padding out of the average (and out of the max). Beyond Keras,
``padding`` may give explicit zero cells around each axis, and average pooling may count them in
the average (``count_include_pad=True``: ``n`` is the whole window), as PyTorch's and ONNX's do.
The global poolings read every position of their channel. Pooling layers have no weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.network import AGGREGATION, ACTIVATION, BIAS, DEFAULT_ACTIVATION, HIDDEN, LAYER, ROLE, WEIGHT
from nngraph.errors import LayerError
from nngraph.keras.layers.base import (Layer, Padding, Weightless, Windows, add_connections, padding_config,
                                       padding_mode, position_ids, size_tuple, windows)

MAX, AVERAGE = "max", "average"


def _spatial_axes(layer: Layer, rank: int, shape: tuple[int, ...]) -> None:
    if len(shape) != rank + 1:
        axes = "(steps, channels)" if rank == 1 else "(rows, cols, channels)"
        raise LayerError(f"{layer.label}: {layer.kind} takes inputs of shape {axes}, got {shape}")


def _add_pooling_neurons(G: nx.DiGraph, layer: Layer, sources: np.ndarray, neurons: np.ndarray,
                         index: np.ndarray, mode: str, *, divisor: int | None = None) -> None:
    """One neuron per output position and channel, reading the cells ``index[position]`` (-1: none)
    of its channel: weights 1 and ``max``, or weights ``1 / divisor`` summed (``divisor``: the
    window's cells on the input unless given)."""
    channels = sources.shape[-1]
    inputs = sources.reshape(-1, channels).tolist()
    targets = neurons.reshape(-1, channels).tolist()
    data = {ROLE: HIDDEN, BIAS: 0.0, ACTIVATION: DEFAULT_ACTIVATION, LAYER: layer.name}
    if mode == MAX:
        data[AGGREGATION] = "max"
    G.add_nodes_from((node, dict(data)) for position in targets for node in position)
    edges = []
    for position, cells in enumerate(index.tolist()):
        cells = [cell for cell in cells if cell >= 0]
        weight = 1.0 if mode == MAX else 1.0 / (divisor or len(cells))
        for c, target in enumerate(targets[position]):
            edges.extend((inputs[cell][c], target, {WEIGHT: weight}) for cell in cells)
    add_connections(G, edges)


class BasePooling(Weightless):
    """Max or average pooling over ``rank`` spatial axes, channel by channel."""

    rank = 2
    mode = MAX

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: Padding | int | Sequence[int] = "valid", *, name: str | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.pool_size = size_tuple(pool_size, self.rank, "pool_size", self.label)
        self.strides = self.pool_size if strides is None else size_tuple(strides, self.rank, "strides",
                                                                          self.label)
        self.padding = padding_mode(padding, self.label, rank=self.rank)
        self.windows: Windows | None = None

    def __repr__(self) -> str:
        return (f"{self.kind}(pool_size={self.pool_size}, strides={self.strides}, "
                f"padding={self.padding!r}, name={self.name!r})")

    def _windows(self, shape: tuple[int, ...]) -> Windows:
        _spatial_axes(self, self.rank, shape)
        found = windows(shape[:-1], self.pool_size, strides=self.strides, dilation=(1,) * self.rank,
                        padding=self.padding)
        if found is None:
            raise LayerError(f"{self.label}: the pool {self.pool_size} is larger than its input "
                             f"{shape[:-1]} with padding={padding_config(self.padding)!r}, so there is no "
                             "output position; use a smaller pool_size or padding='same'")
        if not found.valid.any(axis=1).all():
            raise LayerError(f"{self.label}: with padding={padding_config(self.padding)!r}, a window of the pool "
                             f"{self.pool_size} lies wholly on the padding; pad each side by less than "
                             "the pool size")
        return found

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(*spatial output, channels)``; refuses a pool larger than a ``valid`` input."""
        return (*self._windows(shape).output, shape[-1])

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return math.prod(output), int(self._windows(shape).valid.sum()) * shape[-1]

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": padding_config(self.padding)}

    def _divisor(self) -> int | None:
        """What an average divides by: None for the window's cells on the input (Keras)."""
        return None

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.windows = self._windows(tuple(sources.shape))
        neurons = position_ids(str(self.name), self._output)
        _add_pooling_neurons(G, self, sources, neurons, self.windows.index, self.mode, divisor=self._divisor())
        return neurons


class BaseAveragePooling(BasePooling):
    """Average pooling; ``count_include_pad=True`` divides by the whole window, padding cells
    included (PyTorch's and ONNX's choice), where Keras divides by the cells on the input."""

    mode = AVERAGE

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: Padding | int | Sequence[int] = "valid", *, count_include_pad: bool = False,
                 name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(pool_size, strides, padding, name=name, input_shape=input_shape)
        self.count_include_pad = bool(count_include_pad)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.count_include_pad:
            config["count_include_pad"] = True
        return config

    def _divisor(self) -> int | None:
        return math.prod(self.pool_size) if self.count_include_pad else None


class MaxPooling1D(BasePooling):
    """The largest value of each window of ``pool_size`` steps, channel by channel.

    Keras' parameters and defaults: ``pool_size=2``, ``strides=None`` (the pool size),
    ``padding="valid"``; at a ``same`` border the padding takes no part.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([MaxPooling1D(input_shape=(5, 3))]).output_shape
    (None, 2, 3)
    """

    kind = "MaxPooling1D"
    base_name = "max_pooling1d"
    rank = 1
    mode = MAX


class MaxPooling2D(BasePooling):
    """The largest value of each ``pool_size`` window (default ``(2, 2)``), channel by channel.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([MaxPooling2D(input_shape=(5, 5, 3), padding="same")]).output_shape
    (None, 3, 3, 3)
    """

    kind = "MaxPooling2D"
    base_name = "max_pooling2d"
    rank = 2
    mode = MAX


class AveragePooling1D(BaseAveragePooling):
    """The mean of each window of ``pool_size`` steps; at a ``same`` border, of its cells on the input.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([AveragePooling1D(3, strides=1, input_shape=(5, 1))]).output_shape
    (None, 3, 1)
    >>> model = Sequential([AveragePooling1D(2, padding=1, count_include_pad=True, input_shape=(3, 1))])
    >>> model.predict(np.array([[[2.0], [4.0], [6.0]]]))[0, :, 0]  # (0 + 2) / 2, (4 + 6) / 2
    array([1., 5.])
    """

    kind = "AveragePooling1D"
    base_name = "average_pooling1d"
    rank = 1


class AveragePooling2D(BaseAveragePooling):
    """The mean of each ``pool_size`` window; at a ``same`` border, of its cells on the input.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([AveragePooling2D(input_shape=(3, 3, 1), padding="same")])
    >>> float(model.predict(np.arange(9.0).reshape(1, 3, 3, 1))[0, 1, 1, 0])  # the corner cell alone
    8.0
    """

    kind = "AveragePooling2D"
    base_name = "average_pooling2d"
    rank = 2


class BaseGlobalPooling(Weightless):
    """The max or mean of every position of each channel: output ``(channels,)``, or with
    ``keepdims=True`` ``(1, ..., 1, channels)``."""

    rank = 2
    mode = MAX

    def __init__(self, *, keepdims: bool = False, name: str | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(channels,)`` or, with ``keepdims``, ones for the spatial axes."""
        _spatial_axes(self, self.rank, shape)
        return (*(1,) * self.rank, shape[-1]) if self.keepdims else (shape[-1],)

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        return shape[-1], math.prod(shape)

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": self.keepdims}

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        neurons = position_ids(str(self.name), self._output)
        positions = math.prod(sources.shape[:-1])
        _add_pooling_neurons(G, self, sources, neurons, np.arange(positions)[None, :], self.mode)
        return neurons


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The largest value of each channel over all steps: ``(steps, channels)`` -> ``(channels,)``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([GlobalMaxPooling1D(input_shape=(7, 3))]).output_shape
    (None, 3)
    """

    kind = "GlobalMaxPooling1D"
    base_name = "global_max_pooling1d"
    rank = 1
    mode = MAX


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The largest value of each channel over all positions: ``(rows, cols, channels)`` -> ``(channels,)``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([GlobalMaxPooling2D(keepdims=True, input_shape=(4, 4, 3))]).output_shape
    (None, 1, 1, 3)
    """

    kind = "GlobalMaxPooling2D"
    base_name = "global_max_pooling2d"
    rank = 2
    mode = MAX


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean of each channel over all steps.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([GlobalAveragePooling1D(input_shape=(7, 3))]).output_shape
    (None, 3)
    """

    kind = "GlobalAveragePooling1D"
    base_name = "global_average_pooling1d"
    rank = 1
    mode = AVERAGE


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean of each channel over all positions.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> Sequential([GlobalAveragePooling2D(input_shape=(4, 4, 3))]).output_shape
    (None, 3)
    """

    kind = "GlobalAveragePooling2D"
    base_name = "global_average_pooling2d"
    rank = 2
    mode = AVERAGE
