"""Keras layer configurations as nngraph layers: one entry per Keras class nngraph's front end has.

A layer's configuration (``layer.get_config()``, as a ``.keras`` file's ``config.json`` holds it)
becomes the ``nngraph.layers`` builder of the same name with the same arguments. Each option of the
configuration is one of three things:

- read by the builder (``units``, ``kernel_size``, ``padding``, ``activation``, ...), whose own checks
  then apply (a ``LayerError`` there becomes an ``InteropError`` naming the layer);
- unable to change what the layer computes at inference (``IGNORED``: initializers, regularizers,
  constraints, dropout rates, training switches), and skipped;
- held at the one value nngraph computes (``data_format="channels_last"``, ``groups=1``,
  ``return_state=False``, ...), and refused with any other value.

Any other option is refused by name, so a newer Keras option is never silently dropped. Activations
are Keras' names mapped onto nngraph's functions of the same definition (``ACTIVATIONS``; Keras'
``silu`` is nngraph's ``swish``); the rest (``relu6``, ``mish``, ``log_softmax``, a custom function)
are refused by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nngraph.errors import InteropError, shown
from nngraph.layers import (GRU, LSTM, Activation, AveragePooling1D, AveragePooling2D, BatchNormalization, Conv1D,
                            Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
                            GlobalMaxPooling1D, GlobalMaxPooling2D, Layer, LayerNormalization, MaxPooling1D,
                            MaxPooling2D, Reshape, SimpleRNN)

#: Keras' activation name -> nngraph's activation of the same definition.
ACTIVATIONS = {
    "linear": "linear", "relu": "relu", "leaky_relu": "leaky_relu", "elu": "elu", "selu": "selu",
    "sigmoid": "sigmoid", "hard_sigmoid": "hard_sigmoid", "tanh": "tanh", "softplus": "softplus",
    "softsign": "softsign", "gelu": "gelu", "silu": "swish", "swish": "swish", "softmax": "softmax",
    "exponential": "exponential",
}

#: Options that cannot change what a layer computes at inference.
IGNORED = frozenset({
    "name", "trainable", "dtype", "activity_regularizer", "seed", "dropout", "recurrent_dropout", "rate",
    "noise_shape", "momentum", "unroll", "synchronized", "zero_output_for_mask", "renorm_clipping",
    "renorm_momentum", "unit_forget_bias",
})
IGNORED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")

#: Keras' floating-point dtype policies; quantized ones store other weights and are refused.
DTYPE_POLICIES = frozenset({"float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16"})


class Options:
    """One layer's configuration, read option by option: what was read, and the layer it belongs to."""

    def __init__(self, config: Mapping[str, Any], *, name: str, kind: str, input_shape: tuple[int, ...],
                 prefix: str) -> None:
        self.config = config
        self.name = name
        self.kind = kind
        self.input_shape = input_shape
        self.prefix = prefix
        self.read: set[str] = set()

    @property
    def where(self) -> str:
        """How messages name the layer: ``layer 'conv' (Conv2D)``."""
        return f"layer {self.name!r} ({self.kind})"

    def refused(self, message: str) -> InteropError:
        """An ``InteropError`` naming this layer (its file first, where it comes from one)."""
        return InteropError(f"{self.prefix}{self.where}: {message}", part=self.name)

    def __call__(self, key: str, default: Any = None) -> Any:
        """The option ``key`` (``default`` when the configuration leaves it out), marked as read."""
        self.read.add(key)
        return self.config.get(key, default)

    def flag(self, key: str, default: bool) -> bool:
        """The option ``key``, which must be true or false (``bool("no")`` would be true)."""
        value = self(key, default)
        if not isinstance(value, bool):
            raise self.refused(f"option {key!r} must be true or false, got {shown(value)}")
        return value

    def activation(self, key: str = "activation", default: str = "linear") -> str:
        """The nngraph name of the Keras activation under ``key``."""
        value = self(key, default)
        if value is None:
            return "linear"
        if not isinstance(value, str):
            raise self.refused(f"{key} is a custom function or object ({shown(value)}); nngraph imports Keras' "
                               f"own activations by name: {', '.join(sorted(ACTIVATIONS))}")
        if value not in ACTIVATIONS:
            raise self.refused(f"{key} {value!r} has no nngraph equivalent; nngraph imports "
                               f"{', '.join(sorted(ACTIVATIONS))}")
        return ACTIVATIONS[value]

    def last_axis(self) -> int:
        """Keras' ``axis`` of a normalization, -1 when it names the input's last axis (also as ``[-1]``
        or its positive index); refused otherwise."""
        axis = self("axis", -1)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        rank = len(self.input_shape)
        if isinstance(axis, bool) or axis not in (-1, rank):
            raise self.refused(f"axis={shown(self.config.get('axis'))}: nngraph normalizes over the last axis "
                               f"(channels last) only, which is axis -1 or {rank} here")
        return -1

    def check_unread(self, fixed: Mapping[str, Any]) -> None:
        """Refuse every option that was not read, is not ``IGNORED`` and does not hold its ``fixed`` value."""
        _check_dtype(self)
        for key in sorted(set(self.config) - self.read):
            if key in fixed:
                if not _same(self.config[key], fixed[key]):
                    raise self.refused(f"{key}={shown(self.config[key])} is not supported; nngraph computes "
                                       f"{key}={shown(fixed[key])} only")
            elif key not in IGNORED and not key.endswith(IGNORED_SUFFIXES):
                raise self.refused(f"option {key!r} (= {shown(self.config[key])}) is not one nngraph knows, "
                                   "so it cannot tell whether the layer computes what nngraph would")


