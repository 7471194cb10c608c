"""The IR: a ``Plan`` is the fused ops that compute a network, over one column layout.

A plan is plain, immutable data: numpy and scipy arrays, neuron names and numbers. It runs
nothing; ``nngraph.compile_network`` builds the program that runs it (``nngraph.compiler.codegen``)
and hands back both as a ``CompiledPlan`` (``nngraph.execute.compiled``). Ops run in order; an op
reads only inputs and earlier ops' targets. A plan pickles with the standard ``pickle``.

Op kinds
--------
Every op computes, for each of its targets ``t``, a weighted sum ``z[t]`` and a value
``a[t] = activation(z[t])`` (``softmax`` normalises over the op's targets, or over each of its
``groups``: equal runs of consecutive targets). A weighted-sum op may apply different element-wise
activations to runs of consecutive targets (``activations``: the neurons of one level, whatever
their activations, are then one product); every consumer reads them through
``op.activation_runs()``, which gives one run for an op of one activation. The kinds of op, by
what they compute (``op.operation``), each with its formula:

``"weighted_sum"`` (``FusedOp``)
    ``z[t] = bias[t] + sum over sources s of weights[s, t] * a[s]``, all targets at once:
    ``a[targets] = activation(a[sources] @ weights + bias)``. Its ``kind`` says how the weights
    are stored: ``"dense"`` (a numpy array, zeros where a source does not feed a target) or
    ``"sparse"`` (a ``scipy.sparse.csr_array`` of exactly the connections).

``"aggregate"`` (``AggregateOp``, kind ``"aggregate"``)
    The gather-and-reduce op, for neurons whose aggregation is not a sum
    (``nngraph.core.aggregations``): for each of its ``reductions``,
    ``z[t] = bias[t] + AGG(weights[t, k] * a[sources[rows[t, k]]] for k in terms)``, the terms of
    each target in the order of its predecessors.

``"shared"`` (``SharedOp``, kind ``"shared"``)
    One kernel at every position of a window, as a convolution applies it: targets are
    ``filters`` neurons at each of ``positions`` places, ``z[f * P + p] = bias[f * P + p] + sum
    over entries k of kernel[k, f] * a[sources[window[p, k]]]`` (an entry of -1 has no source).
    It stores the kernel once, not a ``(sources, targets)`` matrix that repeats it, and runs as
    one gather of the windows and one matrix product (``nngraph.compiler.share`` finds it).

Ops may share arrays: wherever the arrays of two ops are equal (the weights of a recurrent layer at
every time step), the plan holds one, which both reference (``nngraph.compiler.store``); the arrays
are read-only, so sharing changes nothing an op computes.

A new kind is one entry here (and in ``OPERATIONS``), one lowering (``nngraph.compiler.lower``),
one code template (``nngraph.compiler.products``, ``nngraph.compiler.aggregate``) and one check
(``nngraph.compiler.check``); the property tests compare it with the reference pass.

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
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
from scipy import sparse

from nngraph.core.activations import resolve_activation
from nngraph.core.structure import Column, LayerPositions
from nngraph.errors import NeuronNotFoundError
from nngraph.ir.text import explain_neuron, plan_table

WEIGHTED_SUM = "weighted_sum"
AGGREGATE = "aggregate"
SHARED = "shared"
OPERATIONS = (WEIGHTED_SUM, AGGREGATE, SHARED)  # the op kinds of the module doc, by what they compute
MIXED = "mixed"  # the ``activation`` of a FusedOp whose runs of targets have different activations
DENSE = "dense"
SPARSE = "sparse"
KINDS = (DENSE, SPARSE)  # the storage kinds of a FusedOp


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # what ``flags.writeable = False`` calls, at two thirds of its cost
    return array


class cached_attribute:
    """``functools.cached_property`` without its lock (Python 3.11 takes one on each first read,
    which costs more than most of what it caches, and is one lock for every instance of a class:
    one compiled plan's first call would wait for another's code to be written): the value is
    worked out on the first read and kept in the instance's ``__dict__``, which later reads find
    first. Where the work must run once, the work itself says so (``Program._part``'s lock)."""

    def __init__(self, work: Callable[[Any], Any]) -> None:
        self.work = work
        self.__doc__ = work.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.work(instance)
        return value


def _made(cls: type, **fields: Any) -> Any:
    """An instance of the frozen dataclass ``cls`` holding ``fields``, every one of its fields by
    name, made without its ``__init__``: that sets each field through ``object.__setattr__``, which
    for ``FusedOp``'s thirteen costs more than the rest of making a small op."""
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


class CSRArrays(NamedTuple):
    """Sparse weights as the CSR arrays of a ``csr_array`` in canonical form (each row's entries
    sorted by column, none twice), with its ``shape``: what a sparse ``FusedOp`` holds when its
    maker built the arrays itself (``lower_arrays``). The ``csr_array`` is made of them on the first
    read of ``op.weights``: scipy's constructor checks its arrays at a cost greater than the rest of
    lowering a small op, and compiling and running a plan read the arrays alone
    (``FusedOp.stored_weights``)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @property
    def dtype(self) -> np.dtype:
        """The weights' dtype."""
        return self.data.dtype

    def matrix(self) -> sparse.csr_array:
        """The ``csr_array`` of these arrays, read-only (scipy shares them, or copies a small view
        of a larger array)."""
        matrix = sparse.csr_array((self.data, self.indices, self.indptr), shape=self.shape)
        for part in (matrix.data, matrix.indices, matrix.indptr):
            _frozen(part)
        return matrix


class _Weights:
    """``FusedOp.weights``: a dataclass field whose value, for a sparse op given as ``CSRArrays``,
    becomes a ``csr_array`` on its first read (kept from then on); ``stored_weights`` reads the
    value as it is held."""

    def __get__(self, op: FusedOp | None, owner: type | None = None) -> np.ndarray | sparse.csr_array:
        if op is None:
            raise AttributeError("weights")  # the field has no default
        value = op.__dict__["_weights"]
        if type(value) is CSRArrays:
            value = op.__dict__["_weights"] = value.matrix()
        return value

    def __set__(self, op: FusedOp, value: np.ndarray | sparse.csr_array | CSRArrays) -> None:
        op.__dict__["_weights"] = value


class _Activated:
    """What every op kind shares about its activations: ``activation_runs``."""

    activation: str
    activations: tuple[tuple[str, int], ...] | None
    targets: tuple[Hashable, ...]

    def activation_runs(self) -> list[tuple[str, int, int]]:
        """Each run of targets of one activation: ``(canonical name, start, stop)``, positions in
        ``targets``, covering them in order; one run unless the op is mixed (``activations``).

        Examples
        --------
        >>> import numpy as np
        >>> op = fused_op(index=0, targets=["h", "g", "k"], sources=["x"], weights=np.ones((1, 3)),
        ...               bias=np.zeros(3), activations=[("relu", 2), ("tanh", 1)], level=1)
        >>> op.activation, op.activation_runs()
        ('mixed', [('relu', 0, 2), ('tanh', 2, 3)])
        """
        return list(self._runs)

    @cached_attribute
    def _runs(self) -> tuple[tuple[str, int, int], ...]:
        """``activation_runs``, worked out once: codegen and the cost model ask each op many times."""
        if self.activations is None:
            return ((self.activation, 0, len(self.targets)),)
        runs, start = [], 0
        for name, count in self.activations:
            runs.append((name, start, start + count))
            start += count
        return tuple(runs)

    def activation_counts(self) -> tuple[tuple[str, int], ...]:
        """Each run of targets of one activation as ``(canonical name, count)``: ``activations``, or
        the one run of an op that is not mixed (what ``fused_op(activations=...)`` takes)."""
        return self.activations or ((self.activation, len(self.targets)),)

    @property
    def group_wise(self) -> bool:
        """Whether the op's activation normalises over groups of targets (softmax, layer_norm);
        never for a mixed op, whose runs are element-wise."""
        return self.activations is None and resolve_activation(self.activation).group_wise

    def target_activations(self) -> list[str]:
        """Each target's activation, in target order."""
        return [name for name, start, stop in self.activation_runs() for _ in range(stop - start)]


@dataclass(frozen=True, eq=False, repr=False)
class FusedOp(_Activated):
    """One fused op: ``a[targets] = activation(a[sources] @ weights + bias)``.

    Fields
    ------
    index : position in ``plan.ops`` (the execution order).
    kind : ``"dense"`` (``weights`` is an ndarray) or ``"sparse"`` (a ``scipy.sparse.csr_array``,
        held as its ``CSRArrays`` until first read where lowering built them: see ``stored_weights``).
    targets : the neurons it computes, in column order.
    sources : the neurons it reads, in the row order of ``weights`` (sorted by column).
    weights : shape ``(len(sources), len(targets))``; zero where there is no connection. A sparse
        op stores exactly its connections, those of weight 0.0 included.
    bias : shape ``(len(targets),)``.
    activation : canonical activation name (``resolve_activation(...).name``); ``"mixed"`` (``MIXED``)
        when runs of targets have different activations, which is no activation name.
    activations : for a mixed op, the runs of consecutive targets of one element-wise activation,
        ``((canonical name, count), ...)`` in target order, two neighbours never the same name
        (never a group-wise activation); ``None`` for an op of one activation. Read both through
        ``activation_runs()``.
    nonzeros : nonzero weights; density : ``nonzeros / weights.size`` (1.0 when empty).
    level : the level its targets are scheduled at (longest path from the inputs).
    groups : for a group-wise activation (softmax, layer_norm), how many runs of consecutive targets,
        of one length, it normalises apart (several groups of one level merged into one op: the
        positions of a softmax or LayerNormalization over a feature map's channels); 1 otherwise.
    connected : for a dense op with padding (an entry that is no connection), a boolean array of the
        weights' shape, True at each connection; ``None`` when every entry is a connection, and
        always for a sparse op.

    Build one with ``fused_op``, which fills in ``nonzeros``, ``density`` and ``connected`` and
    freezes the arrays (or with ``assembled_op``, of fields already in that form).
    """

    index: int
    kind: str
    targets: tuple[Hashable, ...]
    sources: tuple[Hashable, ...]
    weights: np.ndarray | sparse.csr_array = _Weights()  # type: ignore[assignment]
    bias: np.ndarray = field(repr=False)
    activation: str
    nonzeros: int
    density: float
    level: int
    connected: np.ndarray | None = field(default=None, repr=False)
    groups: int = 1
    activations: tuple[tuple[str, int], ...] | None = None

    def __repr__(self) -> str:
        return (f"FusedOp(index={self.index}, kind={self.kind!r}, activation={self.activation!r}, "
                f"{len(self.sources)} sources -> {len(self.targets)} targets, level={self.level}, "
                f"nonzeros={self.nonzeros})")

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle, with the arrays read-only again (pickle does not keep the flag)."""
        self.__dict__.update(state)
        weights = self.stored_weights
        stored = (weights.data, weights.indices, weights.indptr) if self.kind == SPARSE else (weights,)
        for array in (*stored, self.bias, self.connected):
            if array is not None:
                _frozen(array)

    @property
    def operation(self) -> str:
        """What the op computes: ``"weighted_sum"`` (see the op kinds in the module doc)."""
        return WEIGHTED_SUM

    @property
    def stored_weights(self) -> np.ndarray | sparse.csr_array | CSRArrays:
        """The weights as held: a dense op's array; a sparse op's ``csr_array``, or its ``CSRArrays``
        while ``weights`` has not been read. Either gives ``data``, ``indices``, ``indptr``,
        ``shape`` and ``dtype``: what code that reads a sparse op's arrays reads, without making the
        ``csr_array``."""
        return self.__dict__["_weights"]

    @property
    def shape(self) -> tuple[int, int]:
        """The weight matrix's shape, ``(len(sources), len(targets))``."""
        return (len(self.sources), len(self.targets))

    def dense_weights(self) -> np.ndarray:
        """The weights as a dense array, whatever the kind (a copy for sparse ops)."""
        return self.weights.toarray() if self.kind == SPARSE else self.weights

    @cached_attribute
    def connections(self) -> int:
        """How many connections the op computes (``nonzeros`` plus any of weight 0.0); counted once."""
        if self.kind == SPARSE:
            return int(self.stored_weights.indptr[-1])
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
            mask = np.zeros(self.shape, dtype=bool)
            mask[self.connection_arrays()[:2]] = True
            return mask
        return np.ones(self.shape, dtype=bool) if self.connected is None else self.connected

    def connection_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The connections as (source row, target column, weight) arrays, row by row: what
        ``connection_matrix`` holds, in numpy calls rather than scipy's conversions (codegen and the
        native kernel read every op's connections this way)."""
        if self.kind == SPARSE:
            weights = self.stored_weights
            return np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr)), weights.indices, weights.data
        rows, cols = np.nonzero(self.connection_mask())
        return rows, cols, self.weights[rows, cols]

    def connection_matrix(self) -> sparse.coo_array:
        """The connections as a sparse matrix: one stored entry per connection, its weight the value
        (a connection of weight 0.0 is stored too)."""
        rows, cols, values = self.connection_arrays()
        return sparse.coo_array((values, (rows, cols)), shape=self.shape)


