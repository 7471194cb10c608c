"""A Keras model's configuration as the chain of layers nngraph imports: the model's structure.

The configuration is the JSON that Keras writes as a ``.keras`` file's ``config.json``: the model's
class, name and layers, each with its class and options (and, in a functional model, the layer whose
output it takes). ``model_chain`` reads it into a ``Chain``: the input shape and the layers in order,
when they form one (a ``Sequential`` model; a functional model in which each layer is called once, on
the output of the one before), every name and class checked. It also says where each layer keeps its
weights in the ``.keras`` file's ``model.weights.h5``: the group ``layers/<c>/vars`` (``<c>`` the class
name in snake case, ``_1``, ``_2``, ... added for later layers of that class, as
keras/src/saving/saving_lib.py names them; a recurrent layer's in ``layers/<c>/cell/vars``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nngraph.errors import InteropError, ModelFileError, NNGraphError, shown
from nngraph.interop.keras_layers import LAYER_KINDS

CONFIG = "config.json"
MAX_NAME = 256
MODELS = ("Sequential", "Functional")
INPUT = "InputLayer"
CELLS = ("SimpleRNN", "LSTM", "GRU")  # keep their weights in their cell's group


@dataclass(frozen=True)
class Source:
    """Where a model comes from, for messages: a ``.keras`` file at ``path``, or a model object."""

    path: Path | None = None

    @property
    def prefix(self) -> str:
        return "" if self.path is None else f"{self.path}: "

    def malformed(self, message: str) -> NNGraphError:
        """A file that is not the ``.keras`` file it claims to be (for a model object, which Keras
        describes itself, an ``InteropError``)."""
        if self.path is None:
            return InteropError(message)
        return ModelFileError(message, path=self.path)

    def refused(self, message: str, part: str | None = None) -> InteropError:
        """What nngraph cannot import, ``part`` the layer at fault."""
        return InteropError(f"{self.prefix}{message}", part=part)


@dataclass(frozen=True)
class KerasLayer:
    """One layer of the chain: its name, Keras class, options, and its group in the weights file."""

    name: str
    kind: str
    config: Mapping[str, Any]
    weights_group: str


@dataclass(frozen=True)
class Chain:
    """A Keras model as nngraph imports it: its name, input shape (without the batch) and layers."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[KerasLayer, ...]


def model_chain(document: Any, source: Source) -> Chain:
    """The chain of layers of a model configuration (``config.json``), every layer's kind and name
    checked; ``InteropError`` for a model nngraph cannot import, naming the layer."""
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise source.malformed(f"{CONFIG} must hold a model's configuration: an object with \"class_name\" "
                               "and \"config\"")
    kind = document.get("class_name")
    if kind not in MODELS or document.get("registered_name") not in (None, kind):
        shown_kind = document.get("registered_name") or kind
        raise source.refused(f"the model is a {shown(shown_kind)}; nngraph imports Keras' Sequential and "
                             "functional models (a subclassed model's code is never loaded)")
    config = document["config"]
    name = _name(config.get("name", kind.lower()), "the model", source)
    entries = config.get("layers")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise source.malformed("the model's \"layers\" must be a list of layer configurations")
    layers = _with_groups([_layer(entry, index, source) for index, entry in enumerate(entries)])
    repeated = [name for name, count in Counter(layer.name for layer in layers).items() if count > 1]
    if repeated:
        raise source.malformed(f"two layers are named {repeated[0]!r}")
    if kind == "Sequential":
        input_shape, chain = _sequential(config, layers, source)
    else:
        input_shape, chain = _functional(config, entries, layers, source)
    if not chain:
        raise source.refused("the model has no layers besides its input")
    for layer in chain:
        _check_kind(layer, source)
    return Chain(name=name, input_shape=input_shape, layers=tuple(chain))


def _name(value: Any, what: str, source: Source) -> str:
    """A name from the configuration: a printable str of at most ``MAX_NAME`` characters, without
    ``/`` (which Keras forbids and nngraph's neuron ids use)."""
    if not isinstance(value, str) or not value or len(value) > MAX_NAME or "/" in value or not value.isprintable():
        raise source.malformed(f"{what} has the name {shown(value)}; a Keras name is a printable string of 1 "
                               f"to {MAX_NAME} characters without '/'")
    return value


