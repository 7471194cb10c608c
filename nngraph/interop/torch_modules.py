"""PyTorch modules as nngraph networks: ``from_torch`` traces a module with ``torch.fx`` and builds
the chain of layers it finds with nngraph's Keras-style builders.

The module's forward must be a chain: each step reads the one before (``nn.Sequential``, or a
custom ``forward`` calling modules, ``torch.*``/``F.*`` functions and tensor methods in a row).
Each step becomes a builder layer whose ``set_weights`` receives the module's parameters in
Keras' layouts, so the network keeps layer records, summaries and traces by layer. The
layer names are the module paths (``features.0``) or, for functions, the fx node names (``relu_1``).

PyTorch holds images and feature maps channels first (``(C, H, W)``, ``(C, L)``); nngraph's
builders channels last. The network is built channels last, the kernels are transposed, the
first ``Linear`` after a flatten reads its features where nngraph put them, and the finished
graph lists its inputs and outputs in PyTorch's order (``nngraph.core.network.reordered``), so
``compile_network(G)(x.reshape(n, -1))`` equals ``module(x).reshape(n, -1)`` for the same ``x``.

What differs from Keras is kept as PyTorch computes it: pooling strides default to the window,
average pooling counts padding cells (``count_include_pad``), ``ceil_mode`` adds partial windows at
the border (past the input, no cell counts), ``LeakyReLU``'s slope defaults to
0.01, ``Softplus`` turns linear above its threshold, a recurrent layer's two biases (``b_ih``,
``b_hh``) are added into one (a GRU keeps both: Keras' ``reset_after=True`` is PyTorch's GRU).
Anything else is refused with ``InteropError`` naming the module or fx node and why.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.core.network import INPUT, OUTPUT, ROLE, reordered
from nngraph.errors import ArgumentError, InteropError, LayerError, NNGraphError, shown
from nngraph.extras import import_extra
from nngraph.keras.layers import (GRU, LSTM, Activation, AveragePooling1D, AveragePooling2D, BatchNormalization,
                                  Conv1D, Conv2D, Dense, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
                                  Input, Layer, LayerNormalization, MaxPooling1D, MaxPooling2D, SimpleRNN)
from nngraph.keras.sequential import Sequential

BATCH = "batch"  # the size of the batch axis, as a view's shape may read it (x.size(0))


def _torch() -> Any:
    """The ``torch`` module, or ``ExtraMissingError`` saying how to install it."""
    return import_extra("torch", extra="torch", library="PyTorch")


def from_torch(module: Any, input_shape: Sequence[int], *, name: str = "torch") -> nx.DiGraph:
    """The network of a PyTorch module, for inputs of ``input_shape`` (without the batch axis).

    Parameters
    ----------
    module : torch.nn.Module
        In eval mode (``module.eval()``) where that matters (BatchNorm, Dropout). Its ``forward`` is
        a chain of ``Linear``, ``Conv1d``/``Conv2d``, ``MaxPool``/``AvgPool`` 1d/2d,
        ``AdaptiveAvgPool`` 1d/2d, ``BatchNorm1d``/``2d``, ``LayerNorm``, ``Flatten``, ``Dropout``,
        ``Identity``, ``RNN``/``LSTM``/``GRU`` (``batch_first=True``), the activations ``ReLU``,
        ``LeakyReLU``, ``ELU``, ``SELU``, ``GELU``, ``Sigmoid``, ``Tanh``, ``Softplus``, ``Softmax``
        as modules, ``torch``/``F`` functions or tensor methods, and ``torch.flatten``, ``x.view``
        or ``x.reshape`` to ``(batch, -1)``.
    input_shape : sequence of int
        One sample's shape as PyTorch reads it: ``(features,)``, ``(channels, length)``,
        ``(channels, height, width)``, or ``(steps, features)`` for a ``batch_first`` recurrent
        layer (a 2-D shape is read as channels first when a convolution, pooling or batch norm
        comes first, as steps and features otherwise).
    name : str
        The name of the Keras-style model the network is built as (summaries show it).

    Returns
    -------
    networkx.DiGraph
        The network, inputs and outputs in PyTorch's order (C order of ``input_shape`` and of the
        module's output without its batch axis).

    Raises ``InteropError`` naming the module or fx node nngraph cannot express, and
    ``ExtraMissingError`` without PyTorch.

    Examples
    --------
    >>> import numpy as np, torch
    >>> import nngraph
    >>> module = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 4),
    ...                              torch.nn.Softmax(dim=-1)).double()
    >>> G = from_torch(module, (8,))
    >>> x = np.random.default_rng(0).normal(size=(3, 8))
    >>> bool(np.allclose(nngraph.compile_network(G)(x), module(torch.from_numpy(x)).detach().numpy()))
    True
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise ArgumentError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    shape = _input_shape(input_shape)
    if type(module).__module__.startswith("torch.nn") and not isinstance(module, torch.nn.Sequential):
        # One layer on its own: fx traces into a root module's forward, so the layer goes in a
        # Sequential, under its kind's name ("lstm").
        module = torch.nn.Sequential(OrderedDict([(type(module).__name__.lower(), module)]))
    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as error:  # fx raises several kinds: each means the forward cannot be traced
        raise InteropError(f"torch.fx cannot trace the module ({type(error).__name__}: {error}); from_torch "
                           "imports forwards without data-dependent control flow") from None
    chain = _chain(traced.graph)
    _refuse_training_batch_norm(torch, traced, chain)
    _propagate_shapes(torch, traced, shape)
    builder = _Builder(traced, shape, name=name, channels_first=_channels_first(torch, traced, chain, shape))
    for node in chain:
        builder.apply(node)
    return builder.network()


