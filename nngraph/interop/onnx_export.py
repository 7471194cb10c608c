"""Export to ONNX: any nngraph network, as the ONNX model of its compiled plan, for onnxruntime.

The exported graph computes what ``plan(x)`` computes, op by op (``nngraph.ir.plan`` lists the op
kinds): its input ``"input"`` is ``(batch, n_inputs)``, the features in the network's input order,
and its output ``"output"`` is ``(batch, n_outputs)``, the columns in output order; ``batch`` is a
dynamic dimension. Each op of the plan becomes:

- a weighted-sum op: one ``Gemm`` (its sources, its weights as a dense matrix, its bias), so that a
  stack of Dense layers exports as one ``Gemm`` and one activation per layer; an op whose dense
  matrix would hold more than ``DENSE_LIMIT`` numbers gathers each target's connections and sums
  them instead;
- an aggregate op: for each reduction, a ``Gather`` of its terms, a ``Mul`` by their weights and
  the reduction (``ReduceMax``, ``ReduceProd``, ``TopK`` for a median, ``ArgMax`` of magnitudes for
  maxabs, ...), then the bias;
- a shared-weights op (a convolution's kernel at every position): in float32, one ``Conv`` over
  the feature map it reads, when ``nngraph.interop.onnx_conv`` finds the convolution that gives
  exactly its windows (the layer records of a Conv1D or Conv2D give one); otherwise, and in
  float64 (onnxruntime has no float64 ``Conv``), a ``Gather`` of the windows and one ``MatMul`` by
  the kernel, filter by filter as the plan lays its targets out;

then its activation (``nngraph.interop.onnx_nodes``; softmax and layer_norm over each of the op's
groups). An op reads the tensors its sources are in whole, joined by one ``Concat`` when there are
several; a weighted-sum op's matrix has zero rows for the columns it does not read (onnxruntime
pays more per node than per zero row at these sizes), and the gathers of the other ops pick their
columns. So on finite values the model equals ``plan(x)`` to rounding, while a NaN or infinity
reaching a zero that is no connection (such a row, or the padding of ``FusedOp.padded``) spreads
to neurons it does not feed, as in any dense product: the plan runs such ops again over their
connections alone, the ONNX model does not.

Names in the ONNX graph are generated (``gemm_0``, ``w_3``, ...): neuron names are free text from
possibly untrusted files, so they appear only in doc strings, escaped to printable ASCII.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import DTypeLike
from scipy import sparse

from nngraph.compiler import build_plan
from nngraph.core.dtypes import check_dtype
from nngraph.errors import ArgumentError, InteropError, shown
from nngraph.execute.compiled import CompiledPlan
from nngraph.extras import import_extra
from nngraph.files import atomic_write
from nngraph.core.structure import LayerPositions
from nngraph.interop.onnx_conv import ConvGeometry, conv_geometry
from nngraph.interop.onnx_nodes import OnnxGraph, activation_nodes, aggregation_nodes
from nngraph.ir.plan import AGGREGATE, SHARED, AggregateOp, FusedOp, Op, Plan, SharedOp
from nngraph.keras.sequential import Sequential
from nngraph.names import ascii_printable

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax over one axis, Squeeze and Unsqueeze with axes as inputs
INPUT_NAME = "input"
OUTPUT_NAME = "output"
DENSE_LIMIT = 1 << 24  # weights of a weighted-sum op's dense matrix; a bigger op gathers its connections
PROTOBUF_LIMIT = 2**31 - 1  # bytes of one serialised protobuf message, so of one ONNX file
_LISTED = 3  # neuron names an op's doc string lists before counting the rest


def to_onnx(network_or_plan: nx.DiGraph | Sequential | CompiledPlan | Plan,
            path: str | os.PathLike[str] | None = None, *, dtype: DTypeLike = np.float32,
            opset: int = DEFAULT_OPSET) -> Any:
    """Return the ONNX model (an ``onnx.ModelProto``) that computes the network as its plan does.

    Parameters
    ----------
    network_or_plan : networkx.DiGraph, nngraph.models.Sequential, CompiledPlan or Plan
        The network (compiled here, in ``dtype``), or a plan already compiled (its numbers are
        taken in ``dtype``).
    path : str or os.PathLike, optional
        Also write the model there (atomically: whole, or not at all).
    dtype : float32 (default) or float64
        The model's element type.
    opset : int
        The ONNX operator set to use (13 or later; onnxruntime must support it).

    The model passes ``onnx.checker.check_model(full_check=True)``; the module doc says how each op
    is exported. Needs the ``onnx`` extra (``pip install 'nngraph[onnx]'``).

    Examples
    --------
    >>> import numpy as np, onnxruntime, nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> model = Sequential([Dense(units=6, input_shape=(8,), activation="relu"),
    ...                     Dense(units=4, activation="softmax")], seed=0)
    >>> onnx_model = to_onnx(model)
    >>> [node.op_type for node in onnx_model.graph.node]
    ['Gemm', 'Relu', 'Gemm', 'Softmax', 'Identity']
    >>> session = onnxruntime.InferenceSession(onnx_model.SerializeToString(),
    ...                                        providers=["CPUExecutionProvider"])
    >>> x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    >>> bool(np.allclose(session.run(None, {"input": x})[0], model.predict(x), atol=1e-5))
    True
    """
    onnx = import_extra("onnx", extra="onnx", library="ONNX")
    resolved = check_dtype(dtype)
    _check_opset(opset, onnx)
    plan = _plan_of(network_or_plan, resolved)
    graph = OnnxGraph(onnx, dtype=resolved, opset=opset)
    tensors = _Tensors(graph, plan.inputs)
    for op in plan.ops:
        z = _weighted_sums(graph, plan, op, tensors)
        runs = op.activation_runs()
        for name, start, stop in runs:  # each run's columns of z through its activation
            part = z if len(runs) == 1 else graph.add("Slice", [z, graph.indices([start]), graph.indices([stop]),
                                                                graph.indices([1])])
            a = activation_nodes(graph, part, name, groups=getattr(op, "groups", 1), width=stop - start,
                                 op=op.index)
            graph.nodes[-1].doc_string = _op_doc(op, name, start, stop)
            tensors.add(a, op.targets[start:stop])
    graph.add("Identity", [tensors.read_exactly(plan.outputs)], output=OUTPUT_NAME)
    model = _model(onnx, graph, plan, opset)
    if model.ByteSize() > PROTOBUF_LIMIT:
        raise InteropError(f"the ONNX model would take {model.ByteSize():,} bytes; one ONNX file holds at "
                           f"most {PROTOBUF_LIMIT:,} (protobuf's limit): export a smaller network")
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        with atomic_write(path, binary=True) as stream:
            stream.write(model.SerializeToString())
    return model


def _check_opset(opset: object, onnx: Any) -> None:
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ArgumentError(f"to_onnx: opset must be a whole number from {MIN_OPSET} to {newest} "
                            f"(this onnx's newest), got {shown(opset)}")


def _plan_of(network_or_plan: object, dtype: np.dtype) -> Plan:
    """The plan to export: the given one, or the network's compiled in ``dtype``."""
    if isinstance(network_or_plan, CompiledPlan):
        return network_or_plan.plan
    if isinstance(network_or_plan, Plan):
        return network_or_plan
    if isinstance(network_or_plan, Sequential):
        return build_plan(network_or_plan.graph, dtype=dtype)
    if isinstance(network_or_plan, nx.DiGraph):
        return build_plan(network_or_plan, dtype=dtype)
    raise ArgumentError(f"to_onnx: expected a network (networkx.DiGraph), a nngraph.models.Sequential, "
                        f"a CompiledPlan or a Plan, got {type(network_or_plan).__name__}")


