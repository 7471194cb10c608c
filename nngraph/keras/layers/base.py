"""What every Keras-style layer shares: its shapes, its neurons by position, and the window arithmetic.

A layer is declared with its settings, then built into a model's graph: it receives the
previous layer's neurons as an array shaped like its input (channels last, no batch axis) and
adds its own, which it keeps as ``layer.neurons``, an array of node ids shaped like its output.
A layer that only renames positions (Flatten, Reshape, Dropout at inference) adds no neuron: its
``neurons`` are the previous ones, reshaped.

Neurons are named ``"<layer>/<index>"`` with the index of their position in the output:
``dense/3``, ``conv2d/0,4,5`` (row 0, column 4, filter 5). Tied numbers (a kernel entry used at
every position, a channel's scale) are named ``"<layer>/<weight>/<index>"`` (``conv2d/kernel/
1,2,0,5``) on every connection or bias they tie (the edge key ``param``, the node key
``bias_param``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from nngraph.core.network import BIAS, WEIGHT, LayerRecord, position_ids  # position_ids: re-exported for the layers
from nngraph.core.params import assign_lists
from nngraph.core.validate import first_bad_number
from nngraph.errors import ArgumentError, LayerError, NetworkError, shown

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


def whole_number(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_shape(shape: object, what: str) -> tuple[int, ...]:
    """``shape`` as a tuple of positive whole numbers (a bare number is a 1-D shape), or
    ``LayerError`` saying what ``what`` must be.

    Examples
    --------
    >>> check_shape((28, 28, 1), "Input shape"), check_shape(8, "Input shape")
    ((28, 28, 1), (8,))
    """
    if whole_number(shape):
        shape = (shape,)
    if (not isinstance(shape, (tuple, list)) or not shape
            or not all(whole_number(size) and size >= 1 for size in shape)):
        raise LayerError(f"{what} must be a tuple of positive whole numbers, channels last "
                         f"(such as (8,) or (28, 28, 1)), got {shown(shape)}")
    return tuple(int(size) for size in shape)


def size_tuple(value: object, rank: int, argument: str, layer: str) -> tuple[int, ...]:
    """``value`` (a positive whole number, or ``rank`` of them) as a ``rank``-tuple, as Keras reads
    ``kernel_size``, ``strides``, ``pool_size`` and ``dilation_rate``; ``LayerError`` otherwise.

    Examples
    --------
    >>> size_tuple(3, 2, "kernel_size", "Conv2D"), size_tuple((1, 2), 2, "strides", "Conv2D")
    ((3, 3), (1, 2))
    >>> size_tuple(0, 2, "strides", "Conv2D")
    Traceback (most recent call last):
    ...
    nngraph.errors.LayerError: Conv2D: strides must be a positive whole number or a tuple of 2 of them, got 0
    """
    values = (value,) * rank if whole_number(value) else value
    if (not isinstance(values, (tuple, list)) or len(values) != rank
            or not all(whole_number(size) and size >= 1 for size in values)):
        raise LayerError(f"{layer}: {argument} must be a positive whole number or a tuple of {rank} "
                         f"of them, got {shown(value)}")
    return tuple(int(size) for size in values)


Padding = str | tuple[tuple[int, int], ...]  # "valid", "same", or (before, after) cells per spatial axis


def padding_mode(value: object, layer: str, *, rank: int = 1) -> Padding:
    """Keras' ``padding``, ``"valid"`` or ``"same"`` in any case, or explicit zero cells around each
    of the ``rank`` spatial axes, as PyTorch and ONNX give them: one number for every side, ``rank``
    numbers (each axis' both sides) or ``rank`` pairs ``(before, after)``, returned as pairs (no
    padding at all is ``"valid"``); ``LayerError`` otherwise.

    Examples
    --------
    >>> padding_mode("SAME", "Conv2D"), padding_mode(1, "Conv2D", rank=2), padding_mode((0, 0), "Conv2D", rank=2)
    ('same', ((1, 1), (1, 1)), 'valid')
    >>> padding_mode(((0, 1), (2, 3)), "MaxPooling2D", rank=2)
    ((0, 1), (2, 3))
    """
    if isinstance(value, str):
        mode = value.lower()
        if mode in ("valid", "same"):
            return mode
    else:
        sides = (value,) * rank if whole_number(value) else value
        if isinstance(sides, (tuple, list)) and len(sides) == rank:
            pairs = [(side, side) if whole_number(side) else side for side in sides]
            if all(isinstance(pair, (tuple, list)) and len(pair) == 2
                   and all(whole_number(cells) and cells >= 0 for cells in pair) for pair in pairs):
                explicit = tuple((int(before), int(after)) for before, after in pairs)
                return "valid" if not any(map(any, explicit)) else explicit
    raise LayerError(f"{layer}: padding must be 'valid' or 'same', or the zero cells around each of the "
                     f"{rank} spatial axes (a whole number, {rank} of them, or {rank} (before, after) pairs), "
                     f"got {shown(value)}")


def padding_config(padding: Padding) -> str | list[list[int]]:
    """``padding`` as a layer's config holds it (JSON): the mode, or ``[[before, after], ...]``."""
    return padding if isinstance(padding, str) else [list(pair) for pair in padding]