def _same(value: Any, fixed: Any) -> bool:
    """Whether ``value`` is ``fixed``, where ``true`` is not 1 and ``0`` is ``0.0``."""
    return value == fixed and isinstance(value, bool) == isinstance(fixed, bool) and (value is None) == (
        fixed is None)


def _check_dtype(options: Options) -> None:
    """Refuse a quantized dtype policy: its weights are not the layer's plain arrays."""
    dtype = options.config.get("dtype", "float32")
    name = dtype
    if isinstance(dtype, Mapping):
        inner = dtype.get("config")
        name = inner.get("name") if dtype.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(
            inner, Mapping) else None
    if not isinstance(name, str) or name not in DTYPE_POLICIES:
        raise options.refused(f"dtype {shown(dtype)} is not supported; nngraph imports the float policies "
                              f"{', '.join(sorted(DTYPE_POLICIES))}")


@dataclass(frozen=True)
class LayerKind:
    """How one Keras class becomes an nngraph layer: its ``build`` and its ``fixed`` options."""

    build: Callable[[Options], Layer]
    fixed: Mapping[str, Any] = field(default_factory=dict)


def _dense(o: Options) -> Layer:
    return Dense(o("units"), o.activation(), use_bias=o.flag("use_bias", True), name=o.name)


def _conv(cls: type[Conv1D] | type[Conv2D]) -> Callable[[Options], Layer]:
    def build(o: Options) -> Layer:
        return cls(o("filters"), o("kernel_size"), o("strides", 1), o("padding", "valid"),
                   dilation_rate=o("dilation_rate", 1), activation=o.activation(), use_bias=o.flag("use_bias", True),
                   name=o.name)
    return build


def _pooling(cls: type[Layer]) -> Callable[[Options], Layer]:
    def build(o: Options) -> Layer:
        return cls(o("pool_size"), o("strides"), o("padding", "valid"), name=o.name)  # type: ignore[call-arg]
    return build


def _global_pooling(cls: type[Layer]) -> Callable[[Options], Layer]:
    def build(o: Options) -> Layer:
        return cls(keepdims=o.flag("keepdims", False), name=o.name)  # type: ignore[call-arg]
    return build


def _batch_normalization(o: Options) -> Layer:
    return BatchNormalization(o.last_axis(), epsilon=o("epsilon", 1e-3), center=o.flag("center", True),
                              scale=o.flag("scale", True), name=o.name)


def _layer_normalization(o: Options) -> Layer:
    return LayerNormalization(o.last_axis(), epsilon=o("epsilon", 1e-3), center=o.flag("center", True),
                              scale=o.flag("scale", True), name=o.name)


def _recurrent(o: Options) -> dict[str, Any]:
    """What the three recurrent layers share."""
    return {"use_bias": o.flag("use_bias", True), "return_sequences": o.flag("return_sequences", False),
            "go_backwards": o.flag("go_backwards", False), "name": o.name}


