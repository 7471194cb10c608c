"""Which ONNX op becomes which nngraph layer, read with ONNX's attribute defaults (``onnx.defs``).

    Gemm; MatMul (+ Add, its bias)       Dense: alpha scales the kernel, beta the bias C; transB
    Conv (1-D, 2-D, group 1)             Conv1D, Conv2D: pads or auto_pad, strides, dilations
    MaxPool, AveragePool                 MaxPooling1D/2D, AveragePooling1D/2D (count_include_pad)
    GlobalAveragePool, GlobalMaxPool     GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D
    BatchNormalization (inference)       BatchNormalization (epsilon)
    Flatten (axis 1); Reshape to (batch, features)   Flatten
    Identity; Dropout (inference)        nothing
    Relu, LeakyRelu, Elu, Selu, Sigmoid, HardSigmoid, Tanh, Softplus, Softsign, Softmax
                                         the activation of the Dense or Conv before it, or an Activation

Every attribute a node leaves out takes its default from the op's schema for the model's opset, so
defaults are ONNX's own: LeakyRelu's alpha 0.01 (nngraph's ``leaky_relu`` defaults to Keras' 0.2),
HardSigmoid's alpha 0.2 and beta 0.5 (Keras 3's is 1/6), the strides of a pooling 1 (Keras': the
pool size), BatchNormalization's epsilon 1e-5. Float attributes are 32-bit in ONNX and are read as
the numbers they hold (0.01 is 0.009999999776482582), which is what onnxruntime computes with.
Softmax follows the opset: before 13 it normalises each sample flattened from ``axis`` (default
1), from 13 along ``axis`` (default -1); nngraph expresses it over a sample's features, over the
whole of a feature map, or over the channels of each position, and refuses other axes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.errors import InteropError, LayerError
from nngraph.keras.layers.base import Layer, Padding
from nngraph.keras.layers.conv import Conv1D, Conv2D
from nngraph.keras.layers.core import Activation, Dense, Flatten, Reshape
from nngraph.keras.layers.normalization import BatchNormalization
from nngraph.keras.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                          GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                          MaxPooling1D, MaxPooling2D)
from nngraph.keras.sequential import Sequential

ELEMENT_WISE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Softsign": "softsign"}
PARAMETRIC = ("LeakyRelu", "Elu", "Selu", "HardSigmoid")
ACTIVATIONS = (*ELEMENT_WISE, *PARAMETRIC, "Softmax")
NO_OPS = ("Identity", "Dropout")
POOLINGS = {("MaxPool", 1): MaxPooling1D, ("MaxPool", 2): MaxPooling2D,
            ("AveragePool", 1): AveragePooling1D, ("AveragePool", 2): AveragePooling2D,
            ("GlobalMaxPool", 1): GlobalMaxPooling1D, ("GlobalMaxPool", 2): GlobalMaxPooling2D,
            ("GlobalAveragePool", 1): GlobalAveragePooling1D, ("GlobalAveragePool", 2): GlobalAveragePooling2D}


@dataclass(frozen=True)
class Step:
    """One op of the chain: its ``node``, how messages name it, the model's constants and opset, and
    ``refuse`` (which makes the importer's ``InteropError``)."""

    node: Any
    label: str
    constants: Mapping[str, Any]
    opset: int
    refuse_in: Callable[..., InteropError]

    @property
    def op(self) -> str:
        return str(self.node.op_type)

    def refuse(self, message: str) -> InteropError:
        """``InteropError`` naming this op."""
        return self.refuse_in(f"{self.label}: {message}", part=self.node.name or self.op)

    def attributes(self) -> dict[str, Any]:
        """The node's attributes over the schema's defaults for the model's opset (strings decoded)."""
        from onnx import defs, helper

        schema = defs.get_schema(self.op, self.opset, "")
        values = {name: helper.get_attribute_value(attribute.default_value)
                  for name, attribute in schema.attributes.items() if attribute.default_value.type}
        values.update({attribute.name: helper.get_attribute_value(attribute) for attribute in self.node.attribute})
        return {name: value.decode() if isinstance(value, bytes) else value for name, value in values.items()}

    @property
    def data_position(self) -> int:
        """Which input is the computed tensor (the others are constants)."""
        return next(i for i, name in enumerate(self.node.input) if name and name not in self.constants)

    def constant(self, position: int) -> np.ndarray | None:
        """Constant input ``position`` as float64 numbers, or None where the node leaves it out."""
        from onnx import TensorProto, numpy_helper

        names = self.node.input
        if position >= len(names) or not names[position]:
            return None
        value = self.constants[names[position]]
        try:
            array = numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)
        except Exception as error:  # a tensor whose data does not fit its shape or type
            raise self.refuse(f"its input {names[position]!r} cannot be read ({error})") from None
        if array.dtype.kind not in "fiub":
            raise self.refuse(f"its input {names[position]!r} holds {array.dtype} values, not numbers")
        numbers = array.astype(np.float64)
        if not np.isfinite(numbers).all():
            raise self.refuse(f"its input {names[position]!r} holds non-finite numbers")
        return numbers

    def required(self, position: int, what: str) -> np.ndarray:
        found = self.constant(position)
        if found is None:
            raise self.refuse(f"it has no {what}")
        return found