class _Tensors:
    """Where each neuron's value is in the ONNX graph: a column of the input or of an op's output."""

    def __init__(self, graph: OnnxGraph, inputs: Sequence[Hashable]) -> None:
        self.graph = graph
        self.place: dict[Hashable, tuple[str, int]] = {node: (INPUT_NAME, i) for i, node in enumerate(inputs)}
        self.width = {INPUT_NAME: len(inputs)}
        self._joined: dict[tuple[str, ...], str] = {}

    def add(self, tensor: str, nodes: Sequence[Hashable]) -> None:
        """Record that ``tensor`` holds the values of ``nodes``, in order."""
        self.width[tensor] = len(nodes)
        self.place.update((node, (tensor, column)) for column, node in enumerate(nodes))

    def read(self, nodes: Sequence[Hashable]) -> tuple[str, np.ndarray]:
        """A tensor ``(batch, columns)`` holding the values of ``nodes``, and the column of each.

        The tensors that hold them are read whole (joined by one ``Concat`` when there are several,
        once for each set of tensors): onnxruntime pays more for a node than for the zero rows of
        the columns an op does not read.
        """
        tensors = list(dict.fromkeys(self.place[node][0] for node in nodes)) or [INPUT_NAME]
        offsets = dict(zip(tensors, np.cumsum([0] + [self.width[tensor] for tensor in tensors]).tolist()))
        columns = np.array([offsets[tensor] + column for tensor, column in map(self.place.__getitem__, nodes)],
                           dtype=np.int64)
        key = tuple(tensors)
        if key not in self._joined:
            joined = tensors[0] if len(tensors) == 1 else self.graph.add("Concat", tensors, axis=1)
            self.width[joined] = sum(self.width[tensor] for tensor in tensors)
            self._joined[key] = joined
        return self._joined[key], columns

    def channels_first(self, layer: LayerPositions) -> str:
        """A layer's output (its nodes channels last, in C order) as ``(batch, channels, *spatial)``."""
        tensor, columns = self.read(layer.nodes)
        rank = len(layer.shape) - 1
        by_channel = columns.reshape(layer.shape).transpose(rank, *range(rank)).ravel()
        if np.array_equal(columns, np.arange(self.width[tensor])):
            shaped = self.graph.add("Reshape", [tensor, self.graph.indices([0, *layer.shape])])
            return self.graph.add("Transpose", [shaped], perm=[0, rank + 1, *range(1, rank + 1)])
        if not np.array_equal(by_channel, np.arange(self.width[tensor])):
            tensor = self.graph.add("Gather", [tensor, self.graph.indices(by_channel)], axis=1)
        return self.graph.add("Reshape", [tensor, self.graph.indices([0, layer.shape[-1], *layer.shape[:-1]])])

    def read_exactly(self, nodes: Sequence[Hashable]) -> str:
        """A tensor ``(batch, len(nodes))`` of the values of ``nodes`` in order."""
        tensor, columns = self.read(nodes)
        if np.array_equal(columns, np.arange(self.width[tensor])):
            return tensor
        return self.graph.add("Gather", [tensor, self.graph.indices(columns)], axis=1)


