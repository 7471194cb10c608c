"""The IR: a ``Plan`` is the fused ops that compute a network, over one column layout.

Op kinds
--------
Every op computes the weighted sums ``z`` of its ``targets`` from its ``sources``, then their
values ``a[targets] = activation(z[targets])`` (a group-wise activation over all the targets).

- ``FusedOp``, the weighted-sum op, kind ``"dense"`` or ``"sparse"``:
  ``z[targets] = a[sources] @ weights + bias``; ``weights`` is dense (a numpy array, zeros where a
  source does not feed a target) or sparse (a ``scipy.sparse.csr_array`` of the connections).
- ``AggregateOp``, the gather-and-reduce op, kind ``"aggregate"``, for neurons whose
  aggregation is not a sum (``nngraph.core.aggregations``): for each of its ``reductions``,
  ``z[t] = bias[t] + AGG(weights[t, k] * a[sources[rows[t, k]]] for k in terms)``, the terms of
  each target in the order of its predecessors.

Ops run in order; an op reads only inputs and earlier ops' targets.

Column layout
-------------
Every neuron owns one column. The inputs come first, in input order (columns ``0`` to
``n_inputs - 1``); then each op's targets, contiguous and in op order, so op ``k`` writes the
columns ``start_k`` to ``start_k + len(targets) - 1``. Within an op, targets keep their order and
sources are sorted by column. ``plan.columns`` maps neuron -> column; a ``Trace`` uses the same
numbers.

At run time the executor keeps two buffers over these columns, the weighted sums ``Z`` and the
values ``A``, stored neuron-major: ``A[c]`` is column ``c`` for the whole batch, so each op writes
one contiguous block ``A[start:stop]``. An op reads its sources as one slice when they are
contiguous columns, and otherwise gathers exactly them (dense) or reads them in place, connection
by connection (sparse); the rest of the state is never copied. One extra row, ``A[n_columns]``,
holds 1.0 so that a gathered read can fold the bias into its product. When not tracing, ``Z`` *is*
``A``: each op's values overwrite its weighted sums in place.

Connections
-----------
A zero in a dense block where there is no connection (padding) is multiplied like any weight, so a
NaN or infinity reaching it would spread to targets it does not feed. So an op knows its
connections: a sparse op stores exactly them (a connection of weight 0.0 is stored too), and a
dense op with padding carries ``connected``, True at each connection. Plans with padding compute
fast over the padded blocks and, should a NaN come out, again over the connections alone (see
``nngraph.compiler.codegen``); a connection of weight 0.0 from a NaN still gives NaN, as in the
reference pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from nngraph.errors import CompileError
from nngraph.execute.compiled import run_plan, trace_plan
from nngraph.execute.trace import NeuronNotFoundError, Trace
from nngraph.ir.text import explain_neuron, plan_table
from nngraph.core.structure import Column

DENSE = "dense"
SPARSE = "sparse"
KINDS = (DENSE, SPARSE)  # the storage kinds of a FusedOp
AGGREGATE = "aggregate"


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, repr=False)
class FusedOp:
    """One fused op: ``a[targets] = activation(a[sources] @ weights + bias)``.

    Fields
    ------
    index : position in ``plan.ops`` (the execution order).
    kind : ``"dense"`` (``weights`` is an ndarray) or ``"sparse"`` (a ``scipy.sparse.csr_array``).
    targets : the neurons it computes, in column order.
    sources : the neurons it reads, in the row order of ``weights`` (sorted by column).
    weights : shape ``(len(sources), len(targets))``; zero where there is no connection. A sparse
        op stores exactly its connections, those of weight 0.0 included.
    bias : shape ``(len(targets),)``.
    activation : canonical activation name (``resolve_activation(...).name``).
    nonzeros : nonzero weights; density : ``nonzeros / weights.size`` (1.0 when empty).
    level : the level its targets are scheduled at (longest path from the inputs).
    connected : for a dense op with padding (an entry that is no connection), a boolean array of the
        weights' shape, True at each connection; ``None`` when every entry is a connection, and
        always for a sparse op.

    Build one with ``fused_op``, which fills in ``nonzeros``, ``density`` and ``connected`` and
    freezes the arrays.
    """

    index: int
    kind: str
    targets: tuple[Hashable, ...]
    sources: tuple[Hashable, ...]
    weights: np.ndarray | sparse.csr_array = field(repr=False)
    bias: np.ndarray = field(repr=False)
    activation: str
    nonzeros: int
    density: float
    level: int
    connected: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"FusedOp(index={self.index}, kind={self.kind!r}, activation={self.activation!r}, "
                f"{len(self.sources)} sources -> {len(self.targets)} targets, level={self.level}, "
                f"nonzeros={self.nonzeros})")

    @property
    def shape(self) -> tuple[int, int]:
        """The weight matrix's shape, ``(len(sources), len(targets))``."""
        return (len(self.sources), len(self.targets))

    def dense_weights(self) -> np.ndarray:
        """The weights as a dense array, whatever the kind (a copy for sparse ops)."""
        return self.weights.toarray() if self.kind == SPARSE else self.weights

    @property
    def connections(self) -> int:
        """How many connections the op computes (``nonzeros`` plus any of weight 0.0)."""
        if self.kind == SPARSE:
            return int(self.weights.nnz)
        return self.shape[0] * self.shape[1] if self.connected is None else int(self.connected.sum())

    @property
    def padded(self) -> bool:
        """Whether the op multiplies zeros that are no connection (a dense op with ``connected``)."""
        return self.connected is not None

    def connection_mask(self) -> np.ndarray:
        """A boolean array of the weights' shape, True at each connection.

        Examples
        --------
        >>> import numpy as np
        >>> op = fused_op(index=0, targets=["y"], sources=["a", "b"], weights=np.array([[0.5], [0.0]]),
        ...               bias=np.zeros(1), activation="linear", level=1, kind="sparse")
        >>> op.connection_mask()[:, 0].tolist(), op.connections
        ([True, False], 1)
        """
        if self.kind == SPARSE:
            return _stored_entries(self.weights)
        return np.ones(self.shape, dtype=bool) if self.connected is None else self.connected

    def connection_matrix(self) -> sparse.coo_array:
        """The connections as a sparse matrix: one stored entry per connection, its weight the value
        (a connection of weight 0.0 is stored too)."""
        if self.kind == SPARSE:
            return self.weights.tocoo()
        rows, cols = np.nonzero(self.connection_mask())
        return sparse.coo_array((self.weights[rows, cols], (rows, cols)), shape=self.shape)