def fused_op(*, index: int, targets: Iterable[Hashable], sources: Iterable[Hashable],
             weights: np.ndarray | sparse.sparray | CSRArrays, bias: np.ndarray, level: int,
             activation: str | None = None,
             activations: Iterable[tuple[str, int]] | None = None, kind: str | None = None,
             connected: np.ndarray | None = None, groups: int = 1) -> FusedOp:
    """Return a ``FusedOp`` with its counts and connections filled in and its arrays read-only.

    Give either ``activation`` (one for all targets) or ``activations``, runs ``(name, count)`` over
    consecutive targets: neighbouring runs of one name are joined, and runs of a single name make
    an op of that activation (``activation`` is then that name, otherwise ``"mixed"``).

    ``kind`` defaults to the kind of ``weights``; given, the weights are converted to it. Sparse
    weights handed in as a canonical ``csr_array``, or as ``CSRArrays`` (canonical by their
    contract, not checked), become the op's own (and read-only).
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
        kind = SPARSE if sparse.issparse(weights) or isinstance(weights, CSRArrays) else DENSE
    if isinstance(weights, CSRArrays) and (kind != SPARSE or connected is not None):
        weights = weights.matrix()
    mask = None
    if kind == SPARSE:
        matrix = weights if isinstance(weights, CSRArrays) else _sparse_connections(weights, connected)
        for part in (matrix.data, matrix.indices, matrix.indptr):
            _frozen(part)
        nonzeros = int(np.count_nonzero(matrix.data))  # canonical: one entry per stored place
    else:
        matrix = _frozen(np.array(weights.toarray() if sparse.issparse(weights) else weights))
        nonzeros = int(np.count_nonzero(matrix))
        mask = _dense_connections(matrix, weights, connected, nonzeros)
    activation, runs = _activation_fields(activation, activations)
    return assembled_op(index=index, kind=kind, targets=tuple(targets), sources=tuple(sources), weights=matrix,
                        bias=_frozen(np.array(bias)), activation=activation, activations=runs,
                        nonzeros=nonzeros, level=level, connected=mask, groups=groups)


def assembled_op(*, index: int, kind: str, targets: tuple[Hashable, ...], sources: tuple[Hashable, ...],
                 weights: np.ndarray | sparse.csr_array | CSRArrays, bias: np.ndarray, activation: str,
                 activations: tuple[tuple[str, int], ...] | None, nonzeros: int, level: int,
                 connected: np.ndarray | None = None, groups: int = 1,
                 connections: int | None = None) -> FusedOp:
    """A ``FusedOp`` of fields already in their final form, as ``fused_op`` leaves them: read-only
    arrays (sparse weights canonical), runs of activations joined (``None`` for one activation),
    ``nonzeros`` counted, and ``connections`` where known (else counted on first read). Nothing is
    converted or checked: ``fused_op`` makes its ops with this, and ``lower_arrays`` works out these
    fields for all its ops at once, in a few numpy calls (``check_plan`` then checks them)."""
    size = weights.shape[0] * weights.shape[1]
    # ``_weights``: where the ``weights`` field keeps its value (``_Weights``)
    op = _made(FusedOp, index=index, kind=kind, targets=targets, sources=sources, _weights=weights,
               bias=bias, activation=activation, nonzeros=nonzeros,
               density=nonzeros / size if size else 1.0, level=level, connected=connected,
               groups=groups, activations=activations)
    if connections is not None:
        op.__dict__["connections"] = connections  # where the cached attribute keeps it
    return op


def _activation_fields(activation: str | None, activations: Iterable[tuple[str, int]] | None
                       ) -> tuple[str, tuple[tuple[str, int], ...] | None]:
    """``activation`` and ``activations`` of a ``FusedOp``: the runs joined where neighbours share a
    name, and ``None`` (with that name as ``activation``) when one name remains."""
    if activations is None:
        if activation is None:
            raise TypeError("fused_op needs activation or activations")
        return activation, None
    if activation is not None:
        raise TypeError("fused_op takes activation or activations, not both")
    runs: list[tuple[str, int]] = []
    for name, count in activations:
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + int(count))
        elif count:
            runs.append((name, int(count)))
    if not runs:
        raise ValueError("fused_op's activations cover no target")
    if len(runs) == 1:
        return runs[0][0], None
    return MIXED, tuple(runs)


def _sparse_connections(weights: np.ndarray | sparse.sparray,
                        connected: np.ndarray | None) -> sparse.csr_array:
    """CSR weights whose stored entries are exactly the connections, sorted. A ``csr_array``
    already in canonical form (sorted, no duplicates) is taken as it is, not copied."""
    if connected is None and isinstance(weights, sparse.csr_array) and weights.has_canonical_format:
        return weights
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
    """A boolean mask, True where a sparse matrix stores an entry (explicit zeros included); a CSR
    matrix's entries are read from its index arrays, with no conversion (scipy's costs more than
    the rest of lowering a small op)."""
    mask = np.zeros(weights.shape, dtype=bool)
    if weights.format == "csr":
        mask[np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr)), weights.indices] = True
    else:
        coo = weights.tocoo()
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
class AggregateOp(_Activated):
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
    operation = AGGREGATE
    padded = False  # every term is a connection
    connected = None
    activations = None  # one activation for all targets

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


@dataclass(frozen=True, eq=False, repr=False)
class SharedOp(_Activated):
    """The shared-weights op: ``z[f * P + p] = bias[f * P + p] + sum over entries k with
    window[p, k] >= 0 of kernel[k, f] * a[sources[window[p, k]]]``, then the activation.

    Its targets are ``filters`` neurons at each of ``positions`` places (a convolution's output
    positions); the neurons of one position read the same window of sources, and the neurons of
    one filter apply the same weights to it. So it stores one kernel, not a ``(sources, targets)``
    matrix that would repeat it at every position. Targets are ordered filter by filter, so that
    one matrix product writes them all.

    Fields
    ------
    index, targets, sources, bias, activation, level : as in ``FusedOp`` (sources sorted by
        column); targets filter by filter.
    window : ``(positions, entries)`` integers, rows into ``sources``; -1 where there is no source.
    kernel : ``(entries, filters)`` weights, shared by every position.

    It presents its connections as ``FusedOp`` does (``shape``, ``connections``, ``nonzeros``,
    ``density``, ``connection_matrix()``, ``dense_weights()``), so tables, explanations and
    diagrams read both alike. Build one with ``shared_op``.
    """

    index: int
    targets: tuple[Hashable, ...]
    sources: tuple[Hashable, ...]
    window: np.ndarray = field(repr=False)
    kernel: np.ndarray = field(repr=False)
    bias: np.ndarray = field(repr=False)
    activation: str
    level: int

    kind = SHARED
    operation = SHARED
    padded = False  # a window entry without a source reads a row of zeros, which is never NaN
    connected = None
    activations = None  # one activation for all targets (a shared kernel)

    def __repr__(self) -> str:
        return (f"SharedOp(index={self.index}, activation={self.activation!r}, kernel {self.entries}x"
                f"{self.filters} at {self.positions} positions, {len(self.sources)} sources, level={self.level})")

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle, with the arrays read-only again (pickle does not keep the flag)."""
        self.__dict__.update(state)
        for array in (self.window, self.kernel, self.bias):
            _frozen(array)

    @property
    def positions(self) -> int:
        """How many places the kernel is applied at."""
        return self.window.shape[0]

    @property
    def entries(self) -> int:
        """How many sources a window holds (rows of the kernel)."""
        return self.window.shape[1]

    @property
    def filters(self) -> int:
        """How many neurons each position computes (columns of the kernel)."""
        return self.kernel.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(sources), len(targets))``, the shape of its connection matrix."""
        return (len(self.sources), len(self.targets))

    @property
    def connections(self) -> int:
        """How many connections it computes: every source of a window feeds every filter there."""
        return int((self.window >= 0).sum()) * self.filters

    @property
    def nonzeros(self) -> int:
        """How many of its connections have a nonzero weight."""
        uses = (self.window >= 0).sum(axis=0)
        return int(uses @ np.count_nonzero(self.kernel, axis=1))

    @property
    def density(self) -> float:
        """``nonzeros`` over the size of its connection matrix (1.0 when empty)."""
        size = self.shape[0] * self.shape[1]
        return self.nonzeros / size if size else 1.0

    @property
    def parameters(self) -> int:
        """The numbers it stores: the kernel's (once, however many positions use it)."""
        return self.kernel.size

    def connection_matrix(self) -> sparse.coo_array:
        """The connections as a sparse ``(sources, targets)`` matrix, one stored entry each (a
        connection of weight 0.0 included).

        Examples
        --------
        >>> import numpy as np
        >>> op = shared_op(index=0, targets=["y0", "y1"], sources=["a", "b", "c"],
        ...                window=np.array([[0, 1], [1, 2]]), kernel=np.array([[2.0], [-1.0]]),
        ...                bias=np.zeros(2), activation="linear", level=1)
        >>> op.dense_weights().tolist()  # y0 = 2a - b, y1 = 2b - c
        [[2.0, 0.0], [-1.0, 2.0], [0.0, -1.0]]
        """
        position, entry = np.nonzero(self.window >= 0)
        rows = np.tile(self.window[position, entry], self.filters)
        cols = (np.arange(self.filters)[:, None] * self.positions + position[None, :]).reshape(-1)
        values = self.kernel[entry].T.reshape(-1)
        return sparse.coo_array((values, (rows, cols)), shape=self.shape)

    def connection_mask(self) -> np.ndarray:
        """A boolean ``(sources, targets)`` array, True at each connection."""
        return _stored_entries(self.connection_matrix())

    def dense_weights(self) -> np.ndarray:
        """The weights as a dense ``(sources, targets)`` array, zero where there is no connection."""
        return self.connection_matrix().toarray()