def _input_shape(value: object) -> tuple[int, ...]:
    if (not isinstance(value, (tuple, list)) or not value
            or not all(isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 1
                       for size in value)):
        raise ArgumentError("input_shape must be a tuple of positive whole numbers, one sample's shape "
                            f"without the batch axis, such as (3, 28, 28); got {shown(value)}")
    if len(value) > 3:
        raise InteropError(f"input_shape {tuple(value)}: from_torch takes (features,), (channels, length), "
                           "(steps, features) or (channels, height, width)")
    return tuple(int(size) for size in value)


# -- the chain of fx nodes -------------------------------------------------------------------------

def _is_shape(node: Any) -> bool:
    """Whether an fx node reads a tensor's shape (``x.size(0)``, ``x.shape[0]``), not its values."""
    if node.op == "call_method" and node.target == "size":
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1:2] == ("shape",):
        return True
    return (node.op == "call_function" and node.target is operator.getitem and hasattr(node.args[0], "op")
            and _is_shape(node.args[0]))


def _chain(graph: Any) -> list[Any]:
    """The fx nodes from the input to the output, in order; ``InteropError`` for anything but one
    chain (several inputs or outputs, a node reading two tensors or feeding two)."""
    placeholders = [node for node in graph.nodes if node.op == "placeholder"]
    if len(placeholders) != 1:
        raise InteropError(f"the module's forward takes {len(placeholders)} inputs "
                           f"({', '.join(node.name for node in placeholders)}); from_torch imports one input")
    output = next(node for node in graph.nodes if node.op == "output")
    result = output.args[0]
    if not hasattr(result, "op"):
        raise InteropError(f"the module's forward returns {type(result).__name__} of several values; "
                           "from_torch imports one output tensor", part="output")
    chain = []
    node = result
    while node.op != "placeholder":
        inputs = [source for source in node.all_input_nodes if not _is_shape(source)]
        if len(inputs) != 1:
            read = ", ".join(repr(source.name) for source in inputs) or "no tensor of the input"
            raise InteropError(f"fx node {node.name!r} ({_what(node)}) reads {read}: from_torch imports a chain "
                               "of layers, each reading the one before; branches and residual connections "
                               "are not supported", part=node.name)
        chain.append(node)
        node = inputs[0]
    chain.reverse()
    on_chain = {*chain, node, output}
    for step in [node, *chain]:
        for user in step.users:
            if user in on_chain or _is_shape(user):
                continue
            if user.op == "call_function" and user.target is operator.getitem and not user.users:
                continue  # an unused element of a tuple: out, _ = self.lstm(x)
            raise InteropError(f"fx node {user.name!r} ({_what(user)}) reads {step.name!r} but the output does not "
                               "use what it computes: from_torch imports a chain of layers (an in-place change "
                               "or a branch that is dropped is not supported; remove it)", part=user.name)
    return chain


def _what(node: Any) -> str:
    """How messages name an fx node's operation."""
    if node.op == "call_module":
        return f"module {node.target!r}"
    if node.op == "call_method":
        return f"method .{node.target}()"
    if node.op == "call_function":
        where = (getattr(node.target, "__module__", None) or "torch").lstrip("_")  # _operator: operator
        return f"function {where}.{getattr(node.target, '__name__', node.target)}"
    return node.op


def _refuse_training_batch_norm(torch: Any, traced: Any, chain: list[Any]) -> None:
    """Refuse a BatchNorm in training mode before the module runs (a run would move its statistics)."""
    for node in chain:
        if node.op == "call_module":
            module = traced.get_submodule(node.target)
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.training:
                raise InteropError(f"module {node.target!r} ({type(module).__name__}) is in training mode: it "
                                   "normalises with each batch's own statistics; call module.eval() before "
                                   "from_torch", part=node.target)


SHAPE = "nngraph_shape"  # the fx node meta key of its output's shape without the batch axis (None: no tensor)