def _simple_rnn(o: Options) -> Layer:
    return SimpleRNN(o("units"), o.activation(default="tanh"), **_recurrent(o))


def _lstm(o: Options) -> Layer:
    return LSTM(o("units"), o.activation(default="tanh"), o.activation("recurrent_activation", "sigmoid"),
                **_recurrent(o))


def _gru(o: Options) -> Layer:
    return GRU(o("units"), o.activation(default="tanh"), o.activation("recurrent_activation", "sigmoid"),
               reset_after=o.flag("reset_after", True), **_recurrent(o))


def _reshape(o: Options) -> Layer:
    target = o("target_shape")
    return Reshape(tuple(target) if isinstance(target, list) else target, name=o.name)


def _relu(o: Options) -> Layer:
    slope = o("negative_slope", 0.0)
    if isinstance(slope, bool) or not isinstance(slope, (int, float)):
        raise o.refused(f"negative_slope must be a number, got {shown(slope)}")
    return Activation("relu" if slope == 0 else f"leaky_relu(alpha={float(slope)!r})", name=o.name)


def _parameterised(activation: str, key: str, default: float) -> Callable[[Options], Layer]:
    """An activation layer whose one parameter Keras calls ``key`` (nngraph writes it ``alpha``)."""
    def build(o: Options) -> Layer:
        value = o(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise o.refused(f"{key} must be a number, got {shown(value)}")
        return Activation(f"{activation}(alpha={float(value)!r})", name=o.name)
    return build


CHANNELS_LAST = {"data_format": "channels_last"}
RECURRENT = {"return_state": False, "stateful": False}

#: Keras' class name -> how it becomes an nngraph layer.
LAYER_KINDS: dict[str, LayerKind] = {
    "Dense": LayerKind(_dense, {"quantization_config": None, "lora_rank": None}),
    "Conv1D": LayerKind(_conv(Conv1D), {**CHANNELS_LAST, "groups": 1}),
    "Conv2D": LayerKind(_conv(Conv2D), {**CHANNELS_LAST, "groups": 1}),
    "MaxPooling1D": LayerKind(_pooling(MaxPooling1D), CHANNELS_LAST),
    "MaxPooling2D": LayerKind(_pooling(MaxPooling2D), CHANNELS_LAST),
    "AveragePooling1D": LayerKind(_pooling(AveragePooling1D), CHANNELS_LAST),
    "AveragePooling2D": LayerKind(_pooling(AveragePooling2D), CHANNELS_LAST),
    "GlobalMaxPooling1D": LayerKind(_global_pooling(GlobalMaxPooling1D), CHANNELS_LAST),
    "GlobalMaxPooling2D": LayerKind(_global_pooling(GlobalMaxPooling2D), CHANNELS_LAST),
    "GlobalAveragePooling1D": LayerKind(_global_pooling(GlobalAveragePooling1D), CHANNELS_LAST),
    "GlobalAveragePooling2D": LayerKind(_global_pooling(GlobalAveragePooling2D), CHANNELS_LAST),
    "BatchNormalization": LayerKind(_batch_normalization, {"renorm": False}),
    "LayerNormalization": LayerKind(_layer_normalization, {"rms_scaling": False}),
    "SimpleRNN": LayerKind(_simple_rnn, RECURRENT),
    "LSTM": LayerKind(_lstm, RECURRENT),
    "GRU": LayerKind(_gru, RECURRENT),
    "Flatten": LayerKind(lambda o: Flatten(name=o.name), CHANNELS_LAST),
    "Reshape": LayerKind(_reshape),
    "Dropout": LayerKind(lambda o: Dropout(0.0, name=o.name)),  # the rate only acts in training
    "Activation": LayerKind(lambda o: Activation(o.activation(), name=o.name)),
    "ReLU": LayerKind(_relu, {"max_value": None, "threshold": 0.0}),
    "LeakyReLU": LayerKind(_parameterised("leaky_relu", "negative_slope", 0.3)),
    "ELU": LayerKind(_parameterised("elu", "alpha", 1.0)),
    "Softmax": LayerKind(lambda o: Activation("softmax", name=o.name), {"axis": -1}),
}
