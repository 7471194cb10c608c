"""ONNX models as nngraph networks (the ``onnx`` extra): a chain of ONNX ops, built as layers.

An ONNX graph whose ops follow one another (each reads the one before it, plus constants) is a
stack of layers: ``from_onnx`` builds it with ``nngraph.models.Sequential`` and the layer builders
(``nngraph.interop.onnx_ops`` says which op becomes which layer), writes the initializers in with
``set_weights``, and returns ``model.graph``, layer records included. ONNX is channels first
(``(N, C, L)``, ``(N, C, H, W)``), the builders channels last: the network is built channels last
and its input features and output columns are put back in ONNX's order
(``nngraph.core.network.reordered``), so ``compile_network(G)(x.reshape(n, -1))`` equals
onnxruntime's output ``.reshape(n, -1)`` for the same ``x``.

A model file is untrusted: it is parsed by ``onnx.load`` (protobuf, nothing executed), a tensor
that keeps its data in an external file is refused (it could name any file of this machine), and
``onnx.checker`` checks the model before anything is built. What nngraph cannot express (an op it
does not know, a branch, an attribute value) raises ``InteropError`` naming the op.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.network import inputs, outputs, reordered
from nngraph.errors import ArgumentError, InteropError, ModelFileError
from nngraph.extras import import_extra
from nngraph.interop.onnx_ops import Chain, Step, channels_first_order, translate
from nngraph.keras.layers.core import Input
from nngraph.keras.sequential import Sequential

ONNX_DOMAINS = ("", "ai.onnx")
SPATIAL_RANKS = {2: "(batch, features)", 3: "(batch, channels, length)", 4: "(batch, channels, height, width)"}


@dataclass(frozen=True)
class Source:
    """Where a model came from, for messages: its file (``path``), or None for a ``ModelProto``."""

    path: str | None

    def refuse(self, message: str, *, part: Hashable | None = None) -> InteropError:
        """``InteropError`` for something nngraph cannot express, naming the file where there is one."""
        return InteropError(f"{self.path}: {message}" if self.path else f"from_onnx: {message}", part=part)

    def bad_file(self, message: str, *, part: Hashable | None = None) -> ModelFileError | InteropError:
        """``ModelFileError`` naming the file for a file that is not a usable model (``InteropError``
        for a ``ModelProto``)."""
        if self.path:
            return ModelFileError(message, path=self.path)
        return InteropError(f"from_onnx: {message}", part=part)


def from_onnx(model_or_path: Any) -> nx.DiGraph:
    """An ONNX model (an ``onnx.ModelProto`` or the path of an ``.onnx`` file) as an nngraph network.

    The model must be a chain of the ops ``nngraph.interop.onnx_ops`` lists (dense, convolution,
    pooling, batch normalization, flatten and activation ops), with one input ``(batch, features)``,
    ``(batch, channels, length)`` or ``(batch, channels, height, width)`` of fixed sizes but the
    batch, and one output. The network reads and writes features in ONNX's order: for an input
    ``x`` of the model's shape, ``compile_network(G)(x.reshape(len(x), -1))`` is the model's output
    ``.reshape(len(x), -1)``.

    Raises ``ModelFileError`` for a file that is missing, not ONNX, invalid (``onnx.checker``) or
    that keeps tensors in external files; ``InteropError`` naming the op for what nngraph cannot
    express; ``ExtraMissingError`` without the onnx package (``pip install 'nngraph[onnx]'``).

    Examples
    --------
    >>> import numpy as np, nngraph
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> w = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]], dtype=np.float32)
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Gemm", ["x", "w", "b"], ["z"]), helper.make_node("Relu", ["z"], ["y"])],
    ...     "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
    ...     initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32([0.5, -1]), "b")])
    >>> G = from_onnx(helper.make_model(graph))
    >>> nngraph.compile_network(G)(np.array([[1.0, 1.0, 1.0]]))
    array([[3.5, 1.5]])
    """
    onnx = import_extra("onnx", extra="onnx", library="ONNX")
    model, source = _read(onnx, model_or_path)
    _refuse_external_data(onnx, model, source)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise source.bad_file(f"not a valid ONNX model (onnx.checker: {first})") from None
    return _build(onnx, model, source)


def _read(onnx: Any, model_or_path: Any) -> tuple[Any, Source]:
    """The ``ModelProto`` and where it came from; a file is parsed, never executed."""
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path, Source(None)
    if not isinstance(model_or_path, (str, os.PathLike)):
        raise ArgumentError(f"from_onnx takes an onnx.ModelProto or the path of an .onnx file, got "
                            f"{type(model_or_path).__name__}")
    path = os.fspath(model_or_path)
    source = Source(str(path))
    if not os.path.isfile(path):
        raise source.bad_file("no such file")
    try:
        return onnx.load(path, load_external_data=False), source
    except Exception as error:  # protobuf's DecodeError, and whatever else a malformed file raises
        raise source.bad_file(f"not an ONNX model file ({type(error).__name__}: {error})") from None


def _refuse_external_data(onnx: Any, model: Any, source: Source) -> None:
    """Refuse a model whose tensors keep their data in other files: nngraph reads one file alone."""
    from onnx.external_data_helper import uses_external_data

    graph = model.graph
    tensors = list(graph.initializer) + [attribute.t for node in graph.node for attribute in node.attribute
                                         if attribute.HasField("t")]
    tensors += [sparse.values for sparse in graph.sparse_initializer]
    for tensor in tensors:
        if uses_external_data(tensor):
            location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "?")
            raise source.bad_file(f"tensor {tensor.name!r} keeps its data in the external file {location!r}; "
                                  "nngraph reads self-contained .onnx files only (save the model with "
                                  "save_as_external_data=False)", part=tensor.name)


def _build(onnx: Any, model: Any, source: Source) -> nx.DiGraph:
    graph = model.graph
    opset = next((entry.version for entry in model.opset_import if entry.domain in ONNX_DOMAINS), None)
    if opset is None:
        raise source.refuse("the model imports no opset of the ONNX domain")
    constants = _constants(onnx, graph, source)
    name, shape = _the_input(onnx, graph, constants, source)
    steps = _chain(graph, name, constants, source, opset)
    model_name = graph.name if graph.name else "onnx"
    network = Sequential([Input(shape=(*shape[1:], shape[0]) if len(shape) > 1 else shape)], name=model_name)
    input_order = channels_first_order(shape)
    chain = Chain(network, input_order)
    translate(steps, chain)
    if not network.layers or not any(layer.adds_neurons for layer in network.layers):
        raise source.refuse("the model computes nothing nngraph would hold as a neuron (only Identity, "
                            "Dropout, Flatten or Reshape ops)")
    G = network.graph
    onnx_inputs = [inputs(G)[k] for k in input_order.reshape(-1).tolist()]
    onnx_outputs = [outputs(G)[k] for k in chain.order.reshape(-1).tolist()]
    return reordered(G, inputs=onnx_inputs, outputs=onnx_outputs)


def _constants(onnx: Any, graph: Any, source: Source) -> dict[str, Any]:
    """The initializers and the outputs of Constant ops, by tensor name (as TensorProtos or numbers)."""
    if len(graph.sparse_initializer):
        name = graph.sparse_initializer[0].values.name
        raise source.refuse(f"sparse initializer {name!r}: nngraph imports dense initializers only", part=name)
    constants: dict[str, Any] = {tensor.name: tensor for tensor in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ONNX_DOMAINS:
            attribute = node.attribute[0]
            if attribute.name not in ("value", "value_float", "value_floats", "value_int", "value_ints"):
                raise source.refuse(f"Constant {node.output[0]!r} holds a {attribute.name}; nngraph imports "
                                    "numeric constants only", part=node.output[0])
            constants[node.output[0]] = attribute.t if attribute.name == "value" else \
                onnx.helper.get_attribute_value(attribute)
    return constants


def _the_input(onnx: Any, graph: Any, constants: dict[str, Any], source: Source) -> tuple[str, tuple[int, ...]]:
    """The model's one input (initializers listed as inputs are constants): its name and its shape
    without the batch."""
    real = [value for value in graph.input if value.name not in constants]
    if len(real) != 1:
        names = ", ".join(repr(value.name) for value in real) or "none"
        raise source.refuse(f"nngraph imports models of one input; this one has {len(real)}: {names}")
    if len(graph.output) != 1:
        raise source.refuse(f"nngraph imports models of one output; this one has {len(graph.output)}: "
                            f"{', '.join(repr(value.name) for value in graph.output)}")
    value = real[0]
    tensor = value.type.tensor_type
    if value.type.WhichOneof("value") != "tensor_type" or tensor.elem_type not in (
            onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE):
        kind = onnx.TensorProto.DataType.Name(tensor.elem_type) if value.type.HasField("tensor_type") else \
            value.type.WhichOneof("value")
        raise source.refuse(f"input {value.name!r} holds {kind}; nngraph imports float and double inputs",
                            part=value.name)
    dims = list(tensor.shape.dim) if tensor.HasField("shape") else None
    if dims is None or len(dims) not in SPATIAL_RANKS or not all(
            dim.HasField("dim_value") and dim.dim_value > 0 for dim in dims[1:]):
        shown_dims = "unknown" if dims is None else \
            "(" + ", ".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in dims) + ")"
        raise source.refuse(f"input {value.name!r} has shape {shown_dims}; nngraph imports inputs "
                            f"{', '.join(SPATIAL_RANKS.values())}, every size fixed but the batch's",
                            part=value.name)
    return value.name, tuple(int(dim.dim_value) for dim in dims[1:])


def _chain(graph: Any, first: str, constants: dict[str, Any], source: Source, opset: int) -> list[Step]:
    """The model's ops in order, each reading the output of the one before (and constants); a
    branch, a skip connection, an op of another domain or an extra output in use is refused."""
    used = {name for node in graph.node for name in node.input} | {value.name for value in graph.output}
    steps: list[Step] = []
    current = first
    for index, node in enumerate(graph.node):
        label = f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node #{index}"
        if node.domain not in ONNX_DOMAINS:
            raise source.refuse(f"{label}: op {node.op_type!r} of domain {node.domain!r} is not an ONNX "
                                "op; nngraph imports ops of the ONNX domain only", part=node.name or node.op_type)
        if node.op_type == "Constant":
            continue
        data = [name for name in node.input if name and name not in constants]
        if data != [current]:
            read = ", ".join(repr(name) for name in data) or "constants only"
            raise source.refuse(f"{label} reads {read}, not just {current!r}, the output of the op before it: "
                                "nngraph imports a chain of ops, each reading the one before (no branches, "
                                "skip connections or parallel paths)", part=node.name or node.op_type)
        for extra in node.output[1:]:
            if extra and extra in used:
                raise source.refuse(f"{label}: its output {extra!r} is used; nngraph imports the first "
                                    "output of an op only", part=node.name or node.op_type)
        steps.append(Step(node=node, label=label, constants=constants, opset=opset, refuse_in=source.refuse))
        current = node.output[0]
    if graph.output[0].name != current:
        raise source.refuse(f"the output {graph.output[0].name!r} is not the end of the chain of ops "
                            f"({current!r} is)", part=graph.output[0].name)
    return steps