def _propagate_shapes(torch: Any, traced: Any, shape: tuple[int, ...]) -> None:
    """Run the traced module once on zeros, recording every node's output shape in its ``meta``."""

    class Shapes(torch.fx.Interpreter):  # type: ignore[misc, name-defined]
        def run_node(self, node: Any) -> Any:
            result = super().run_node(node)
            node.meta[SHAPE] = tuple(result.shape[1:]) if isinstance(result, torch.Tensor) else None
            return result

    dtype = next((p.dtype for p in traced.parameters() if p.is_floating_point()), torch.float32)
    interpreter = Shapes(traced)
    interpreter.extra_traceback = False  # the module's own message, without fx's report of the graph
    try:
        with torch.no_grad():
            interpreter.run(torch.zeros((2, *shape), dtype=dtype))
    except Exception as error:  # the module's own complaint, whatever its kind
        raise InteropError(f"the module does not run on inputs of shape (batch, {', '.join(map(str, shape))}): "
                           f"{type(error).__name__}: {str(error).splitlines()[0]}") from None


def _result_shape(node: Any) -> tuple[int, ...] | None:
    """An fx node's output shape without the batch axis (None for a tuple)."""
    return node.meta.get(SHAPE)


def _channels_first(torch: Any, traced: Any, chain: list[Any], shape: tuple[int, ...]) -> bool:
    """Whether the input is channels first: always for ``(C, H, W)``, never for ``(features,)``;
    for a 2-D input, when a convolution, pooling or batch norm reads it before any layer that
    reads steps and features."""
    if len(shape) != 2:
        return len(shape) == 3
    nn = torch.nn
    for node in chain:
        if node.op != "call_module":
            continue
        kind = type(traced.get_submodule(node.target))
        if kind in (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.BatchNorm1d):
            return True
        if kind in (nn.Linear, nn.LayerNorm, nn.RNN, nn.LSTM, nn.GRU):
            return False
    return False


# -- building ----------------------------------------------------------------------------------------

@dataclass
class _Pending:
    """A layer not yet added, so that an activation right after it becomes its own (Dense, Conv)."""

    kind: type
    settings: dict[str, Any]
    weights: list[np.ndarray] | None
    part: str


@dataclass
class _Recurrent:
    """A recurrent module whose output is not yet known to be the sequence or the last step:
    ``stage`` is what the chain holds now, ``tuple`` (output, h_n), ``states`` (h_n, c_n),
    ``state`` (h_n) or ``sequence`` (output)."""

    module: Any
    path: str
    stage: str = "tuple"