def group_name(layer: str, index: tuple[int, ...], output_rank: int) -> str:
    """The ``layer`` a neuron of a group-wise activation (softmax) carries: its layer's name for a
    1-D output, else one group per position over the last axis, ``"<layer>[i,j]"``, as Keras applies
    softmax along the last axis.

    Examples
    --------
    >>> group_name("dense", (3,), 1), group_name("dense", (2, 0, 3), 3)
    ('dense', 'dense[2,0]')
    """
    if output_rank == 1:
        return layer
    return f"{layer}[{','.join(map(str, index[:-1]))}]"


@dataclass(frozen=True)
class Windows:
    """Where each output position's window lies on the input, as Keras' ``valid`` and ``same`` put it.

    ``output`` is the spatial output shape; ``index[p, k]`` is the flat (C-order) spatial input
    position under entry ``k`` of the window (C-order over the window's shape) at output position
    ``p``, or -1 where the entry falls on padding. ``padding`` is the cells added before each
    axis (``same`` puts the odd cell after, as TensorFlow and Keras do; explicit padding says
    its own).
    """

    output: tuple[int, ...]
    index: np.ndarray
    padding: tuple[int, ...]

    @property
    def valid(self) -> np.ndarray:
        """True where a window entry lies on the input (not on padding)."""
        return self.index >= 0


def windows(spatial: Sequence[int], window: Sequence[int], *, strides: Sequence[int],
            dilation: Sequence[int], padding: Padding) -> Windows | None:
    """The ``Windows`` of a convolution or pooling over ``spatial``; ``None`` when ``valid`` or
    explicit padding leaves no output position (the window is larger than the padded input).
    ``padding`` is ``"valid"``, ``"same"`` or ``(before, after)`` cells per axis (see ``padding_mode``).

    Examples
    --------
    >>> w = windows((4,), (3,), strides=(1,), dilation=(1,), padding="same")
    >>> w.output, w.index.tolist()
    ((4,), [[-1, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, -1]])
    >>> windows((2,), (3,), strides=(1,), dilation=(1,), padding="valid") is None
    True
    >>> windows((3,), (2,), strides=(2,), dilation=(1,), padding=((1, 0),)).index.tolist()
    [[-1, 0], [1, 2]]
    """
    coordinates, valid, output, before = [], [], [], []
    for axis, (size, width, stride, rate) in enumerate(zip(spatial, window, strides, dilation)):
        extent = (width - 1) * rate + 1
        if padding == "same":
            count = (size - 1) // stride + 1
            pad = max(0, (count - 1) * stride + extent - size) // 2
        else:
            pad, after = (0, 0) if padding == "valid" else padding[axis]
            count = (size + pad + after - extent) // stride + 1
            if count <= 0:
                return None
        cells = (np.arange(count) * stride - pad)[:, None] + (np.arange(width) * rate)[None, :]
        coordinates.append(cells)
        valid.append((cells >= 0) & (cells < size))
        output.append(count)
        before.append(pad)
    rank = len(coordinates)
    flat = np.zeros([1] * (2 * rank), dtype=np.int64)
    inside = np.ones([1] * (2 * rank), dtype=bool)
    for axis, (cells, ok) in enumerate(zip(coordinates, valid)):
        # Output axes first, then window axes: (out_0, ..., out_r, win_0, ..., win_r).
        shape = [1] * (2 * rank)
        shape[axis], shape[rank + axis] = cells.shape
        flat = flat * spatial[axis] + cells.reshape(shape)
        inside = inside & ok.reshape(shape)
    index = np.where(inside, flat, -1).reshape(math.prod(output), math.prod(window))
    return Windows(output=tuple(output), index=index, padding=tuple(before))