def fused_op(*, index: int, targets: Iterable[Hashable], sources: Iterable[Hashable],
             weights: np.ndarray | sparse.sparray, bias: np.ndarray, activation: str, level: int,
             kind: str | None = None, connected: np.ndarray | None = None) -> FusedOp:
    """Return a ``FusedOp`` with its counts and connections filled in and its arrays read-only.

    ``kind`` defaults to the kind of ``weights``; given, the weights are converted to it.
    ``connected`` marks the connections (a boolean array of the weights' shape); by default they
    are the stored entries of sparse weights, or the nonzero entries of dense ones.

    Examples
    --------
    >>> import numpy as np
    >>> op = fused_op(index=0, targets=["h"], sources=["x", "y"], weights=np.array([[2.0], [0.0]]),
    ...               bias=np.zeros(1), activation="relu", level=1)
    >>> op.kind, op.nonzeros, op.density, op.padded
    ('dense', 1, 0.5, True)
    >>> op = fused_op(index=0, targets=["h"], sources=["x", "y"], weights=np.array([[2.0], [0.0]]),
    ...               bias=np.zeros(1), activation="relu", level=1, connected=np.ones((2, 1), bool))
    >>> op.nonzeros, op.padded, op.connection_matrix().nnz  # y feeds h with weight 0.0
    (1, False, 2)
    """
    if kind is None:
        kind = SPARSE if sparse.issparse(weights) else DENSE
    mask = None
    if kind == SPARSE:
        matrix = _sparse_connections(weights, connected)
        for part in (matrix.data, matrix.indices, matrix.indptr):
            _frozen(part)
        nonzeros = int(matrix.count_nonzero())
    else:
        matrix = _frozen(np.array(weights.toarray() if sparse.issparse(weights) else weights))
        nonzeros = int(np.count_nonzero(matrix))
        mask = _dense_connections(matrix, weights, connected, nonzeros)
    size = matrix.shape[0] * matrix.shape[1]
    return FusedOp(index=index, kind=kind, targets=tuple(targets), sources=tuple(sources),
                   weights=matrix, bias=_frozen(np.array(bias)), activation=activation,
                   nonzeros=nonzeros, density=nonzeros / size if size else 1.0, level=level,
                   connected=mask)