class _Builder:
    """Walks the chain, adding builder layers to a ``Sequential``; tracks the tensor's PyTorch
    shape and where nngraph holds each of its positions."""

    def __init__(self, traced: Any, shape: tuple[int, ...], *, name: str, channels_first: bool) -> None:
        self.traced = traced
        self.shape = shape
        self.channels_first = channels_first
        self.order = np.arange(shape[0]) if len(shape) == 1 else None
        self.model = Sequential([Input(shape=self._nngraph_shape())], name=name)
        self.input_positions = self._positions().reshape(-1)
        self.result: tuple[int, ...] | None = None  # the output shape of the node being added
        self.pending: _Pending | None = None
        self.unrolled: _Recurrent | None = None
        self.names: set[str] = set()

    # -- where things are ------------------------------------------------------------------------

    def _nngraph_shape(self) -> tuple[int, ...]:
        return (*self.shape[1:], self.shape[0]) if self.channels_first else self.shape

    def _positions(self) -> np.ndarray:
        """For each position of the PyTorch tensor (its shape), nngraph's flat index of it."""
        if self.order is not None:
            return self.order
        flat = np.arange(math.prod(self.shape)).reshape(self._nngraph_shape())
        return np.moveaxis(flat, -1, 0) if self.channels_first else flat

    def _set(self, shape: tuple[int, ...], *, channels_first: bool = False) -> None:
        self.shape = shape
        self.channels_first = channels_first and len(shape) > 1
        self.order = np.arange(shape[0]) if len(shape) == 1 else None

    def _permuted(self, array: np.ndarray) -> np.ndarray:
        """A per-feature array of a 1-D tensor in nngraph's order of the features."""
        out = np.empty_like(array)
        out[self.order] = array
        return out

    # -- adding layers ---------------------------------------------------------------------------

    def _name(self, base: str) -> str:
        name, index = base, 0
        while name in self.names or name == "input":
            index += 1
            name = f"{base}_{index}"
        self.names.add(name)
        return name

    def _add(self, kind: type, settings: dict[str, Any], weights: list[np.ndarray] | None, part: str) -> None:
        self._flush()
        self.pending = _Pending(kind, settings, weights, part)
        if kind not in (Dense, Conv1D, Conv2D):
            self._flush()

    def _flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        try:
            layer = pending.kind(**pending.settings, name=self._name(pending.part))
            self.model.add(layer)
            if pending.weights is not None:
                layer.set_weights(pending.weights)
        except LayerError as error:
            raise InteropError(f"{pending.part}: {error}", part=pending.part) from None

    def activation(self, spec: str, part: str) -> None:
        """An element-wise (or softmax) activation: the pending Dense's or Conv's own where it
        has none, else an Activation layer."""
        activation = resolve_activation(spec)
        pending = self.pending
        if (pending is not None and pending.settings.get("activation") is None
                and (not activation.group_wise or pending.kind is Dense)):
            pending.settings["activation"] = activation.name
            return
        self._add(Activation, {"activation": activation.name}, None, part)

    def network(self) -> nx.DiGraph:
        """The finished network, inputs and outputs in PyTorch's order."""
        if self.unrolled is not None:
            if self.unrolled.stage != "sequence":
                raise InteropError(f"module {self.unrolled.path!r} ({type(self.unrolled.module).__name__}): the "
                                   "forward returns its tuple of states; return output[:, -1] or h_n[-1]",
                                   part=self.unrolled.path)
            self._build_recurrent(sequences=True)
        self._flush()
        if not self.model.layers or not any(layer.adds_neurons for layer in self.model.layers):
            raise InteropError("the module computes nothing nngraph holds as neurons (it only reshapes or "
                               "passes its input on)")
        G = self.model.graph
        inputs = np.array([node for node, role in G.nodes(data=ROLE) if role == INPUT], dtype=object)
        neurons = self.model.layers[-1].neurons.reshape(-1)
        in_order, out_order = inputs[self.input_positions].tolist(), neurons[self._positions().reshape(-1)].tolist()
        if in_order == inputs.tolist() and out_order == [node for node, role in G.nodes(data=ROLE) if role == OUTPUT]:
            return G  # already in PyTorch's order (features, steps): no copy
        return reordered(G, inputs=in_order, outputs=out_order)

    # -- dispatch --------------------------------------------------------------------------------

    def apply(self, node: Any) -> None:
        """Add what fx node ``node`` computes."""
        self.result = _result_shape(node)
        if self.unrolled is not None and self._read_recurrent(node):
            return
        handler: Any
        if node.op == "call_module":
            module = self.traced.get_submodule(node.target)
            handler = _MODULES.get(type(module).__name__) if type(module).__module__.startswith("torch.nn") else None
            where, arguments, part = f"module {node.target!r} ({type(module).__name__})", module, node.target
            if handler is None:
                raise InteropError(f"{where}: from_torch does not import this kind of module; it imports "
                                   f"{', '.join(sorted(_MODULES))}", part=part)
        else:
            functions, methods = _function_tables()
            table = functions if node.op == "call_function" else methods if node.op == "call_method" else {}
            handler = table.get(node.target)  # fx targets are functions and method names, all hashable
            where, arguments, part = f"fx node {node.name!r} ({_what(node)})", _Call(node), node.name
            if handler is None:
                raise InteropError(f"fx node {node.name!r}: from_torch does not import {_what(node)}", part=part)
        try:
            handler(self, arguments, part)
        except (LayerError, InteropError) as error:
            if isinstance(error, InteropError) and error.part is not None:
                raise
            raise InteropError(f"{where}: {error}", part=part) from None

    # -- the layer kinds -------------------------------------------------------------------------

    def linear(self, module: Any, part: str) -> None:
        weights = _array(module.weight).T
        if len(self.shape) == 1:
            weights = self._permuted(weights)
        elif self.channels_first:
            raise InteropError("a Linear over the last axis of a channels-first tensor; flatten it first")
        bias = module.bias
        self._add(Dense, {"units": module.out_features, "use_bias": bias is not None},
                  [weights] + ([_array(bias)] if bias is not None else []), part)
        self._set((*self.shape[:-1], module.out_features))

    def _spatial(self, rank: int, what: str) -> None:
        """Refuse a tensor that is not ``(channels, *rank spatial axes)`` held channels last."""
        if len(self.shape) != rank + 1 or not self.channels_first:
            axes = "(channels, length)" if rank == 1 else "(channels, height, width)"
            raise InteropError(f"{what} takes inputs of shape {axes} per sample; here the input is {self.shape}"
                               + ("" if self.channels_first else " read as steps and features"))

    def conv(self, module: Any, part: str) -> None:
        rank = len(module.kernel_size)
        self._spatial(rank, type(module).__name__)
        if module.groups != 1:
            raise InteropError(f"groups={module.groups}: nngraph's convolutions read every input channel (groups=1)")
        if module.padding_mode != "zeros":
            raise InteropError(f"padding_mode={module.padding_mode!r}: nngraph pads with zeros only")
        padding = module.padding if isinstance(module.padding, str) else tuple((p, p) for p in module.padding)
        kernel = np.moveaxis(_array(module.weight), (0, 1), (-1, -2))  # (out, in, *k) -> (*k, in, out)
        bias = module.bias
        self._add(Conv2D if rank == 2 else Conv1D,
                  {"filters": module.out_channels, "kernel_size": module.kernel_size, "strides": module.stride,
                   "padding": padding, "dilation_rate": module.dilation, "use_bias": bias is not None},
                  [kernel] + ([_array(bias)] if bias is not None else []), part)
        self._set(self.result, channels_first=True)  # type: ignore[arg-type]

    def pool(self, module: Any, part: str) -> None:
        name = type(module).__name__
        rank = 2 if name.endswith("2d") else 1
        self._spatial(rank, name)
        kernel, stride, pad = (_sizes(getattr(module, key), rank) for key in ("kernel_size", "stride", "padding"))
        if name.startswith("Max"):
            if _sizes(module.dilation, rank) != (1,) * rank:
                raise InteropError(f"dilation={module.dilation}: nngraph's pooling windows are not dilated")
            if module.return_indices:
                raise InteropError("return_indices=True: from_torch imports the pooled values only")
        elif getattr(module, "divisor_override", None) is not None:  # AvgPool1d has none
            raise InteropError(f"divisor_override={module.divisor_override}: nngraph divides by the window")
        # ceil_mode's last, partial window reads cells past the input: more padding after, which
        # takes no part in a max, nor in an average that leaves padding out.
        after = [p + (_pooled(n, k, s, p, ceil=True) - _pooled(n, k, s, p, ceil=False)) * s
                 for n, k, s, p in zip(self.shape[1:], kernel, stride, pad)] if module.ceil_mode else list(pad)
        counted = name.startswith("Avg") and module.count_include_pad and any(pad)
        if counted and after != list(pad):
            raise InteropError("ceil_mode=True with count_include_pad=True and padding: PyTorch's partial border "
                               "window counts the padding but not the cells past it, which nngraph's average "
                               "does not express (use count_include_pad=False, or no ceil_mode)")
        settings: dict[str, Any] = {"pool_size": kernel, "strides": stride,
                                    "padding": tuple(zip(pad, after))}
        if counted:
            settings["count_include_pad"] = True
        kinds = {"MaxPool1d": MaxPooling1D, "MaxPool2d": MaxPooling2D, "AvgPool1d": AveragePooling1D,
                 "AvgPool2d": AveragePooling2D}
        self._add(kinds[name], settings, None, part)
        self._set(self.result, channels_first=True)  # type: ignore[arg-type]

    def adaptive_pool(self, module: Any, part: str) -> None:
        name = type(module).__name__
        rank = 2 if name.endswith("2d") else 1
        self._spatial(rank, name)
        spatial = self.shape[1:]
        size = module.output_size
        wanted = tuple(n if s is None else s for n, s in zip(spatial, (size,) * rank if not isinstance(size, (
            tuple, list)) else size))
        if all(s == 1 for s in wanted):
            self._add(GlobalAveragePooling2D if rank == 2 else GlobalAveragePooling1D, {"keepdims": True}, None, part)
        elif all(n % s == 0 for n, s in zip(spatial, wanted)):
            windows = tuple(n // s for n, s in zip(spatial, wanted))
            self._add(AveragePooling2D if rank == 2 else AveragePooling1D,
                      {"pool_size": windows, "strides": windows}, None, part)
        else:
            raise InteropError(f"output_size={size} does not divide the input {spatial}: its windows overlap "
                               "unevenly, which nngraph's pooling does not express")
        self._set(self.result, channels_first=True)  # type: ignore[arg-type]

    def batch_norm(self, module: Any, part: str) -> None:
        if module.running_mean is None:
            raise InteropError("track_running_stats=False: it normalises with each batch's statistics, even "
                               "in eval mode")
        if len(self.shape) > 1:
            self._spatial(len(self.shape) - 1, type(module).__name__)
        arrays = ([_array(module.weight), _array(module.bias)] if module.affine else []) + [
            _array(module.running_mean), _array(module.running_var)]
        if len(self.shape) == 1:
            arrays = [self._permuted(array) for array in arrays]
        self._add(BatchNormalization, {"epsilon": module.eps, "center": module.affine, "scale": module.affine},
                  arrays, part)

    def layer_norm(self, module: Any, part: str) -> None:
        if len(module.normalized_shape) != 1 or (len(self.shape) > 1 and self.channels_first):
            raise InteropError(f"normalized_shape={tuple(module.normalized_shape)} on a tensor of shape "
                               f"{self.shape}: nngraph normalises over the last axis of a (features,) or "
                               "(steps, features) tensor only")
        weight, bias = module.weight, module.bias
        arrays = [_array(array) for array in (weight, bias) if array is not None]
        if len(self.shape) == 1:
            arrays = [self._permuted(array) for array in arrays]
        self._add(LayerNormalization, {"epsilon": module.eps, "scale": weight is not None,
                                       "center": bias is not None}, arrays, part)

    def flatten(self, part: str, start: int = 1, end: int = -1) -> None:
        rank = len(self.shape) + 1
        if start % rank != 1 or end % rank != rank - 1:
            raise InteropError(f"flattens axes {start} to {end} of a tensor of {rank} axes (with the batch); "
                               "from_torch imports a flatten of every axis but the batch (start_dim=1)")
        if len(self.shape) > 1:
            order = self._positions().reshape(-1)
            self._add(Flatten, {}, None, part)
            self._set((len(order),))
            self.order = order

    def recurrent_module(self, module: Any, part: str) -> None:
        if not module.batch_first:
            raise InteropError("batch_first=False: from_torch imports batch_first=True recurrent layers, "
                               "whose input is (batch, steps, features)")
        if module.bidirectional:
            raise InteropError("bidirectional=True: nngraph's recurrent layers run one direction")
        if getattr(module, "proj_size", 0):
            raise InteropError(f"proj_size={module.proj_size}: nngraph's LSTM has no projection")
        if module.training and module.dropout and module.num_layers > 1:
            raise InteropError(f"in training mode its dropout={module.dropout} between layers is random; call "
                               "module.eval() before from_torch")
        if len(self.shape) != 2 or self.channels_first or self.shape[1] != module.input_size:
            raise InteropError(f"takes (steps, {module.input_size}) per sample; here the input is {self.shape}")
        self.unrolled = _Recurrent(module, part)

    def _read_recurrent(self, node: Any) -> bool:
        """Follow a recurrent module's result through the indexing after it: True when ``node`` is
        consumed here (an element of its tuple, or the last step)."""
        state = self.unrolled
        if state is None:
            return False
        steps, layers, path = self.shape[0], state.module.num_layers, state.path
        index = node.args[1] if node.op == "call_function" and node.target is operator.getitem else None
        if state.stage == "tuple" and index in (0, 1):
            lstm = type(state.module).__name__ == "LSTM"
            state.stage = "sequence" if index == 0 else "states" if lstm else "state"
            return True
        if state.stage == "states" and index in (0, 1):
            if index == 1:
                raise InteropError(f"module {path!r} (LSTM): the forward reads its cell state c_n, which nngraph "
                                   "does not output; read the output or h_n", part=path)
            state.stage = "state"
            return True
        if state.stage == "state":
            squeeze = (node.op == "call_method" and node.target == "squeeze"
                       and _Call(node).argument(1, "dim", None) == 0)
            if index in (-1, layers - 1) or (squeeze and layers == 1):
                self._build_recurrent(sequences=False)
                return True
            raise InteropError(f"fx node {node.name!r} ({_what(node)}) reads h_n of module {path!r} (layers, batch, "
                               "units) other than by h_n[-1]; from_torch imports the last layer's final state",
                               part=node.name)
        if state.stage == "sequence":
            last = (isinstance(index, tuple) and 2 <= len(index) <= 3 and index[0] == slice(None)
                    and index[1] in (-1, steps - 1) and all(item == slice(None) for item in index[2:]))
            self._build_recurrent(sequences=not last)
            return last
        raise InteropError(f"fx node {node.name!r} ({_what(node)}) reads the tuple of module {path!r} other than by "
                           "indexing it, as out, h = module(x) does", part=node.name)

    def _build_recurrent(self, *, sequences: bool) -> None:
        """Add the pending recurrent module's layers (stacked ones return their sequences), its
        weights in Keras' layouts."""
        state, self.unrolled = self.unrolled, None
        if state is None:
            return
        module, path, kind = state.module, state.path, type(state.module).__name__
        units, layers = module.hidden_size, module.num_layers
        gru_gates = np.concatenate([np.arange(units, 2 * units), np.arange(units), np.arange(2 * units, 3 * units)])
        for layer in range(layers):
            kernel, recurrent = (_array(getattr(module, f"weight_{part}_l{layer}")) for part in ("ih", "hh"))
            biases = ([_array(getattr(module, f"bias_{part}_l{layer}")) for part in ("ih", "hh")]
                      if module.bias else [])
            settings: dict[str, Any] = {"units": units, "use_bias": bool(module.bias),
                                        "return_sequences": sequences or layer < layers - 1}
            if kind == "GRU":  # PyTorch's gates r, z, n; Keras' z, r, h, and both biases (reset_after)
                kernel, recurrent = kernel[gru_gates], recurrent[gru_gates]
                bias = [np.stack([b[gru_gates] for b in biases])] if biases else []
                builder: type = GRU
                settings["reset_after"] = True
            else:
                bias = [biases[0] + biases[1]] if biases else []
                builder = LSTM if kind == "LSTM" else SimpleRNN
                if kind == "RNN":
                    settings["activation"] = module.nonlinearity
            name = path if layers == 1 else f"{path}_l{layer}"
            self._add(builder, settings, [kernel.T, recurrent.T, *bias], name)
        self._set((self.shape[0], units) if sequences else (units,))

    def softmax(self, dim: int | None, part: str) -> None:
        rank = len(self.shape) + 1
        if dim is None:
            dim = 0 if rank in (1, 3) else 1  # PyTorch's implicit choice
        axis = dim % rank - 1
        if axis < 0:
            raise InteropError(f"softmax over dim={dim}, the batch axis; nngraph's softmax works over features")
        last = 0 if self.channels_first else len(self.shape) - 1
        if axis != last:
            over = "channels" if self.channels_first else "last axis"
            shape = ", ".join(map(str, self.shape))
            raise InteropError(f"softmax over dim={dim} of a tensor of shape (batch, {shape}); nngraph's softmax "
                               f"works over the {over}")
        self.activation("softmax", part)

    def view(self, call: _Call, part: str) -> None:
        sizes = call.node.args[1:] if len(call.node.args) > 1 else (call.node.kwargs.get("shape")
                                                                     or call.node.kwargs.get("size"),)
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        dims = [_dimension(size) for size in sizes]
        total = math.prod(self.shape)
        flat = len(dims) == 2 and (dims[0] == BATCH and dims[1] in (-1, total) or dims[0] == -1 and dims[1] == total)
        if flat:
            self.flatten(part)
            return
        raise InteropError(f"reshapes to ({', '.join(map(str, dims))}); from_torch imports view/reshape to "
                           "(batch, -1), as x.view(x.size(0), -1) or x.view(-1, features)")

    def dropout(self, training: object, part: str) -> None:
        if training:
            raise InteropError("dropout in training mode is random; call module.eval() before from_torch")


def _array(tensor: Any) -> np.ndarray:
    """A parameter or buffer as float64 numbers (exact for float32 and float64 tensors)."""
    return tensor.detach().cpu().double().numpy()


def _sizes(value: object, rank: int) -> tuple[int, ...]:
    """A module's size setting (a number or a tuple of them) as a ``rank``-tuple."""
    return tuple(map(int, value)) if isinstance(value, (tuple, list)) else (int(value),) * rank  # type: ignore


def _pooled(size: int, window: int, stride: int, pad: int, *, ceil: bool) -> int:
    """PyTorch's output size of a pooling along one axis (``ceil_mode`` drops a last window that
    would start on the right padding)."""
    span = size + 2 * pad - window
    count = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (count - 1) * stride >= size + pad:
        count -= 1
    return count


def _dimension(size: object) -> object:
    """A view's size: a number, or ``BATCH`` for ``x.size(0)`` / ``x.shape[0]``."""
    if isinstance(size, (int, np.integer)):
        return int(size)
    if hasattr(size, "op"):
        if size.op == "call_method" and size.target == "size" and (size.args[1:2] == (0,)
                                                                  or size.kwargs.get("dim") == 0):
            return BATCH
        if size.op == "call_function" and size.target is operator.getitem and size.args[1] == 0:
            source = size.args[0]
            if (source.op == "call_function" and source.target is getattr) or (
                    source.op == "call_method" and source.target == "size" and len(source.args) == 1):
                return BATCH
        return size.name
    return shown(size)


@dataclass(frozen=True)
class _Call:
    """An fx call's arguments, read by position or keyword as the function defines them."""

    node: Any

    def argument(self, position: int, keyword: str, default: object) -> object:
        args, kwargs = self.node.args, self.node.kwargs
        value = args[position] if len(args) > position else kwargs.get(keyword, default)
        if hasattr(value, "op"):
            raise InteropError(f"fx node {self.node.name!r} ({_what(self.node)}): argument {keyword!r} is computed "
                               "when the module runs; from_torch takes arguments fixed in the code",
                               part=self.node.name)
        return value


def _gelu(approximate: object) -> str:
    if approximate != "none":
        raise InteropError(f"GELU(approximate={approximate!r}): nngraph's gelu is the exact erf form "
                           "(approximate='none')")
    return "gelu"


def _softplus(beta: object, threshold: object) -> str:
    numbers = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (beta, threshold))
    if not (numbers and beta > 0 and math.isfinite(threshold)):  # type: ignore[operator, arg-type]
        raise InteropError(f"Softplus(beta={beta!r}, threshold={threshold!r}): beta must be positive and the "
                           "threshold finite")
    return f"softplus(beta={float(beta)!r}, threshold={float(threshold)!r})"  # type: ignore[arg-type]