def _layer(entry: dict, index: int, source: Source) -> KerasLayer:
    """A layer's entry in the model's ``layers``: its name and kind (its group comes from ``_with_groups``)."""
    kind, config = entry.get("class_name"), entry.get("config")
    if not isinstance(kind, str) or not isinstance(config, dict):
        raise source.malformed(f"layer #{index} must have a \"class_name\" (a str) and a \"config\" (an object)")
    name = _name(entry.get("name", config.get("name")), f"layer #{index} ({kind})", source)
    return KerasLayer(name=name, kind=kind, config=config, weights_group="")


def _with_groups(layers: list[KerasLayer]) -> list[KerasLayer]:
    """The layers with their groups in the weights file, named after their classes in order."""
    used: dict[str, int] = {}
    named = []
    for layer in layers:
        base = _snake_case(layer.kind)
        used[base] = used.get(base, -1) + 1
        group = f"layers/{base}" + (f"_{used[base]}" if used[base] else "")
        group += "/cell/vars" if layer.kind in CELLS else "/vars"
        named.append(replace(layer, weights_group=group))
    return named


def _snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: ``Conv2D`` -> ``conv2d``, ``SimpleRNN`` -> ``simple_rnn``.

    Examples
    --------
    >>> _snake_case("BatchNormalization"), _snake_case("SimpleRNN"), _snake_case("MaxPooling2D")
    ('batch_normalization', 'simple_rnn', 'max_pooling2d')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _check_kind(layer: KerasLayer, source: Source) -> None:
    """Refuse a layer of a class nngraph does not import, naming it and why."""
    where = f"layer {layer.name!r} ({layer.kind})"
    if layer.kind == "Lambda":
        raise source.refused(f"{where}: a Lambda layer holds Python code, which nngraph never loads or runs; "
                             "write its computation with Keras' own layers", part=layer.name)
    if layer.kind in MODELS:
        raise source.refused(f"{where}: a model used as a layer; nngraph imports one flat chain of layers",
                             part=layer.name)
    if layer.kind == INPUT:
        raise source.refused(f"{where}: an input layer after the first layer", part=layer.name)
    if layer.kind not in LAYER_KINDS:
        raise source.refused(f"{where}: nngraph has no {layer.kind} layer; it imports "
                             f"{', '.join(sorted(LAYER_KINDS))}", part=layer.name)


def _check_class(entry: dict, layer: KerasLayer, source: Source) -> None:
    """Refuse a layer whose class is not Keras' own (a custom or registered class)."""
    module, registered = entry.get("module", "keras.layers"), entry.get("registered_name")
    if layer.kind in MODELS:
        return  # refused as a model used as a layer
    if module != "keras.layers" or registered not in (None, layer.kind):
        raise source.refused(f"layer {layer.name!r}: the custom class {shown(registered or layer.kind)} (module "
                             f"{shown(module)}); nngraph imports Keras' own layers only and never loads code",
                             part=layer.name)


def _input_shape(layer: KerasLayer | None, declared: Any, source: Source) -> tuple[int, ...]:
    """The input's shape without the batch, from the input layer or the ``build_input_shape``."""
    if layer is not None:
        config = layer.config
        declared = config.get("batch_shape", config.get("batch_input_shape"))
        for option in ("sparse", "ragged"):
            if config.get(option):
                raise source.refused(f"input layer {layer.name!r}: {option} inputs are not supported",
                                     part=layer.name)
    if declared is None:
        raise source.refused("the model has no input shape; give it an input (keras.Input(shape=...)) "
                             "or build it")
    if (not isinstance(declared, list) or len(declared) < 2
            or not all(isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in declared[1:])):
        raise source.refused(f"the input shape {shown(declared)} is not a batch and fixed positive sizes; "
                             "nngraph builds a neuron for every position, so every size but the batch's must "
                             "be known")
    return tuple(declared[1:])


def _sequential(config: dict, layers: list[KerasLayer],
                source: Source) -> tuple[tuple[int, ...], list[KerasLayer]]:
    """A Sequential model's input shape and layers (its first layer may be its input layer)."""
    entries = config["layers"]
    for entry, layer in zip(entries, layers):
        _check_class(entry, layer, source)
    if layers and layers[0].kind == INPUT:
        return _input_shape(layers[0], None, source), layers[1:]
    return _input_shape(None, config.get("build_input_shape"), source), layers