class Chain:
    """The network being built, and where each entry of the current ONNX tensor (one sample, its
    ONNX shape) sits among the current layer's neurons in nngraph's channels-last order: ``order``."""

    def __init__(self, network: Sequential, order: np.ndarray) -> None:
        self.network = network
        self.order = order

    @property
    def spatial(self) -> bool:
        """Whether the current tensor is a feature map ``(C, *S)`` (else ``(F,)``)."""
        return self.order.ndim > 1

    def add(self, step: Step, layer: Layer, weights: list[np.ndarray] | None = None) -> None:
        """Add ``layer`` for ``step`` (and its weights, in Keras' layout); a builder's refusal names the op."""
        try:
            self.network.add(layer)
            if weights is not None:
                layer.set_weights(weights)
        except LayerError as error:
            raise step.refuse(str(error)) from None


def channels_first_order(shape: tuple[int, ...]) -> np.ndarray:
    """For a sample of ONNX shape ``(C, *S)``, the position of each ONNX entry in the channels-last
    ``(*S, C)`` order the layers use, as an array of ``shape`` (``(F,)`` keeps its order).

    Examples
    --------
    >>> channels_first_order((2, 3)).tolist()   # 2 channels of 3 steps; channels last: step by step
    [[0, 2, 4], [1, 3, 5]]
    """
    size = int(np.prod(shape))
    if len(shape) == 1:
        return np.arange(size)
    return np.moveaxis(np.arange(size).reshape(*shape[1:], shape[0]), -1, 0)


def translate(steps: list[Step], chain: Chain) -> None:
    """Add the layers of ``steps`` to ``chain``, in order; an op nngraph does not import is refused."""
    index = 0
    while index < len(steps):
        step = steps[index]
        handler = HANDLERS.get(step.op)
        if handler is None:
            raise step.refuse(f"op {step.op!r} is not one nngraph imports; it imports {', '.join(sorted(HANDLERS))}")
        index = handler(steps, index, chain)


def _nothing(steps: list[Step], index: int, chain: Chain) -> int:
    """Identity, and Dropout at inference: no layer."""
    step = steps[index]
    training = step.constant(2) if step.op == "Dropout" else None
    if training is not None and training.any():
        raise step.refuse("training_mode is true; nngraph imports inference, where Dropout does nothing")
    return index + 1


def _flatten(steps: list[Step], index: int, chain: Chain) -> int:
    """Flatten at axis 1, or a Reshape to ``(batch, features)``: a Flatten layer over a feature map."""
    step = steps[index]
    features = chain.order.size
    if step.op == "Flatten":
        rank = chain.order.ndim + 1
        axis = step.attributes()["axis"]
        if (axis + rank if axis < 0 else axis) != 1:
            raise step.refuse(f"axis={axis} would fold the batch into the features; nngraph flattens "
                              "each sample (axis=1)")
    else:
        shape = step.required(1, "shape").astype(np.int64).tolist()
        copies_batch = shape[:1] == [0] and not step.attributes().get("allowzero", 0)
        if not (len(shape) == 2 and (copies_batch and shape[1] in (-1, features)
                                     or shape == [-1, features])):
            raise step.refuse(f"a Reshape to {shape}; nngraph imports Reshape only as a flatten of each "
                              f"sample to (batch, features): [0, -1], [0, {features}] or [-1, {features}]")
    if chain.spatial:
        chain.add(step, Flatten())
        chain.order = chain.order.reshape(-1)
    return index + 1