# -- what each module kind, function and method becomes -------------------------------------------

_Handler = Callable[[_Builder, Any, str], None]          # (builder, module, module path)
_CallHandler = Callable[[_Builder, _Call, str], None]    # (builder, call, fx node name)


def _module_activation(spec: Callable[[Any], str]) -> _Handler:
    def handler(builder: _Builder, module: Any, part: str) -> None:
        builder.activation(spec(module), part)
    return handler


def _call_activation(spec: str | Callable[[_Call], str]) -> _CallHandler:
    def handler(builder: _Builder, call: _Call, part: str) -> None:
        builder.activation(spec if isinstance(spec, str) else spec(call), part)
    return handler


_ACTIVATION_MODULES: dict[str, Callable[[Any], str]] = {
    "ReLU": lambda m: "relu",
    "LeakyReLU": lambda m: f"leaky_relu(alpha={float(m.negative_slope)!r})",
    "ELU": lambda m: f"elu(alpha={float(m.alpha)!r})",
    "SELU": lambda m: "selu",
    "GELU": lambda m: _gelu(m.approximate),
    "Sigmoid": lambda m: "sigmoid",
    "Tanh": lambda m: "tanh",
    "Softplus": lambda m: _softplus(m.beta, m.threshold),
}
# Module kinds by class name (modules of torch.nn only).
_MODULES: dict[str, _Handler] = {
    "Linear": _Builder.linear,
    "Conv1d": _Builder.conv, "Conv2d": _Builder.conv,
    "MaxPool1d": _Builder.pool, "MaxPool2d": _Builder.pool, "AvgPool1d": _Builder.pool, "AvgPool2d": _Builder.pool,
    "AdaptiveAvgPool1d": _Builder.adaptive_pool, "AdaptiveAvgPool2d": _Builder.adaptive_pool,
    "BatchNorm1d": _Builder.batch_norm, "BatchNorm2d": _Builder.batch_norm,
    "LayerNorm": _Builder.layer_norm,
    "Flatten": lambda b, m, part: b.flatten(part, m.start_dim, m.end_dim),
    "Dropout": lambda b, m, part: b.dropout(m.training and m.p > 0, part),
    "Identity": lambda b, m, part: None,
    "RNN": _Builder.recurrent_module, "LSTM": _Builder.recurrent_module, "GRU": _Builder.recurrent_module,
    "Softmax": lambda b, m, part: b.softmax(m.dim, part),
    **{kind: _module_activation(spec) for kind, spec in _ACTIVATION_MODULES.items()},
}