def shared_op(*, index: int, targets: Iterable[Hashable], sources: Iterable[Hashable], window: np.ndarray,
              kernel: np.ndarray, bias: np.ndarray, activation: str, level: int) -> SharedOp:
    """Return a ``SharedOp`` with its arrays copied and read-only (example at ``connection_matrix``)."""
    return SharedOp(index=index, targets=tuple(targets), sources=tuple(sources),
                    window=_frozen(np.array(window, dtype=np.int64)), kernel=_frozen(np.array(kernel)),
                    bias=_frozen(np.array(bias)), activation=activation, level=level)


Op = FusedOp | AggregateOp | SharedOp


@dataclass(frozen=True, eq=False, repr=False)
class Plan:
    """A network as fused ops over one column layout: the IR, data only.

    Immutable: compiling copies what it needs out of the graph, and the arrays are read-only.
    Make one with ``nngraph.compiler.build_plan(G)``; ``nngraph.compile_network(G)`` also
    generates the code that runs it (its ``.plan`` is this).

    Fields: ``ops`` (in execution order), ``inputs`` and ``outputs`` (neurons, in the order of
    the input features and output columns), ``dtype``, ``columns`` (neuron -> column, the layout
    above), ``groups`` (the display columns a ``Trace`` prints by), ``passes`` (the passes
    applied), ``layers`` (each layer's output positions, for ``trace.layer_values``), ``lowering``
    (how the compiler lowered it: ``"graph"`` or ``"arrays"``, see ``nngraph.compiler.costs``).

    Examples
    --------
    >>> import networkx as nx, pickle
    >>> from nngraph.compiler import build_plan
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x0", "x1"], role="input")
    >>> G.add_node("h", role="hidden", activation="relu"); G.add_node("y", role="output")
    >>> G.add_weighted_edges_from([("x0", "h", 1.0), ("x1", "h", -1.0), ("h", "y", 2.0), ("x0", "y", 0.5)])
    >>> plan = build_plan(G)
    >>> [(op.operation, op.targets, op.sources) for op in plan.ops]
    [('weighted_sum', ('h',), ('x0', 'x1')), ('weighted_sum', ('y',), ('x0', 'h'))]
    >>> pickle.loads(pickle.dumps(plan)).columns == plan.columns
    True
    """

    ops: tuple[Op, ...]
    inputs: tuple[Hashable, ...]
    outputs: tuple[Hashable, ...]
    dtype: np.dtype
    columns: Mapping[Hashable, int]
    groups: tuple[Column, ...] = field(repr=False)
    passes: tuple[str, ...] = ()
    layers: tuple[LayerPositions, ...] = field(default=(), repr=False)
    lowering: str = "graph"

    def __repr__(self) -> str:
        return (f"<Plan: {len(self.ops)} fused ops, {len(self.inputs)} inputs -> {len(self.outputs)} "
                f"outputs, {self.dtype}>")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["columns"] = dict(self.columns)  # a read-only view does not pickle; its dict does
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, columns=MappingProxyType(state["columns"]))

    @property
    def n_columns(self) -> int:
        """How many neurons (inputs included) the plan holds."""
        return len(self.columns)

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

    def _repr_html_(self) -> str:
        """Jupyter shows the network the plan computes as the interactive neuron view."""
        from nngraph.render.notebook import notebook_html

        return notebook_html(self)


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
