"""Keras 3 models as nngraph networks: ``from_keras`` takes a model object or a ``.keras`` file.

A Keras model whose layers form a chain of kinds that nngraph's front end has (``nngraph.layers``)
comes in as the network ``nngraph.models.Sequential`` builds from the same layers with the same
weights (the front end keeps Keras' weight layouts), under Keras' layer names: a ``Sequential``
model, or a functional one in which each layer takes the output of the one before. Both are read
from the model's configuration, the JSON that Keras writes as a ``.keras`` file's ``config.json``
(for a model object, ``keras.saving.serialize_keras_object`` gives it, written and read back as
JSON), so a model object and the file it was saved to give the same network.

A ``.keras`` file is a zip archive of ``config.json``, ``metadata.json`` and ``model.weights.h5``. In
the weights file, the layer of class ``C`` keeps its weights in the group ``layers/<c>/vars``
(``<c>`` the class name in snake case, ``_1``, ``_2``, ... added for later layers of that class, as
keras/src/saving/saving_lib.py names them; a recurrent layer's are in ``layers/<c>/cell/vars``), as
the datasets ``0``, ``1``, ... in ``get_weights`` order. The file is read with zipfile, nngraph's
strict JSON reader and h5py (the ``keras`` extra), never with Keras, and is untrusted: a layer is
refused by class unless nngraph knows it (a Lambda layer's code, a custom class, are never loaded),
every option is checked (``nngraph.interop.keras_layers``), the network's size is checked before it
is built, and each weight's shape and type are checked against the configuration before it is read;
HDF5 links, which could point into other files, are not followed.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from nngraph.errors import ArgumentError, InteropError, JSONRuleError, LayerError, ModelFileError, NNGraphError, shown
from nngraph.extras import import_extra
from nngraph.files import as_path, parse_json
from nngraph.interop.keras_layers import LAYER_KINDS, Options
from nngraph.layers import MAX_CONNECTIONS, Input
from nngraph.models import Sequential

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_JSON_BYTES = 64 * 2**20  # a configuration of thousands of layers takes a few MB
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


#: A layer's weights, given its names and shapes as the nngraph layer expects them.
Weights = Callable[[KerasLayer, list[str], list[tuple[int, ...]]], list[np.ndarray]]


def from_keras(model_or_path: Any, *, max_connections: int = MAX_CONNECTIONS) -> nx.DiGraph:
    """The network of a Keras 3 model: a model object (any backend) or a ``.keras`` file.

    Parameters
    ----------
    model_or_path : keras.Model, str or os.PathLike
        A ``Sequential`` or functional model whose layers form a chain, or the path of a ``.keras``
        file, which is read without Keras (it needs h5py, of the ``keras`` extra).
    max_connections : int
        The most connections (and neurons) the network may hold (``nngraph.layers.MAX_CONNECTIONS``);
        a larger model is refused before it is built.

    Returns
    -------
    networkx.DiGraph
        The ``graph`` of the ``nngraph.models.Sequential`` of the same layers and weights, layer
        names kept; ``compile_network(G)(x.reshape(n, -1))`` computes ``model.predict(x)``.

    Raises
    ------
    InteropError
        For what nngraph cannot express, naming the layer: a kind it has not, an option it lacks,
        a branch or merge, a Lambda layer or a custom class.
    ModelFileError
        For a file that is not a well-formed ``.keras`` file (naming the file, and the layer).
    ExtraMissingError
        When h5py (for a file) is not installed.

    Examples
    --------
    >>> import os
    >>> _ = os.environ.setdefault("KERAS_BACKEND", "torch")
    >>> import keras
    >>> model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(6, activation="relu"),
    ...                           keras.layers.Dense(4, activation="softmax", name="animal")])
    >>> G = from_keras(model)
    >>> G.number_of_nodes(), G.number_of_edges(), sorted(G.nodes)[-1]
    (18, 72, 'input/7')
    """
    if isinstance(model_or_path, (str, os.PathLike)):
        return read_keras_file(model_or_path, max_connections=max_connections)
    keras = import_extra("keras", extra="keras", library="Keras")
    if not isinstance(model_or_path, keras.Model):
        raise ArgumentError(f"from_keras takes a Keras model or the path of a .keras file, got "
                            f"{type(model_or_path).__name__}")
    model = model_or_path
    source = Source()
    chain = model_chain(_document(model, keras), source)

    def weights(layer: KerasLayer, names: list[str], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        return [np.asarray(array) for array in model.get_layer(layer.name).get_weights()]

    return build_network(chain, weights, source, max_connections=max_connections)


def _document(model: Any, keras: Any) -> Any:
    """The model's configuration as a ``.keras`` file holds it: serialised, written and read as JSON."""
    try:
        text = json.dumps(keras.saving.serialize_keras_object(model))
        return parse_json(text)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise InteropError(f"Keras cannot describe the model {model.name!r} as a configuration ({error}); "
                           "nngraph imports Keras' own layers, configured with JSON values") from None