def _sparse_connections(weights: np.ndarray | sparse.sparray,
                        connected: np.ndarray | None) -> sparse.csr_array:
    """CSR weights whose stored entries are exactly the connections, sorted."""
    if connected is None and sparse.issparse(weights):
        matrix = sparse.csr_array(weights, copy=True)
    else:
        dense = weights.toarray() if sparse.issparse(weights) else np.asarray(weights)
        rows, cols = np.nonzero(dense if connected is None else connected)
        matrix = sparse.csr_array((dense[rows, cols], (rows, cols)), shape=dense.shape)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _stored_entries(weights: sparse.sparray) -> np.ndarray:
    """A boolean mask, True where a sparse matrix stores an entry (explicit zeros included)."""
    coo = weights.tocoo()
    mask = np.zeros(weights.shape, dtype=bool)
    mask[coo.row, coo.col] = True
    return mask


def _dense_connections(matrix: np.ndarray, weights: np.ndarray | sparse.sparray,
                       connected: np.ndarray | None, nonzeros: int) -> np.ndarray | None:
    """The ``connected`` mask of a dense op, or None when every entry is a connection."""
    if connected is None:
        if nonzeros == matrix.size:
            return None
        if sparse.issparse(weights):
            connected = _stored_entries(weights)
        else:
            connected = matrix != 0
    mask = np.array(connected, dtype=bool)
    return None if mask.all() else _frozen(mask)


@dataclass(frozen=True, eq=False, repr=False)
class Reduction:
    """Consecutive targets of an ``AggregateOp`` that aggregate alike: the op's targets ``start`` to
    ``start + len(rows) - 1``, each with ``rows.shape[1]`` terms.

    ``rows[t, k]`` is the row (in the op's ``sources``) of target ``start + t``'s ``k``-th term, in
    the order of its predecessors; ``weights[t, k]`` its weight. Both ``(targets, terms)``.
    """

    aggregation: str
    start: int
    rows: np.ndarray
    weights: np.ndarray

    def __repr__(self) -> str:
        return (f"Reduction({self.aggregation!r}, targets {self.start}..{self.start + len(self.rows) - 1}, "
                f"{self.rows.shape[1]} terms each)")