def _activation(step: Step, chain: Chain) -> tuple[str, bool]:
    """nngraph's activation for the activation op ``step`` on the current tensor, and whether it
    works over the whole sample of a feature map (Softmax before opset 13)."""
    if step.op in ELEMENT_WISE:
        return ELEMENT_WISE[step.op], False
    values = step.attributes()
    if step.op == "LeakyRelu":
        return resolve_activation(f"leaky_relu(alpha={values['alpha']!r})").name, False
    if step.op == "Elu":
        return resolve_activation(f"elu(alpha={values['alpha']!r})").name, False
    if step.op == "Selu":
        return resolve_activation(f"selu(alpha={values['alpha']!r}, scale={values['gamma']!r})").name, False
    if step.op == "HardSigmoid":
        return resolve_activation(f"hard_sigmoid(alpha={values['alpha']!r}, beta={values['beta']!r})").name, False
    rank = chain.order.ndim + 1
    axis = values["axis"] + rank if values["axis"] < 0 else values["axis"]
    if axis == 1 and (rank == 2 or step.opset < 13):
        return "softmax", rank > 2  # over a sample's features, or over the whole flattened feature map
    if axis == 1:
        return "softmax", False  # from opset 13, along the channels: position by position
    where = "the batch" if axis == 0 else f"axis {axis} of a (batch, {', '.join(['C', 'L'] if rank == 3 else ['C', 'H', 'W'])}) tensor"
    rule = "from axis" if step.opset < 13 else "along"
    raise step.refuse(f"softmax {rule} {where} (opset {step.opset}); nngraph's softmax works over each "
                      "sample's features, a whole feature map (axis 1 before opset 13) or the channels "
                      "(axis 1 from opset 13)")


def _folded_activation(steps: list[Step], index: int, chain_after: Chain, *, softmax: bool) -> tuple[str, int]:
    """The activation op right after ``index`` (past Identity and Dropout), to be the activation of
    the layer ``index`` makes, and the index after it; ``("linear", index + 1)`` if there is none."""
    following = index + 1
    while following < len(steps) and steps[following].op in NO_OPS:
        _nothing(steps, following, chain_after)
        following += 1
    if following < len(steps) and steps[following].op in ACTIVATIONS and (softmax or steps[following].op != "Softmax"):
        name, _ = _activation(steps[following], chain_after)
        return name, following + 1
    return "linear", index + 1


def _dense(steps: list[Step], index: int, chain: Chain) -> int:
    """Gemm, or MatMul and the Add of its bias: a Dense layer, its kernel rows in nngraph's order."""
    step = steps[index]
    if chain.spatial:
        raise step.refuse(f"it reads a tensor of {chain.order.ndim + 1} axes; nngraph imports {step.op} on "
                          "(batch, features): put a Flatten before it")
    if step.data_position != 0:
        raise step.refuse("the computed tensor must be its first input (A), the weights its second (B)")
    last = index
    if step.op == "Gemm":
        values = step.attributes()
        if values["transA"]:
            raise step.refuse("transA=1 would transpose the batch into the features; nngraph imports "
                              "Gemm with the batch on the first axis of A (transA=0)")
        kernel = step.required(1, "weights B")
        kernel = values["alpha"] * (kernel.T if values["transB"] else kernel)
        c = step.constant(2)
        bias = None if c is None else values["beta"] * _bias(step, c, kernel.shape[-1])
    else:
        kernel = step.required(1, "weights B")
        bias = None
        if index + 1 < len(steps) and steps[index + 1].op == "Add":
            add = steps[index + 1]
            bias = _bias(add, add.required(1 - add.data_position, "bias"), kernel.shape[-1])
            last = index + 1
    if kernel.ndim != 2 or kernel.shape[0] != chain.order.size:
        raise step.refuse(f"weights of shape {kernel.shape} do not fit its input of {chain.order.size} features")
    rows = np.empty_like(kernel)
    rows[chain.order] = kernel  # ONNX feature i is nngraph's feature order[i]
    units = kernel.shape[1]
    after = Chain(chain.network, np.arange(units))
    activation, following = _folded_activation(steps, last, after, softmax=True)
    chain.add(step, Dense(units, activation=activation, use_bias=bias is not None),
              [rows] if bias is None else [rows, bias])
    chain.order = after.order
    return following