def read_keras_file(path: str | os.PathLike[str], *, max_connections: int = MAX_CONNECTIONS) -> nx.DiGraph:
    """The network of the ``.keras`` file at ``path``, read without Keras (see ``from_keras``).

    Examples
    --------
    >>> read_keras_file("no-such-model.keras")
    Traceback (most recent call last):
    ...
    nngraph.errors.ModelFileError: no-such-model.keras: cannot read: No such file or directory
    """
    file = as_path(path, function="from_keras", argument="model_or_path")
    h5py = import_extra("h5py", extra="keras", library="h5py")
    source = Source(file)
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise source.malformed("not a .keras file: not a zip archive (Keras 3 saves a model as a zip of "
                               f"{CONFIG} and {WEIGHTS})") from None
    except OSError as error:
        raise source.malformed(f"cannot read: {error.strerror or error}") from None
    with archive:
        names = archive.namelist()
        if len(set(names)) != len(names):
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise source.malformed(f"the archive holds {shown(repeated[0])} more than once")
        chain = model_chain(_json_member(archive, CONFIG, source), source)
        if METADATA in names and not isinstance(_json_member(archive, METADATA, source), dict):
            raise source.malformed(f"{METADATA} must hold a JSON object")
        if WEIGHTS not in names:
            raise source.malformed(f"the archive has no {WEIGHTS} (nngraph reads the weights Keras 3 saves "
                                   f"by default; it holds {', '.join(map(shown, sorted(names)[:5]))})")
        try:
            with archive.open(WEIGHTS) as stream, h5py.File(stream, "r") as h5:
                return build_network(chain, _file_weights(h5, h5py, source), source,
                                     max_connections=max_connections)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise source.malformed(f"cannot read {WEIGHTS}: {error}") from None


def _json_member(archive: zipfile.ZipFile, name: str, source: Source) -> Any:
    """The archive's member ``name``, read as strict JSON (at most ``MAX_JSON_BYTES``)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise source.malformed(f"not a .keras file: the archive has no {name}") from None
    if info.file_size > MAX_JSON_BYTES:
        raise source.malformed(f"{name} declares {info.file_size:,} bytes; nngraph reads at most "
                               f"{MAX_JSON_BYTES:,}")
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_JSON_BYTES + 1)
        return parse_json(data[:MAX_JSON_BYTES].decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise source.malformed(f"cannot read {name}: {error}") from None
    except UnicodeDecodeError as error:
        raise source.malformed(f"{name} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (JSONRuleError, json.JSONDecodeError) as error:
        raise source.malformed(f"{name} is not valid JSON: {error}") from None


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
        raise source.malformed(f"the model's \"layers\" must be a list of layer configurations")
    layers = [_layer(entry, index, source) for index, entry in enumerate(entries)]
    if len({layer.name for layer in layers}) != len(layers):
        repeated = next(layer.name for layer in layers if sum(other.name == layer.name for other in layers) > 1)
        raise source.malformed(f"two layers are named {repeated!r}")
    if kind == "Sequential":
        input_shape, chain = _sequential(config, layers, source)
    else:
        input_shape, chain = _functional(config, entries, layers, source)
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
    """A layer's entry in the model's ``layers``, its name, kind and group in the weights file."""
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
        named.append(KerasLayer(name=layer.name, kind=layer.kind, config=layer.config, weights_group=group))
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
    layers = _with_groups(layers)
    if layers and layers[0].kind == INPUT:
        return _input_shape(layers[0], None, source), layers[1:]
    return _input_shape(None, config.get("build_input_shape"), source), layers


def _endpoint(value: Any, what: str, source: Source) -> str:
    """The one layer of a functional model's ``input_layers`` or ``output_layers``."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, list) and item for item in value):
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
    history = tensor.get("config", {}).get("keras_history") if isinstance(tensor, dict) else None
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
    layers = _with_groups(layers)
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
    off_chain = [layer.name for layer in layers if layer.kind != INPUT and layer not in chain]
    if off_chain:
        raise source.refused(f"layer {off_chain[0]!r} is not on the chain from the input to the output; nngraph "
                             "imports chains of layers", part=off_chain[0])
    return _input_shape(by_name[first], None, source), chain