@dataclass(frozen=True, eq=False, repr=False)
class AggregateOp:
    """The gather-and-reduce op: each target's weighted sum is its bias plus an aggregation (max,
    product, ...) of its weighted terms, reduction by reduction; then the activation (see the module
    doc). It presents its connections as ``FusedOp`` does (``shape``, ``connection_matrix()``, ...),
    so that tables, explanations and diagrams read both alike.

    Fields: ``index``, ``targets``, ``sources`` (sorted by column), ``bias``, ``activation`` and
    ``level`` as in ``FusedOp``; ``reductions``, covering the targets in order. Build one with
    ``aggregate_op``.
    """

    index: int
    targets: tuple[Hashable, ...]
    sources: tuple[Hashable, ...]
    bias: np.ndarray = field(repr=False)
    activation: str
    level: int
    reductions: tuple[Reduction, ...]

    kind = AGGREGATE
    padded = False  # every term is a connection
    connected = None

    def __repr__(self) -> str:
        return (f"AggregateOp(index={self.index}, aggregations={self.aggregations!r}, "
                f"activation={self.activation!r}, {len(self.sources)} sources -> {len(self.targets)} targets, "
                f"level={self.level})")

    @property
    def aggregations(self) -> tuple[str, ...]:
        """The aggregations of its reductions, each once, in order."""
        return tuple(dict.fromkeys(reduction.aggregation for reduction in self.reductions))

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(sources), len(targets))``, the shape of its connection matrix."""
        return (len(self.sources), len(self.targets))

    @property
    def connections(self) -> int:
        """How many connections (terms) it computes."""
        return sum(reduction.rows.size for reduction in self.reductions)

    @property
    def nonzeros(self) -> int:
        """How many of its weights are nonzero."""
        return sum(int(np.count_nonzero(reduction.weights)) for reduction in self.reductions)

    @property
    def density(self) -> float:
        """``nonzeros`` over the size of its connection matrix (1.0 when empty)."""
        size = self.shape[0] * self.shape[1]
        return self.nonzeros / size if size else 1.0

    def connection_matrix(self) -> sparse.coo_array:
        """The connections as a sparse ``(sources, targets)`` matrix, one stored entry each."""
        rows = [reduction.rows.ravel() for reduction in self.reductions]
        cols = [np.repeat(np.arange(reduction.start, reduction.start + len(reduction.rows)),
                          reduction.rows.shape[1]) for reduction in self.reductions]
        values = [reduction.weights.ravel() for reduction in self.reductions]
        if not self.reductions:
            return sparse.coo_array(self.shape)
        return sparse.coo_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                                shape=self.shape)

    def connection_mask(self) -> np.ndarray:
        """A boolean ``(sources, targets)`` array, True at each connection."""
        return _stored_entries(self.connection_matrix())

    def dense_weights(self) -> np.ndarray:
        """The weights as a dense ``(sources, targets)`` array, zero where there is no connection."""
        return self.connection_matrix().toarray()

    def reduction_of(self, target: int) -> tuple[Reduction, int]:
        """The reduction computing the op's ``target``-th neuron, and the neuron's row in it."""
        for reduction in self.reductions:
            if reduction.start <= target < reduction.start + len(reduction.rows):
                return reduction, target - reduction.start
        raise IndexError(f"op {self.index} has no target {target}")


def aggregate_op(*, index: int, targets: Iterable[Hashable], sources: Iterable[Hashable], bias: np.ndarray,
                 activation: str, level: int, reductions: Iterable[Reduction]) -> AggregateOp:
    """Return an ``AggregateOp`` with its arrays read-only.

    Examples
    --------
    >>> import numpy as np
    >>> op = aggregate_op(index=0, targets=["m"], sources=["a", "b"], bias=np.zeros(1), activation="relu",
    ...                   level=1, reductions=[Reduction("max", 0, np.array([[1, 0]]), np.array([[2.0, 0.5]]))])
    >>> op.aggregations, op.connections, op.dense_weights().tolist()
    (('max',), 2, [[0.5], [2.0]])
    """
    frozen = tuple(Reduction(reduction.aggregation, reduction.start, _frozen(np.array(reduction.rows)),
                             _frozen(np.array(reduction.weights))) for reduction in reductions)
    return AggregateOp(index=index, targets=tuple(targets), sources=tuple(sources), bias=_frozen(np.array(bias)),
                       activation=activation, level=level, reductions=frozen)


Op = FusedOp | AggregateOp


@dataclass(frozen=True, eq=False)
class Program:
    """The code a plan runs: its generated source and the functions compiled from it.

    ``forward(X, Z, A)`` is the fused numpy pass (``X`` the inputs neuron-major, ``Z`` and ``A``
    the buffers of the column layout, with ``rows`` rows); it returns the outputs block of ``A``.
    ``exact`` (``None`` unless some product of ``forward`` multiplies padding) is the same pass
    over real connections only, which the runner calls when ``forward`` gives a NaN.
    ``scalar(sample)`` is straight-line float code for one sample (``None`` if the plan has
    none), used for batches of at most ``scalar_batch_limit`` samples. ``runner`` says which.
    ``constants`` are the arrays the code names (``W0``, ``b0``, ...): ``exec(code, dict(constants))``
    defines the same functions again.
    """

    code: str
    constants: Mapping[str, object]
    forward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    exact: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None
    scalar: Callable[[list[float]], list[float]] | None
    scalar_batch_limit: int
    rows: int
    runner: str


@dataclass(frozen=True, eq=False, repr=False)
class Plan:
    """A compiled network: fused ops over one column layout, and the code that runs them.

    Immutable: compiling copies what it needs out of the graph, and the arrays are read-only.
    Make one with ``nngraph.compile_network``.

    Fields: ``ops`` (in execution order), ``inputs`` and ``outputs`` (neurons, in the order of
    the input features and output columns), ``dtype``, ``columns`` (neuron -> column, the layout
    above), ``groups`` (the display columns a ``Trace`` prints by), ``passes`` (the passes
    applied), ``program`` (the generated code; see ``Program``).

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x0", "x1"], role="input")
    >>> G.add_node("h", role="hidden", activation="relu"); G.add_node("y", role="output")
    >>> G.add_weighted_edges_from([("x0", "h", 1.0), ("x1", "h", -1.0), ("h", "y", 2.0), ("x0", "y", 0.5)])
    >>> plan = nngraph.compile_network(G)
    >>> [(op.targets, op.sources) for op in plan.ops]
    [(('h',), ('x0', 'x1')), (('y',), ('x0', 'h'))]
    >>> plan([3.0, 1.0])
    array([5.5])
    """

    ops: tuple[Op, ...]
    inputs: tuple[Hashable, ...]
    outputs: tuple[Hashable, ...]
    dtype: np.dtype
    columns: Mapping[Hashable, int]
    groups: tuple[Column, ...] = field(repr=False)
    passes: tuple[str, ...] = ()
    program: Program | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<Plan: {len(self.ops)} fused ops, {len(self.inputs)} inputs -> {len(self.outputs)} "
                f"outputs, {self.dtype}>")

    @property
    def n_columns(self) -> int:
        """How many neurons (inputs included) the plan holds."""
        return len(self.columns)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Run ``x`` (``(batch, n_inputs)`` or ``(n_inputs,)``) and return the outputs."""
        return run_plan(self, x)

    def trace(self, x: ArrayLike) -> Trace:
        """Run ``x`` and return every neuron's weighted sum and value, as ``run_reference`` does."""
        return trace_plan(self, x)

    @property
    def code(self) -> str:
        """The Python source the plan executes (generated numpy, plus scalar code for tiny plans)."""
        return self.require_program().code

    @property
    def runner(self) -> str:
        """Which code runs a call: fused numpy, or scalar code for small batches of a tiny plan."""
        return self.require_program().runner

    def require_program(self) -> Program:
        """The plan's ``Program``; raises ``CompileError`` for a plan that has not been generated
        (a plan between passes; ``compile_network`` always returns a generated one)."""
        if self.program is None:
            raise CompileError("this plan has no generated code yet; plans from compile_network have")
        return self.program

    def op_of(self, node: Hashable) -> Op | None:
        """The op that computes ``node`` (``None`` for an input); unknown neurons raise.

        Examples
        --------
        >>> import nngraph
        >>> G = nngraph.new_network()
        >>> _ = nngraph.add_input(G, "x")
        >>> _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output", activation="tanh"))
        >>> _ = nngraph.connect(G, "x", "y", 1.0)
        >>> plan = nngraph.compile_network(G)
        >>> plan.op_of("y").index, plan.op_of("x")
        (0, None)
        """
        column = self._column(node)
        if column < len(self.inputs):
            return None
        starts = [self.columns[op.targets[0]] for op in self.ops]
        return self.ops[int(np.searchsorted(starts, column, side="right")) - 1]

    def reads_slice(self, op: Op) -> bool:
        """Whether ``op``'s sources hold contiguous columns, so that one slice reads them all.

        Examples
        --------
        >>> import networkx as nx, nngraph
        >>> G = nx.DiGraph()
        >>> G.add_nodes_from(["x0", "x1"], role="input"); G.add_node("h", role="hidden")
        >>> G.add_node("y", role="output")
        >>> G.add_weighted_edges_from([("x0", "h", 1.0), ("x0", "y", 1.0), ("h", "y", 1.0)])
        >>> plan = nngraph.compile_network(G)
        >>> [plan.reads_slice(op) for op in plan.ops]  # y reads x0 and h: columns 0 and 2
        [True, False]
        """
        if not op.sources:
            return True
        return self.columns[op.sources[-1]] - self.columns[op.sources[0]] + 1 == len(op.sources)

    def _column(self, node: Hashable) -> int:
        try:
            return self.columns[node]
        except (KeyError, TypeError):
            raise NeuronNotFoundError(f"no neuron {node!r} in this plan") from None

    def explain(self, node: Hashable) -> str:
        """Say which op computes ``node``, from which neurons, with which weights.

        Examples
        --------
        >>> import nngraph, networkx as nx
        >>> G = nx.DiGraph()
        >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=0.5)
        >>> G.add_edge("x", "y", weight=2.0)
        >>> print(nngraph.compile_network(G).explain("y"))
        neuron 'y' (column 1) is computed by op 0 (dense, linear, level 1):
          weighted sum = 0.5 (bias)
                       + 2 * 'x'
          value = linear(weighted sum)
        """
        return explain_neuron(self, node)

    def to_networkx(self) -> nx.DiGraph:
        """The ops as a DAG: nodes ``"inputs"`` and each op index (attribute ``op``); an edge
        producer -> consumer carries ``neurons``, how many source neurons come from the producer.

        Examples
        --------
        >>> import nngraph
        >>> from nngraph.models import Sequential
        >>> from nngraph.layers import Dense
        >>> model = Sequential([Dense(units=2, input_shape=(3,)), Dense(units=1)], seed=0)
        >>> list(nngraph.compile_network(model.graph).to_networkx().edges(data="neurons"))
        [('inputs', 0, 3), (0, 1, 2)]
        """
        graph = nx.DiGraph()
        graph.add_node("inputs")
        producer = dict.fromkeys(self.inputs, "inputs")
        for op in self.ops:
            graph.add_node(op.index, op=op)
            for source_op, count in Counter(producer[source] for source in op.sources).items():
                graph.add_edge(source_op, op.index, neurons=count)
            producer.update(dict.fromkeys(op.targets, op.index))
        return graph

    def __str__(self) -> str:
        return plan_table(self)


def layout(inputs: Iterable[Hashable], blocks: Iterable[Iterable[Hashable]]) -> Mapping[Hashable, int]:
    """The column map of the layout above: inputs first, then each op's targets (``blocks``) in order.

    A neuron listed twice keeps its first column; ``check_plan`` reports the duplicate.

    Examples
    --------
    >>> dict(layout(["x0", "x1"], [("h0", "h1"), ("y",)]))
    {'x0': 0, 'x1': 1, 'h0': 2, 'h1': 3, 'y': 4}
    """
    columns: dict[Hashable, int] = {}
    for node in inputs:
        columns.setdefault(node, len(columns))
    for block in blocks:
        for node in block:
            columns.setdefault(node, len(columns))
    return MappingProxyType(columns)