def _weighted_sums(g: OnnxGraph, plan: Plan, op: Op, tensors: _Tensors) -> str:
    """The nodes computing ``op``'s weighted sums ``(batch, targets)`` from its sources' values."""
    if op.kind == SHARED and g.dtype == np.float32:  # onnxruntime has no float64 Conv
        geometry = conv_geometry(plan, op)
        if geometry is not None and all(node in tensors.place for node in geometry.source.nodes):
            return _conv(g, op, tensors.channels_first(geometry.source), geometry)
    source, columns = tensors.read(op.sources)
    if op.kind == AGGREGATE:
        return _aggregate(g, op, source, columns)
    if op.kind == SHARED:
        return _shared(g, op, source, columns, width=tensors.width[source])
    assert isinstance(op, FusedOp)
    if tensors.width[source] * len(op.targets) > DENSE_LIMIT:
        return _gathered_sum(g, op, source, columns, width=tensors.width[source])
    weights = np.zeros((tensors.width[source], len(op.targets)), dtype=g.dtype)
    weights[columns] = op.dense_weights()  # zero rows for the columns of the tensor the op does not read
    return g.add("Gemm", [source, g.constant(weights, stem="w"), g.constant(op.bias, stem="b")])


def _gathered_sum(g: OnnxGraph, op: FusedOp, source: str, columns: np.ndarray, *, width: int) -> str:
    """A weighted-sum op too big for a dense matrix: each target gathers its connections' values
    (``(batch, targets, largest fan-in)``; fewer connections read a column of zeros), multiplies them
    by their weights and sums them."""
    matrix = sparse.csc_array(op.connection_matrix())
    matrix.sort_indices()
    counts = np.diff(matrix.indptr)
    target = np.repeat(np.arange(len(op.targets)), counts)
    term = np.arange(matrix.nnz) - matrix.indptr[target]
    rows = np.full((len(op.targets), int(counts.max(initial=0))), width, dtype=np.int64)
    weights = np.zeros(rows.shape, dtype=g.dtype)
    rows[target, term] = columns[matrix.indices]
    weights[target, term] = matrix.data
    terms = g.add("Gather", [_with_zero_column(g, source), g.indices(rows)], axis=1)
    summed = g.reduce("ReduceSum", g.binary("Mul", terms, g.constant(weights, stem="w")), axis=2)
    return g.binary("Add", summed, g.constant(op.bias, stem="b"))