def _bias(step: Step, c: np.ndarray, units: int) -> np.ndarray:
    """A bias of ``units`` from ``c``, which broadcasts over the batch: ``(units,)``, ``(1, units)``
    or one number."""
    if c.size not in (1, units) or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
        raise step.refuse(f"a bias of shape {c.shape} for {units} units; nngraph imports a bias shared "
                          f"by every sample: ({units},), (1, {units}) or one number")
    return np.broadcast_to(c.reshape(-1), (units,)).copy()


def _spatial_settings(step: Step, chain: Chain, kernel: tuple[int, ...], *,
                      has_dilations: bool = True) -> tuple[tuple[int, ...], tuple[int, ...], Padding]:
    """Strides, dilations and padding of a convolution or pooling, as the layer builders take them."""
    values = step.attributes()
    rank = len(kernel)
    spatial = chain.order.shape[1:]
    strides = tuple(values.get("strides") or (1,) * rank)
    dilations = tuple(values.get("dilations") or (1,) * rank)
    if not has_dilations and any(rate != 1 for rate in dilations):
        raise step.refuse(f"dilations={list(dilations)}; nngraph's poolings have no dilation")
    if len(strides) != rank or len(dilations) != rank:
        raise step.refuse(f"strides {list(strides)} or dilations {list(dilations)} do not fit its kernel {kernel}")
    same = [_same_pads(size, k, s, d, upper=True) for size, k, s, d in zip(spatial, kernel, strides, dilations)]
    mode = values.get("auto_pad", "NOTSET")
    if mode == "VALID":
        pairs = [(0, 0)] * rank
    elif mode == "SAME_UPPER":
        pairs = same
    elif mode == "SAME_LOWER":
        pairs = [_same_pads(size, k, s, d, upper=False) for size, k, s, d in zip(spatial, kernel, strides, dilations)]
    elif mode == "NOTSET":
        pads = list(values.get("pads") or [0] * 2 * rank)
        if len(pads) != 2 * rank or min(pads) < 0:
            raise step.refuse(f"pads={pads}; expected {2 * rank} cells, none negative")
        pairs = list(zip(pads[:rank], pads[rank:]))
    else:
        raise step.refuse(f"auto_pad={mode!r} is not an ONNX padding")
    if values.get("ceil_mode", 0):
        for size, k, s, d, (before, after) in zip(spatial, kernel, strides, dilations, pairs):
            if (size + before + after - (k - 1) * d - 1) % s:
                raise step.refuse("ceil_mode=1 adds a window that runs off the padded input here; nngraph "
                                  "imports pooling whose windows fit (ceil_mode=0)")
    padding: Padding = "valid" if not any(map(any, pairs)) else "same" if pairs == same else tuple(pairs)
    return strides, dilations, padding