class Layer:
    """The base of every layer: name, shapes, neurons by position, weights, its record.

    Subclasses set ``kind`` (Keras' class name) and ``base_name`` (its automatic name), and write
    ``compute_output_shape`` (which also checks the settings against the input), ``size`` and
    ``_add_neurons``; layers with weights also ``weight_names``, ``weight_shapes`` and ``_places``
    (where each weight's entries live in the graph, which ``get_weights`` reads and ``set_weights``
    writes); a layer whose graph holds numbers computed from its weights (BatchNormalization)
    writes ``_read_weights`` and ``_write_weights`` instead.
    """

    kind = "Layer"
    base_name = "layer"
    adds_neurons = True  # False for layers that only rename positions (Flatten, Reshape, Dropout)

    def __init__(self, *, name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise LayerError(f"{self.kind}: name must be a non-empty str, got {shown(name)}")
        self.name = name
        self.declared_input = None if input_shape is None else check_shape(input_shape, "input_shape")
        self.model: Sequential | None = None
        self.sources: np.ndarray = np.empty(0, dtype=object)
        self.neurons: np.ndarray = np.empty(0, dtype=object)
        self._input: tuple[int, ...] = ()   # the input and output shapes without batch, once built
        self._output: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"{self.kind}(name={self.name!r})"

    @property
    def label(self) -> str:
        """How messages name the layer: ``layer 'conv2d'``, or its kind before it has a name."""
        return f"layer {self.name!r}" if self.name else self.kind

    @property
    def built(self) -> bool:
        """Whether the layer belongs to a model (and so has neurons and weights)."""
        return self.model is not None

    def _require_built(self, what: str) -> None:
        if self.model is None:
            raise LayerError(f"{self.label} has no {what} yet; add it to a Sequential model first")

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """Keras' ``(None, *input)``: the batch size is free."""
        self._require_built("input_shape")
        return (None, *self._input)

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """Keras' ``(None, *output)``."""
        self._require_built("output_shape")
        return (None, *self._output)

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape (without batch) for an input of ``shape``; ``LayerError`` when the
        settings do not fit it. The base layer keeps the shape."""
        return shape

    def build(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator, model: Sequential) -> None:
        """Add this layer's neurons to ``G``, reading ``sources`` (an array shaped like the input)."""
        if self.model is not None:
            raise LayerError(f"{self.label} already belongs to a model; create a new layer")
        shape = tuple(sources.shape)
        output = self.compute_output_shape(shape)
        neurons, connections = self.size(shape, output)
        check_size(neurons=G.number_of_nodes() + neurons, connections=G.number_of_edges() + connections,
                   limit=model.max_connections, adding=self._adding(neurons))
        self._input, self._output = shape, output
        self.sources = sources
        self.model = model
        self.neurons = self._add_neurons(G, sources, rng)

    def _adding(self, neurons: int) -> str:
        """How the size limit's message names the layer being added."""
        return f"{self.kind} {self.name!r} ({neurons:,} neurons)"

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        """How many neurons and connections the layer adds for this input and output (for the size
        limit, checked before anything is built). The base layer adds none."""
        return 0, 0

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Write the layer's neurons and connections into ``G``; return its output positions."""
        return sources.reshape(self._output)

    def computed_neurons(self) -> list[Hashable]:
        """The neurons the layer computes, its output positions last (C order): what its record in
        the graph's ``layers`` lists. None for a layer that only renames positions."""
        return self.neurons.reshape(-1).tolist() if self.adds_neurons else []

    def record(self) -> LayerRecord:
        """The layer's record for the graph attribute ``layers``: name, kind, config, shapes (None
        for the batch) and the neurons it computes, its output last."""
        self._require_built("record")
        return LayerRecord(name=str(self.name), kind=self.kind, config=self.get_config(),
                           input_shape=self.input_shape, output_shape=self.output_shape,
                           neurons=tuple(self.computed_neurons()))

    @classmethod
    def keras_params(cls, record: LayerRecord) -> tuple[int, int] | None:
        """The parameters Keras counts for the layer of ``record``, and how many of them are not
        trainable, where they are not the numbers the graph holds (as for a pooling's fixed
        weights, or BatchNormalization's four arrays folded into two); None where they are, so
        that summaries count the graph's numbers, a tied number once."""
        return None

    # -- parameters ----------------------------------------------------------------------------

    def weight_names(self) -> list[str]:
        """Keras' names of the layer's weights, in ``get_weights`` order."""
        return []

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """The shapes of the layer's weights, in ``get_weights`` order (known once built)."""
        return []

    def count_params(self) -> int:
        """Numbers in the layer's weights, as Keras counts them (trainable or not)."""
        self._require_built("count_params()")
        return sum(math.prod(shape) for shape in self.weight_shapes())

    def non_trainable_params(self) -> int:
        """Numbers Keras counts as non-trainable (BatchNormalization's moving statistics)."""
        return 0

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights in Keras' layout; ``[]`` before the layer is built, as in Keras."""
        if self.model is None or not self.weight_shapes():
            return []
        return self._read_weights(self.model.graph)

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Write weights given in Keras' layout (``get_weights``' order and shapes) into the graph,
        every tied copy included (``nngraph.core.params.assign``)."""
        self._require_built("weights")
        expected = self.weight_shapes()
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
            raise ArgumentError(f"{self.label}: set_weights takes a list of arrays "
                                f"([{', '.join(self.weight_names())}]), got {type(weights).__name__}")
        if len(weights) != len(expected):
            listed = ", ".join(f"{name} {shape}" for name, shape in zip(self.weight_names(), expected))
            raise LayerError(f"{self.label}: set_weights expects {len(expected)} arrays "
                             f"({listed or 'it has no weights'}), got {len(weights)}")
        if not expected:
            return
        arrays = []
        for array, shape, what in zip(weights, expected, self.weight_names()):
            numbers = self._numbers(array, what)
            if numbers.shape != shape:
                raise LayerError(f"{self.label}: {what} must have shape {shape}, got {numbers.shape}")
            if not np.isfinite(numbers).all():
                raise LayerError(f"{self.label}: {what} holds non-finite numbers")
            arrays.append(numbers)
        self._check_weights(arrays)
        self._write_weights(self._graph(), arrays)

    def _graph(self) -> nx.DiGraph:
        """The graph of the model the layer belongs to (once built)."""
        self._require_built("graph")
        return self.model.graph  # type: ignore[union-attr]

    def _check_weights(self, arrays: list[np.ndarray]) -> None:
        """Refuse weights that are well shaped but meaningless for the layer (none by default)."""

    def _places(self) -> list[tuple[str, list[Hashable]]]:
        """Where each entry of each weight lives, weight by weight, entries in C order: ``("weights",
        connections)`` for a weight held by connections ``(source, target)``, ``("biases", neurons)``
        for one held by biases. A tied number is listed once, at one of its copies."""
        raise NotImplementedError

    def _read_weights(self, G: nx.DiGraph) -> list[np.ndarray]:
        return [(read_biases(G, places) if held == "biases" else read_edges(G, places)).reshape(shape)
                for shape, (held, places) in zip(self.weight_shapes(), self._places())]

    def _write_weights(self, G: nx.DiGraph, arrays: list[np.ndarray]) -> None:
        places: dict[str, list] = {"weights": [], "biases": []}
        numbers: dict[str, list] = {"weights": [], "biases": []}
        for array, (held, where) in zip(arrays, self._places()):
            places[held] += where
            numbers[held] += array.reshape(-1).tolist()
        try:
            assign_lists(G, edges=places["weights"], weights=numbers["weights"], neurons=places["biases"],
                         biases=numbers["biases"])
        except NetworkError as error:
            raise LayerError(f"{self.label}: {error}") from None

    def _numbers(self, array: ArrayLike, what: str) -> np.ndarray:
        """``array`` as floats, or ``LayerError`` naming the first value that is not a number (see
        ``nngraph.core.validate.number_problem``: a Fraction is refused here as on a connection)."""
        try:
            raw = np.asarray(array)
        except ValueError:  # ragged nesting
            raise LayerError(f"{self.label}: {what} must be an array of numbers, with rows "
                             "of one length") from None
        if raw.dtype.kind not in "fiub":
            bad = first_bad_number(raw.astype(object))
            if bad:
                index, problem = bad
                where = f"{what}[{', '.join(map(str, index))}]" if index else what
                raise LayerError(f"{self.label}: {where} must be a number, {problem}")
        return raw.astype(float)

    def get_config(self) -> dict[str, Any]:
        """The layer's settings, as Keras names them (JSON values)."""
        return {}