def _with_zero_column(g: OnnxGraph, source: str) -> str:
    """``source`` with a column of zeros after its own, for gathered entries that have no source."""
    return g.add("Pad", [source, g.indices([0, 0, 0, 1])])


def _conv(g: OnnxGraph, op: SharedOp, source: str, geometry: ConvGeometry) -> str:
    """A shared-weights op as one ``Conv`` (``nngraph.interop.onnx_conv``): its output, channels first,
    flattened, is the op's targets filter by filter."""
    convolved = g.add("Conv", [source, g.constant(geometry.weights, stem="kernel")],
                      kernel_shape=list(geometry.weights.shape[2:]), strides=list(geometry.strides),
                      dilations=list(geometry.dilations), pads=list(geometry.pads))
    flat = g.add("Reshape", [convolved, g.indices([0, len(op.targets)])])
    return g.binary("Add", flat, g.constant(op.bias, stem="b"))


def _aggregate(g: OnnxGraph, op: AggregateOp, source: str, columns: np.ndarray) -> str:
    parts = []
    for reduction in op.reductions:
        terms = g.add("Gather", [source, g.indices(columns[reduction.rows])], axis=1)  # (batch, targets, terms)
        weighted = g.binary("Mul", terms, g.constant(reduction.weights, stem="w"))
        parts.append(aggregation_nodes(g, weighted, reduction.aggregation, count=reduction.rows.shape[1],
                                       op=op.index))
    joined = parts[0] if len(parts) == 1 else g.add("Concat", parts, axis=1)
    return g.binary("Add", joined, g.constant(op.bias, stem="b"))


def _shared(g: OnnxGraph, op: SharedOp, source: str, columns: np.ndarray, *, width: int) -> str:
    window = columns[op.window]
    if np.any(op.window < 0):  # entries without a source read a column of zeros after the source's
        source = _with_zero_column(g, source)
        window = np.where(op.window < 0, width, window)
    patches = g.add("Gather", [source, g.indices(window)], axis=1)  # (batch, positions, entries)
    products = g.add("MatMul", [patches, g.constant(op.kernel, stem="kernel")])  # (batch, positions, filters)
    by_filter = g.add("Transpose", [products], perm=[0, 2, 1])
    flat = g.add("Reshape", [by_filter, g.indices([0, op.filters * op.positions])])
    return g.binary("Add", flat, g.constant(op.bias, stem="b"))


def _names(nodes: Sequence[Hashable], limit: int | None = None) -> str:
    """Neuron names for a doc string: each ``repr`` escaped to printable ASCII."""
    shown_nodes = nodes if limit is None else nodes[:limit]
    text = ", ".join(ascii_printable(repr(node)) for node in shown_nodes)
    return text + (f" and {len(nodes) - limit} more" if limit is not None and len(nodes) > limit else "")


def _op_doc(op: Op, activation: str, start: int, stop: int) -> str:
    """The doc string of the node giving op ``op``'s values of its targets ``start:stop`` (all of
    them, or a run of a mixed op) through ``activation``."""
    return (f"nngraph op {op.index} ({op.kind}, {ascii_printable(activation)}): the values "
            f"of {_names(op.targets[start:stop], _LISTED)}")


def _model(onnx: Any, graph: OnnxGraph, plan: Plan, opset: int) -> Any:
    helper = onnx.helper
    element = helper.np_dtype_to_tensor_dtype(graph.dtype)
    source = helper.make_tensor_value_info(INPUT_NAME, element, ["batch", len(plan.inputs)])
    source.doc_string = f"the input neurons' values, column by column: {_names(plan.inputs)}"
    target = helper.make_tensor_value_info(OUTPUT_NAME, element, ["batch", len(plan.outputs)])
    target.doc_string = f"the output neurons' values, column by column: {_names(plan.outputs)}"
    body = helper.make_graph(graph.nodes, "nngraph", [source], [target], graph.initializers)
    model = helper.make_model(body, opset_imports=[helper.make_opsetid("", opset)], producer_name="nngraph")
    model.doc_string = f"an nngraph network of {len(plan.ops)} fused ops, exported by nngraph.to_onnx"
    return model