def build_network(chain: Chain, weights: Weights, source: Source, *,
                  max_connections: int = MAX_CONNECTIONS) -> nx.DiGraph:
    """The ``nngraph.models.Sequential`` of ``chain``'s layers with their ``weights``; its graph."""
    model = Sequential(name=chain.name, max_connections=max_connections)
    try:
        model.add(Input(shape=chain.input_shape))
    except LayerError as error:
        raise source.refused(f"the input {chain.input_shape}: {error}") from None
    for layer in chain.layers:
        options = Options(layer.config, name=layer.name, kind=layer.kind, input_shape=model.output_shape[1:],
                          prefix=source.prefix)  # type: ignore[arg-type]
        kind = LAYER_KINDS[layer.kind]
        try:
            built = kind.build(options)
            options.check_unread(kind.fixed)
            model.add(built)
        except LayerError as error:
            raise options.refused(str(error).removeprefix(f"layer {layer.name!r}: ")) from None
        if built.weight_names():
            arrays = weights(layer, built.weight_names(), built.weight_shapes())
            try:
                built.set_weights(arrays)
            except LayerError as error:
                raise source.malformed(f"{options.where}: {str(error).removeprefix(f'layer {layer.name!r}: ')}") from None
    return model.graph


def _file_weights(h5: Any, h5py: Any, source: Source) -> Weights:
    """The weights of each layer as the HDF5 file ``h5`` holds them, checked before they are read."""

    def read(layer: KerasLayer, names: list[str], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        where = f"layer {layer.name!r} ({layer.kind})"
        group = _group(h5, layer.weights_group, h5py, where, source)
        keys = [str(index) for index in range(len(shapes))]
        found = sorted(group.keys())
        if found != sorted(keys):
            listed = ", ".join(f"{name} {shape}" for name, shape in zip(names, shapes))
            raise source.malformed(f"{where}: {WEIGHTS} holds {shown(found)} in {layer.weights_group}, but the "
                                   f"configuration gives {len(shapes)} weights ({listed}), stored as {keys}")
        arrays = []
        for key, name, shape in zip(keys, names, shapes):
            path = f"{layer.weights_group}/{key}"
            dataset = _member(group, key, h5py.Dataset, h5py, where, path, source)
            if dataset.shape != shape:
                raise source.malformed(f"{where}: {name} ({path}) has shape {dataset.shape} in {WEIGHTS}, but the "
                                       f"configuration makes it {shape}")
            if dataset.dtype.kind != "f":
                raise source.malformed(f"{where}: {name} ({path}) holds {dataset.dtype}, not floating-point numbers")
            arrays.append(np.asarray(dataset[()]))
        return arrays

    return read


def _group(h5: Any, path: str, h5py: Any, where: str, source: Source) -> Any:
    """The group at ``path``, reached through hard links only."""
    current = h5
    for part in path.split("/"):
        current = _member(current, part, h5py.Group, h5py, where, path, source)
    return current


def _member(group: Any, key: str, expected: type, h5py: Any, where: str, path: str, source: Source) -> Any:
    """``group[key]``, when it is a hard link to an ``expected`` (a group or a dataset)."""
    link = group.get(key, getlink=True)
    if link is None:
        raise source.malformed(f"{where}: {WEIGHTS} has no {path}")
    if not isinstance(link, h5py.HardLink):
        raise source.malformed(f"{where}: {path} in {WEIGHTS} is a {type(link).__name__}; nngraph follows no "
                               "links, which may point into other files")
    member = group[key]
    if not isinstance(member, expected):
        raise source.malformed(f"{where}: {path} in {WEIGHTS} is not a {expected.__name__.lower()}")
    return member