class Weightless(Layer):
    """A layer with no weights (poolings, Activation, Flatten, ...): Keras counts no parameter,
    whatever fixed connections it has."""

    @classmethod
    def keras_params(cls, record: LayerRecord) -> tuple[int, int] | None:
        return (0, 0)


def tied_name(layer: str, weight: str, index: Iterable[int]) -> str:
    """The name tying the copies of one weight entry: ``"conv2d/kernel/1,2,0,5"``.

    Examples
    --------
    >>> tied_name("conv2d", "bias", (3,))
    'conv2d/bias/3'
    """
    return f"{layer}/{weight}/{','.join(map(str, index))}"


def add_connections(G: nx.DiGraph, connections: Iterable[tuple[Hashable, Hashable, dict]]) -> None:
    """Add ``connections``, ``(source, target, data)``, between neurons already in ``G``: what
    networkx's ``add_edges_from`` does, at about half its cost per connection (layers add millions).

    It writes the adjacency dicts directly, as ``read_edges`` reads them: a missing neuron is
    refused rather than created, and each data dict is stored as given, not copied (one dict per
    connection). A connection already there gets the new data, as with ``add_edges_from``.

    Examples
    --------
    >>> G = nx.DiGraph([("x", "y")])
    >>> add_connections(G, [("x", "y", {"weight": 0.5}), ("y", "x", {"weight": 2.0})])
    >>> list(G.edges(data="weight"))
    [('x', 'y', 0.5), ('y', 'x', 2.0)]
    """
    successors, predecessors = G._succ, G._pred
    for source, target, data in connections:
        try:
            out, into = successors[source], predecessors[target]
        except KeyError:
            missing = target if source in successors else source
            raise NetworkError(f"connection {source!r} -> {target!r}: neuron {missing!r} is not in the network",
                               node=missing, edge=(source, target)) from None
        if target in out:
            out[target].update(data)
        else:
            out[target] = into[source] = data
    _changed(G)


