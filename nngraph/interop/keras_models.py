"""Keras 3 models as nngraph networks: ``from_keras`` takes a model object or a ``.keras`` file.

A Keras model whose layers form a chain of kinds that nngraph's front end has (``nngraph.layers``)
comes in as the network ``nngraph.models.Sequential`` builds from the same layers with the same
weights (the front end keeps Keras' weight layouts), under Keras' layer names. Both a model object
and a file are read from the model's configuration (``nngraph.interop.keras_chain``), the JSON that
Keras writes as a ``.keras`` file's ``config.json`` (for a model object,
``keras.saving.serialize_keras_object`` gives it, written and read back as JSON), so a model object
and the file it was saved to give the same network; each layer's options become the arguments of
its nngraph builder (``nngraph.interop.keras_layers``).

A ``.keras`` file is a zip archive of ``config.json``, ``metadata.json`` and ``model.weights.h5``, in
which each layer's weights are the datasets ``0``, ``1``, ... of its group, in ``get_weights`` order.
It is read with zipfile, nngraph's strict JSON reader and h5py (the ``keras`` extra), never with
Keras, and is untrusted: a layer is refused by class unless nngraph knows it (a Lambda layer's
code, a custom class, are never loaded), every option is checked, the network's size is checked
before it is built, and each weight's shape and type are checked against the configuration before
it is read; HDF5 links, which could point into other files, are not followed.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from nngraph.errors import ArgumentError, InteropError, JSONRuleError, LayerError, shown
from nngraph.extras import import_extra
from nngraph.files import as_path, parse_json
from nngraph.interop.keras_chain import CONFIG, Chain, KerasLayer, Source, model_chain
from nngraph.interop.keras_layers import LAYER_KINDS, Options
from nngraph.layers import MAX_CONNECTIONS, Input
from nngraph.models import Sequential

METADATA, WEIGHTS = "metadata.json", "model.weights.h5"
MAX_JSON_BYTES = 64 * 2**20  # a configuration of thousands of layers takes a few MB

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
            raise options.refused(_reason(error, layer)) from None
        if built.weight_names():
            arrays = weights(layer, built.weight_names(), built.weight_shapes())
            try:
                built.set_weights(arrays)
            except LayerError as error:  # numbers the layer cannot hold, such as NaN
                raise source.malformed(f"{options.where}: {_reason(error, layer)}") from None
    return model.graph


def _reason(error: LayerError, layer: KerasLayer) -> str:
    """The front end's message without the layer's name, which the importer's message gives first."""
    return str(error).removeprefix(f"layer {layer.name!r}: ")


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