def _leaky_relu(call: _Call) -> str:
    return f"leaky_relu(alpha={float(call.argument(1, 'negative_slope', 0.01))!r})"  # type: ignore[arg-type]


def _elu(call: _Call) -> str:
    return f"elu(alpha={float(call.argument(1, 'alpha', 1.0))!r})"  # type: ignore[arg-type]


def _softmax(builder: _Builder, call: _Call, part: str) -> None:
    if call.node.kwargs.get("dtype") is not None:
        raise InteropError("softmax with dtype= is not imported; cast the module instead")
    builder.softmax(call.argument(1, "dim", None), part)  # type: ignore[arg-type]


def _flatten(builder: _Builder, call: _Call, part: str) -> None:
    builder.flatten(part, call.argument(1, "start_dim", 0), call.argument(2, "end_dim", -1))  # type: ignore[arg-type]


def _dropout(builder: _Builder, call: _Call, part: str) -> None:
    builder.dropout(call.argument(2, "training", True) and call.argument(1, "p", 0.5), part)


@functools.lru_cache(maxsize=1)
def _function_tables() -> tuple[dict[Any, _CallHandler], dict[str, _CallHandler]]:
    """The functions and the tensor methods from_torch imports (made when PyTorch is first needed)."""
    torch = _torch()
    F = torch.nn.functional
    activations: dict[Any, str | Callable[[_Call], str]] = {
        F.relu: "relu", torch.relu: "relu", F.selu: "selu", torch.selu: "selu", F.sigmoid: "sigmoid",
        torch.sigmoid: "sigmoid", F.tanh: "tanh", torch.tanh: "tanh", F.leaky_relu: _leaky_relu, F.elu: _elu,
        F.gelu: lambda call: _gelu(call.argument(1, "approximate", "none")),
        F.softplus: lambda call: _softplus(call.argument(1, "beta", 1.0), call.argument(2, "threshold", 20.0)),
    }
    functions: dict[Any, _CallHandler] = {target: _call_activation(spec) for target, spec in activations.items()}
    functions.update({F.softmax: _softmax, torch.softmax: _softmax, torch.flatten: _flatten, F.dropout: _dropout})
    methods: dict[str, _CallHandler] = {name: _call_activation(name) for name in ("relu", "sigmoid", "tanh")}
    methods.update({"softmax": _softmax, "flatten": _flatten, "view": lambda b, call, part: b.view(call, part),
                    "reshape": lambda b, call, part: b.view(call, part), "contiguous": lambda b, call, part: None})
    return functions, methods