def connect_all(G: nx.DiGraph, sources: Sequence[Hashable], targets: Sequence[Hashable],
                data: Sequence[Sequence[dict]]) -> None:
    """Connect each of ``sources`` to each of ``targets``, neurons already in ``G``: ``data[i][j]`` is
    the data dict of ``sources[i] -> targets[j]``, stored as given (replacing a connection already
    there). A dense block of connections, as ``add_connections`` adds them but a neuron's whole
    row (or column) at once, at about half its cost again.

    Examples
    --------
    >>> G = nx.DiGraph(); G.add_nodes_from(["x0", "x1", "y"])
    >>> connect_all(G, ["x0", "x1"], ["y"], [[{"weight": 0.5}], [{"weight": 2.0}]])
    >>> list(G.in_edges("y", data="weight"))
    [('x0', 'y', 0.5), ('x1', 'y', 2.0)]
    """
    for node in (*sources, *targets):
        if node not in G:
            raise NetworkError(f"neuron {node!r} is not in the network, so it cannot be connected", node=node)
    for source, row in zip(sources, data):
        G._succ[source].update(zip(targets, row))
    for column, target in enumerate(targets):
        G._pred[target].update(zip(sources, [row[column] for row in data]))
    _changed(G)


def _changed(G: nx.DiGraph) -> None:
    """Drop what networkx (3.3 and later) caches about ``G``, as its own methods do on a change."""
    cache = getattr(G, "__networkx_cache__", None)
    if cache:
        cache.clear()


def read_edges(G: nx.DiGraph, edges: Iterable[tuple[Hashable, Hashable]]) -> np.ndarray:
    """The weights of ``edges``, in order, as floats (read from the adjacency dicts, as networkx does)."""
    adjacency = G._adj
    return np.array([adjacency[source][target][WEIGHT] for source, target in edges], dtype=float)


def read_biases(G: nx.DiGraph, nodes: Iterable[Hashable]) -> np.ndarray:
    """The biases of ``nodes``, in order, as floats."""
    data = G._node
    return np.array([data[node][BIAS] for node in nodes], dtype=float)