def _endpoint(value: Any, what: str, source: Source) -> str:
    """The one layer of a functional model's ``input_layers`` or ``output_layers``."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, list) and item and isinstance(item[0], str)
                                              for item in value):
        raise source.malformed(f"the model's {what} must list [layer name, node, tensor] entries")
    if len(value) != 1:
        raise source.refused(f"the model has {len(value)} {what.split('_')[0]}s; nngraph imports models of one "
                             "input and one output")
    return value[0][0]


def _producer(layer: KerasLayer, entry: dict, source: Source) -> str:
    """The layer whose output ``layer`` of a functional model takes, which must be one tensor."""
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or not nodes:
        raise source.malformed(f"layer {layer.name!r} has no \"inbound_nodes\"")
    if len(nodes) > 1:
        raise source.refused(f"layer {layer.name!r} ({layer.kind}) is called {len(nodes)} times (a shared "
                             "layer); nngraph imports chains of layers each called once", part=layer.name)
    node = nodes[0]
    if not isinstance(node, dict) or not isinstance(node.get("args"), list):
        raise source.malformed(f"layer {layer.name!r}: its inbound node must be an object with \"args\"")
    kwargs = node.get("kwargs") or {}
    # Keras records a call at inference as training=False; any other argument may change the layer.
    if not isinstance(kwargs, dict) or any(key not in ("training", "mask") or value not in (None, False)
                                           for key, value in kwargs.items()):
        raise source.refused(f"layer {layer.name!r} ({layer.kind}) is called with {shown(kwargs)}; "
                             "nngraph imports layers called on their input alone", part=layer.name)
    args = node["args"]
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    if len(tensors) != 1:
        raise source.refused(f"layer {layer.name!r} ({layer.kind}) takes {len(tensors)} inputs (a merge); "
                             "nngraph imports chains, each layer taking the one before", part=layer.name)
    tensor = tensors[0]
    described = tensor.get("config") if isinstance(tensor, dict) else None
    history = described.get("keras_history") if isinstance(described, dict) else None
    if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
            or tensor.get("class_name") != "__keras_tensor__"):
        raise source.malformed(f"layer {layer.name!r}: its input must be a Keras tensor with a \"keras_history\"")
    if history[1:] != [0, 0]:
        raise source.refused(f"layer {layer.name!r} ({layer.kind}) takes output {history[2]} of call "
                             f"{history[1]} of layer {history[0]!r}; nngraph imports chains of single "
                             "outputs", part=layer.name)
    return history[0]


def _functional(config: dict, entries: list[dict], layers: list[KerasLayer],
                source: Source) -> tuple[tuple[int, ...], list[KerasLayer]]:
    """A functional model's input shape and layers, input to output, when they form a chain."""
    by_name = {layer.name: layer for layer in layers}
    first = _endpoint(config.get("input_layers"), "input_layers", source)
    last = _endpoint(config.get("output_layers"), "output_layers", source)
    if first not in by_name or by_name[first].kind != INPUT or last not in by_name:
        raise source.malformed(f"the model's input {shown(first)} or output {shown(last)} is not one of its layers")
    takers: dict[str, list[str]] = {}
    for entry, layer in zip(entries, layers):
        _check_class(entry, layer, source)
        if layer.kind != INPUT:
            producer = _producer(layer, entry, source)
            if producer not in by_name:
                raise source.malformed(f"layer {layer.name!r} takes the output of {producer!r}, which is not "
                                       "a layer of the model")
            takers.setdefault(producer, []).append(layer.name)
    chain: list[KerasLayer] = []
    current = first
    while current != last:
        following = takers.get(current, [])
        if len(following) != 1:
            raise source.refused(f"layer {current!r} feeds {len(following)} layers "
                                 f"({', '.join(map(repr, following)) or 'none'}) on the way to the output; nngraph "
                                 "imports chains, each layer feeding the next", part=current)
        current = following[0]
        chain.append(by_name[current])
    if takers.get(last):
        raise source.refused(f"the output layer {last!r} also feeds {takers[last][0]!r}; nngraph imports chains",
                             part=last)
    on_chain = {layer.name for layer in chain}
    off_chain = [layer.name for layer in layers if layer.kind != INPUT and layer.name not in on_chain]
    if off_chain:
        raise source.refused(f"layer {off_chain[0]!r} is not on the chain from the input to the output; nngraph "
                             "imports chains of layers", part=off_chain[0])
    return _input_shape(by_name[first], None, source), chain