def _same_pads(size: int, kernel: int, stride: int, rate: int, *, upper: bool) -> tuple[int, int]:
    """ONNX's SAME_UPPER (odd cell after, as Keras' ``same``) or SAME_LOWER padding of one axis."""
    count = -(-size // stride)
    total = max(0, (count - 1) * stride + (kernel - 1) * rate + 1 - size)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


def _conv(steps: list[Step], index: int, chain: Chain) -> int:
    """Conv of one group over a 1-D or 2-D feature map: Conv1D or Conv2D, its kernel channels last."""
    step = steps[index]
    weights = step.required(1, "weights W")
    rank = weights.ndim - 2
    if not chain.spatial or rank != chain.order.ndim - 1 or step.data_position != 0:
        raise step.refuse(f"weights of shape {weights.shape} do not fit its input of shape "
                          f"(batch, {', '.join(map(str, chain.order.shape))})")
    values = step.attributes()
    if values["group"] != 1:
        raise step.refuse(f"group={values['group']}: a grouped (depthwise) convolution, which nngraph's "
                          "Conv1D and Conv2D do not express; they convolve every input channel (group=1)")
    if rank not in (1, 2):
        raise step.refuse(f"a {rank}-D convolution; nngraph imports 1-D and 2-D ones")
    kernel = tuple(weights.shape[2:])
    if values.get("kernel_shape") and tuple(values["kernel_shape"]) != kernel:
        raise step.refuse(f"kernel_shape {values['kernel_shape']} differs from its weights' {kernel}")
    strides, dilations, padding = _spatial_settings(step, chain, kernel)
    if max(strides) > 1 and max(dilations) > 1:
        raise step.refuse(f"strides {list(strides)} with dilations {list(dilations)}; nngraph's convolutions "
                          "(as Keras') take strides or dilations, not both")
    bias = step.constant(2)
    activation, following = _folded_activation(steps, index, chain, softmax=False)
    layer = (Conv1D if rank == 1 else Conv2D)(weights.shape[0], kernel, strides, padding, dilation_rate=dilations,
                                              activation=activation, use_bias=bias is not None)
    keras_kernel = weights.transpose(*range(2, 2 + rank), 1, 0)  # (M, C, *k) -> (*k, C, M)
    chain.add(step, layer, [keras_kernel] if bias is None else [keras_kernel, bias])
    chain.order = channels_first_order((weights.shape[0], *layer.output_shape[1:-1]))
    return following


def _pooling(steps: list[Step], index: int, chain: Chain) -> int:
    """MaxPool, AveragePool and the global poolings over a 1-D or 2-D feature map."""
    step = steps[index]
    rank = chain.order.ndim - 1
    kind = POOLINGS.get((step.op, rank))
    if kind is None:
        raise step.refuse(f"it reads a tensor of shape (batch, {', '.join(map(str, chain.order.shape))}); "
                          f"nngraph imports {step.op} over 1-D and 2-D feature maps")
    channels = chain.order.shape[0]
    if step.op.startswith("Global"):
        chain.add(step, kind(keepdims=True))
        chain.order = channels_first_order((channels, *(1,) * rank))
        return index + 1
    values = step.attributes()
    pool = tuple(values["kernel_shape"])
    strides, _, padding = _spatial_settings(step, chain, pool, has_dilations=False)
    options = {"count_include_pad": bool(values.get("count_include_pad", 0))} if step.op == "AveragePool" else {}
    layer = kind(pool, strides, padding, **options)
    chain.add(step, layer)
    chain.order = channels_first_order((channels, *layer.output_shape[1:-1]))
    return index + 1


def _batch_norm(steps: list[Step], index: int, chain: Chain) -> int:
    """BatchNormalization at inference over the channels (axis 1): Keras' four arrays, channels last."""
    step = steps[index]
    values = step.attributes()
    if values.get("training_mode", 0) or not values.get("spatial", 1):
        raise step.refuse("training_mode=1 or spatial=0; nngraph imports inference with one mean and "
                          "variance per channel")
    arrays = [step.required(position, what) for position, what in
              enumerate(("scale", "B", "input_mean", "input_var"), start=1)]
    channels = chain.order.shape[0]
    if any(array.shape != (channels,) for array in arrays):
        raise step.refuse(f"scale, B, mean and var must each hold {channels} numbers, one per channel")
    if not chain.spatial:  # one channel per feature: in nngraph's order
        arrays = [_in_order(array, chain.order) for array in arrays]
    chain.add(step, BatchNormalization(epsilon=values["epsilon"]), arrays)
    return index + 1


def _in_order(array: np.ndarray, order: np.ndarray) -> np.ndarray:
    placed = np.empty_like(array)
    placed[order] = array
    return placed


def _standalone_activation(steps: list[Step], index: int, chain: Chain) -> int:
    """An activation op that no Dense or Conv takes: an Activation layer (over a feature map's whole
    sample, a softmax is flattened first and reshaped back)."""
    step = steps[index]
    name, whole = _activation(step, chain)
    if not whole:
        chain.add(step, Activation(name))
        return index + 1
    shape = chain.network.output_shape[1:]
    for layer in (Flatten(), Activation(name), Reshape(shape)):
        chain.add(step, layer)
    return index + 1


def _add(steps: list[Step], index: int, chain: Chain) -> int:
    raise steps[index].refuse("nngraph imports Add only as the bias right after a MatMul")


HANDLERS: dict[str, Callable[[list[Step], int, Chain], int]] = {
    "Gemm": _dense, "MatMul": _dense, "Add": _add, "Conv": _conv,
    "MaxPool": _pooling, "AveragePool": _pooling, "GlobalAveragePool": _pooling, "GlobalMaxPool": _pooling,
    "BatchNormalization": _batch_norm, "Flatten": _flatten, "Reshape": _flatten,
    **{op: _nothing for op in NO_OPS}, **{op: _standalone_activation for op in ACTIVATIONS},
}
