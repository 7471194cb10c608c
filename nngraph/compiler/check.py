"""The plan lint: every invariant of the IR, checked after lowering and after each pass.

A failed check raises ``CompileError`` naming the op and the neurons at fault. Checked, in
order:

1. inputs hold columns ``0 .. n_inputs - 1`` in input order;
2. each op sits at its own index, computes a known operation, has a known kind and activation,
   targets at least one neuron, and splits them into ``groups`` of one size (only a group-wise
   activation has more than one); a mixed op's activation runs are canonical, element-wise,
   distinct from their neighbours and cover its targets;
3. every computed neuron of the network is computed by exactly one op, and no op computes an input;
4. the neuron <-> column map is a bijection onto ``0 .. n_columns - 1``, each op's targets taking
   the next contiguous columns in order;
5. sources are known neurons, sorted by column without repeats, computed by an earlier op of a
   lower level (so ops of one level never read each other);
6. weights are ``(len(sources), len(targets))`` and bias ``(len(targets),)``, in the plan's dtype,
   stored as the kind says, with ``nonzeros`` and ``density`` matching them; ``connected`` is
   ``None`` or, for a dense op only, a boolean mask of the weights' shape with at least one
   entry that is no connection, and every such entry a zero weight; for an aggregate op, its
   reductions cover its targets in order, each with a known aggregation, rows and weights of one
   ``(targets, terms)`` shape (weights in the plan's dtype), no target reading a source twice,
   and every source read;
7. every output is computed by some op.

Checks 1 to 6 run for the whole plan at once (``_laid_out``: the column map compared as lists;
``_headers_hold``: each distinct kind and activation once; ``_sources_hold``: a few numpy calls;
``_arrays_hold``: each field of all ops as lists), where op by op they cost more than the rest of
the check of a small op; only when one finds a fault does it run op by op, to name the op and
neurons.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from itertools import accumulate, chain, repeat
from operator import attrgetter, eq, truediv
from types import MappingProxyType

import numpy as np
from scipy import sparse

from nngraph.core.activations import resolve_activation
from nngraph.core.aggregations import known_aggregations
from nngraph.errors import CompileError, UnknownActivationError
from nngraph.ir.plan import (AGGREGATE, DENSE, KINDS, MIXED, OPERATIONS, SHARED, SPARSE, AggregateOp,
                             CSRArrays, FusedOp, Op, Plan, SharedOp)


def check_plan(plan: Plan, *, stage: str = "lowering") -> None:
    """Raise ``CompileError`` if ``plan`` breaks an IR invariant; ``stage`` names the step before.

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output")
    >>> G.add_edge("x", "y", weight=1.0)
    >>> check_plan(nngraph.compile_network(G))  # passes silently
    """
    where = f"after {stage}: "
    targets = list(chain.from_iterable(map(_TARGETS, plan.ops)))
    columns = _plain(plan.columns)
    laid_out = _laid_out(plan, columns, targets)
    if not laid_out:
        _check_inputs(plan, where)
    # Each check for the whole plan at once; op by op only where one finds a fault, to name it.
    holds = (_headers_hold(plan), laid_out or _targets_hold(plan, targets, columns), _sources_hold(plan, columns),
             _arrays_hold(plan, where))
    if all(holds):
        next_column = len(plan.inputs) + len(targets)
    else:
        next_column = _check_op_by_op(plan, holds, set(plan.inputs), where)
    if len(plan.columns) != next_column:
        computed, input_set = set(targets), set(plan.inputs)
        extra = [node for node in plan.columns if node not in computed and node not in input_set]
        raise CompileError(f"{where}the column map holds {len(plan.columns)} neurons, but the inputs and "
                           f"ops hold {next_column}; not computed: {extra[:5]!r}", nodes=extra)
    _check_coverage(plan, columns, where)


def _check_op_by_op(plan: Plan, holds: tuple[bool, bool, bool, bool], input_set: set[Hashable],
                    where: str) -> int:
    """The checks of each op in turn, but those ``holds`` says passed for the whole plan (header,
    targets, sources, arrays): the first fault raises. Returns the next column after the ops'
    targets."""
    headers_hold, targets_hold, sources_hold, arrays_hold = holds
    computed_by: dict[Hashable, int] = {}
    # The level of each column computed so far (-1: not yet); an op's targets hold the next columns.
    level_of = np.full(len(plan.columns), -1, dtype=np.int64)
    level_of[: len(plan.inputs)] = 0
    next_column = len(plan.inputs)
    for position, op in enumerate(plan.ops):
        if not headers_hold:
            _check_header(op, position, where)
        if not targets_hold:
            _check_targets(plan, op, computed_by, input_set, next_column, where)
        if not sources_hold:
            _check_sources(plan, op, level_of, where)
        if not arrays_hold:
            _check_arrays(plan, op, where)
        level_of[next_column:next_column + len(op.targets)] = op.level
        next_column += len(op.targets)
    return next_column


def _fail(where: str, op: Op, message: str, nodes: tuple = ()) -> CompileError:
    return CompileError(f"{where}op {op.index}: {message}", op=op.index, nodes=nodes)


def _check_inputs(plan: Plan, where: str) -> None:
    if list(map(plan.columns.get, plan.inputs)) == list(range(len(plan.inputs))):
        return
    for index, node in enumerate(plan.inputs):
        if plan.columns.get(node) != index:
            raise CompileError(f"{where}input {node!r} should hold column {index}, "
                               f"holds {plan.columns.get(node)!r}", nodes=(node,))


# Readers of one field of each op of a plan, mapped over them at C level.
_TARGETS, _SOURCES, _LEVEL = (attrgetter(name) for name in ("targets", "sources", "level"))
_NODES = attrgetter("nodes")
_STORED, _SHAPE = attrgetter("stored_weights"), attrgetter("shape")

# The kinds an op of each type may have (a FusedOp: any of ``KINDS``).
_KINDS_OF = {AggregateOp: (AGGREGATE,), SharedOp: (SHARED,)}


def _check_header(op: Op, position: int, where: str) -> None:
    if op.index != position:
        raise _fail(where, op, f"sits at position {position} of the plan but says index {op.index}")
    if op.operation not in OPERATIONS:
        raise _fail(where, op, f"computes {op.operation!r}, no known operation; expected one of "
                    f"{', '.join(OPERATIONS)}")
    expected = _KINDS_OF.get(type(op), KINDS)
    if op.kind not in expected:
        raise _fail(where, op, f"unknown kind {op.kind!r} for a {type(op).__name__}; expected one of "
                    f"{', '.join(KINDS)} for a FusedOp, {AGGREGATE!r} for an AggregateOp, {SHARED!r} for "
                    "a SharedOp")
    if not op.targets:
        raise _fail(where, op, "computes no neuron")
    if op.activations is not None and any(type(run) is not tuple or len(run) != 2 for run in op.activations):
        raise _fail(where, op, f"activation runs {op.activations!r}: each must be a pair (name, count)")
    runs = op.activation_runs()
    for name, _, _ in runs:
        try:
            canonical = resolve_activation(name).name
        except UnknownActivationError as error:
            raise _fail(where, op, str(error), op.targets) from None
        if canonical != name:
            raise _fail(where, op, f"activation {name!r} is not canonical (expected {canonical!r})",
                        op.targets)
    mixed = op.activations is not None
    if mixed:
        _check_runs(op, runs, where)
    groups = getattr(op, "groups", 1)
    if type(groups) is not int or groups < 1 or len(op.targets) % groups or (
            groups > 1 and not op.group_wise):
        raise _fail(where, op, f"groups={groups!r} must be a whole number of at least 1 dividing its "
                    f"{len(op.targets)} targets, and 1 unless its activation is group-wise")


def _headers_hold(plan: Plan) -> bool:
    """Whether every op passes ``_check_header``, tested for the whole plan at once: each distinct
    (type, operation, kind), activation name and ``groups`` once, not once per op (the header's
    checks op by op cost more than the rest of the check of a small op). False sends
    ``check_plan`` op by op, to name the fault."""
    ops = plan.ops
    if [op.index for op in ops] != list(range(len(ops))) or not all([op.targets for op in ops]):
        return False
    for op_type, operation, kind in {(type(op), op.operation, op.kind) for op in ops}:
        if operation not in OPERATIONS or kind not in _KINDS_OF.get(op_type, KINDS):
            return False
    if any(type(group) is not int or group != 1 for group in [getattr(op, "groups", 1) for op in ops]):
        return False  # some op normalises over groups, or says so oddly (unhashably, even): op by op
    mixed = [op for op in ops if op.activations is not None]
    runs = [op.activations for op in mixed]  # each mixed op's (name, count) pairs
    flat = list(chain.from_iterable(runs))
    if any(type(run) is not tuple or len(run) != 2 for run in flat):
        return False  # a run that is no (name, count) pair: op by op
    run_names, counts = zip(*flat) if flat else ((), ())
    names = {op.activation for op in ops if op.activations is None}.union(run_names)
    try:
        activations = {name: resolve_activation(name) for name in names}
    except UnknownActivationError:
        return False
    if any(activation.name != name for name, activation in activations.items()):
        return False
    return not mixed or _runs_hold(mixed, runs, run_names, counts, activations)


def _runs_hold(mixed: list[FusedOp], runs: list[tuple[tuple[str, int], ...]], run_names: tuple[str, ...],
               counts: tuple[int, ...], activations: Mapping[str, object]) -> bool:
    """Whether every mixed op's runs pass ``_check_runs``, for all of them at once: ``runs`` their
    ``activations``, ``run_names`` and ``counts`` the names and counts of all runs in order,
    ``activations`` each name resolved. The counts of every op add up to its targets when their
    running total reaches the running total of the targets at the end of each op's runs; two equal
    neighbours are allowed only across ops."""
    ends = list(accumulate(map(len, runs)))
    if ({op.activation for op in mixed} != {MIXED} or min(map(len, runs)) < 2 or set(map(type, counts)) != {int}
            or min(counts) <= 0
            or any(activations[name].group_wise for name in set(run_names))):
        return False
    total = list(accumulate(counts, initial=0))
    if list(map(total.__getitem__, ends)) != list(accumulate([len(op.targets) for op in mixed])):
        return False
    across = sum(map(eq, [op_runs[-1][0] for op_runs in runs[:-1]], [op_runs[0][0] for op_runs in runs[1:]]))
    return sum(map(eq, run_names, run_names[1:])) == across


def _check_runs(op: FusedOp, runs: list[tuple[str, int, int]], where: str) -> None:
    """A mixed op's runs: ``activation`` says ``"mixed"``, at least two runs of positive length cover
    the targets, neighbours differ, and none is group-wise (those normalise over a whole op)."""
    if op.activation != MIXED:
        raise _fail(where, op, f"has activation runs but says activation {op.activation!r}; a mixed op "
                    f"says {MIXED!r}")
    if any(type(count) is not int for _, count in op.activations):
        raise _fail(where, op, f"activation runs {op.activations!r}: each count must be a whole number (int)")
    if len(runs) < 2 or runs[-1][2] != len(op.targets) or any(stop <= start for _, start, stop in runs):
        raise _fail(where, op, f"activation runs {op.activations!r} must be at least two runs of "
                    f"positive length covering its {len(op.targets)} targets")
    for (name, start, stop), (after, _, _) in zip(runs, runs[1:]):
        if name == after:
            raise _fail(where, op, f"neighbouring activation runs both {name!r}: join them",
                        op.targets[start:stop])
    for name, start, stop in runs:
        if resolve_activation(name).group_wise:
            raise _fail(where, op, f"a run of group-wise activation {name!r} in a mixed op; a group-wise "
                        "activation normalises over an op of its own", op.targets[start:stop])


def _plain(columns: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """``columns`` as a plain dict, for the whole-plan tests' lookups: a lookup through a read-only
    view (as plans hold their columns) costs about twice one in its dict, which one C call copies."""
    if type(columns) is dict:
        return columns
    copied = columns.copy() if isinstance(columns, MappingProxyType) else None
    return copied if type(copied) is dict else dict(columns)


def _laid_out(plan: Plan, columns: dict[Hashable, int], targets: list[Hashable]) -> bool:
    """Whether ``columns`` (``plan.columns`` as a plain dict) holds exactly the inputs and then
    ``targets`` (every op's, in order), in that order, on columns ``0, 1, ...``: what both lowerings
    make, and all that checks 1, 3 and 4 ask, told by comparing lists, without a lookup per neuron
    (a neuron listed twice would be one key of the map). False: the map may still be right in
    another order, which ``_check_inputs`` and ``_targets_hold`` tell."""
    keys = list(columns)
    n_inputs = len(plan.inputs)
    return (len(keys) == n_inputs + len(targets) and keys[n_inputs:] == targets
            and keys[:n_inputs] == list(plan.inputs) and list(columns.values()) == list(range(len(keys))))


def _targets_hold(plan: Plan, targets: list[Hashable], columns: dict[Hashable, int] | None = None) -> bool:
    """Whether every op passes ``_check_targets``, tested for the whole plan at once (``targets``:
    every op's, in order): they hold the columns after the inputs', one each, in order. That says
    it all, the inputs holding the first columns (``_check_inputs``): a neuron listed twice, or an
    input among them, would hold a column out of that order. False sends ``check_plan`` op by op.
    ``columns``: ``plan.columns`` as a plain dict (``_plain``), if the caller has it."""
    columns = _plain(plan.columns) if columns is None else columns
    start = len(plan.inputs)
    return list(map(columns.get, targets)) == list(range(start, start + len(targets)))


def _check_targets(plan: Plan, op: Op, computed_by: dict[Hashable, int],
                   input_set: set[Hashable], start: int, where: str) -> None:
    targets = op.targets
    # One pass of C-level set and map calls when all is well (a plan of 100,000 neurons is checked
    # after each pass); the loop below finds and names the first fault otherwise.
    if (computed_by.keys().isdisjoint(targets) and input_set.isdisjoint(targets)
            and len(set(targets)) == len(targets)
            and list(map(plan.columns.get, targets)) == list(range(start, start + len(targets)))):
        computed_by.update(dict.fromkeys(targets, op.index))
        return
    for offset, node in enumerate(targets):
        if node in computed_by:
            raise _fail(where, op, f"computes {node!r}, which op {computed_by[node]} computes already",
                        (node,))
        if node in input_set:
            raise _fail(where, op, f"computes {node!r}, which is an input", (node,))
        computed_by[node] = op.index
        if plan.columns.get(node) != start + offset:
            raise _fail(where, op, f"target {node!r} should hold column {start + offset} (the op's "
                        f"targets are contiguous), holds {plan.columns.get(node)!r}", (node,))


def _sources_hold(plan: Plan, columns: dict[Hashable, int] | None = None) -> bool:
    """Whether every op's sources pass ``_check_sources``, in a few numpy calls for the whole plan
    (each op's own numpy calls cost more than the rest of the check of a small op). Each column's
    level is the one ``check_plan`` gives it, the level of the op whose targets take it by position;
    a source must be known, on a column before the op's first (computed earlier), of a level of at
    least 0 and below the op's, and sorted by column without repeats. False sends ``check_plan``
    op by op, to name the fault (as do, to keep this simple, an op of a level below 0, which op by
    op reads as not yet computed, so that a reader of its targets is named, and more targets than
    columns, which check 4 names: no plan the compiler makes). ``columns``:
    ``plan.columns`` as a plain dict, if the caller has it."""
    columns = _plain(plan.columns) if columns is None else columns
    ops = plan.ops
    n, n_inputs = len(columns), len(plan.inputs)
    sources = list(map(_SOURCES, ops))
    counts = list(map(len, sources))
    widths = list(map(len, map(_TARGETS, ops)))
    # Per op, in rows (the inputs first, as an op of level 0 of no sources): its first column, its
    # level and its offset, (n + 1) per op, which makes the sources of all ops one rising sequence
    # exactly when each op's do (every column read being below n).
    starts = list(accumulate(widths, initial=n_inputs))
    if starts[-1] > n:
        return False
    try:
        per_op = np.array(((0, *starts[:-1]), (0, *map(_LEVEL, ops)), range(0, (len(ops) + 1) * (n + 1), n + 1)),
                          dtype=np.int64)
        # A neuron the map does not hold reads as None, which no int64 is.
        read = np.fromiter(map(columns.get, chain.from_iterable(sources)), dtype=np.int64, count=sum(counts))
    except (TypeError, ValueError, OverflowError):  # an unknown source, or a level that is no int64
        return False
    if np.count_nonzero(per_op[1] < 0):
        return False
    # Each column's level: the inputs' 0, then each op's over its targets (every source column
    # read lies below the last op's targets, if it lies below its op's first).
    level_of = per_op[1].repeat([n_inputs, *widths])
    start, level, offset = per_op.repeat([0, *counts], axis=1)
    # Known and computed before the op (a column below 0 is above any as unsigned), on a lower level.
    before = read.view(np.uint64) < start.view(np.uint64)
    if np.count_nonzero(before) != len(read) or np.count_nonzero(level_of[read] < level) != len(read):
        return False
    read += offset
    return np.count_nonzero(read[1:] <= read[:-1]) == 0


def _check_sources(plan: Plan, op: Op, level_of: np.ndarray, where: str) -> None:
    """Sources known, computed before ``op`` (``level_of``: each column's level, -1 if not yet) on a
    lower level, and sorted by column without repeats: a few numpy calls per op."""
    columns = np.fromiter(map(plan.columns.get, op.sources, repeat(-1)), dtype=np.int64, count=len(op.sources))
    known = (columns >= 0) & (columns < len(level_of))
    levels = np.where(known, level_of[np.where(known, columns, 0)], -1)
    if not known.all() or np.any(levels < 0):
        missing = [node for node, level in zip(op.sources, levels.tolist()) if level < 0]
        late = [node for node in missing if node in plan.columns]
        what = "reads neurons not computed before it" if late else "reads unknown neurons"
        raise _fail(where, op, f"{what}: {missing[:5]!r}", tuple(missing))
    if columns.size and np.any(np.diff(columns) <= 0):
        raise _fail(where, op, "sources are not sorted by column, or repeat one", op.sources)
    if np.any(levels >= op.level):
        deep = [(node, level) for node, level in zip(op.sources, levels.tolist()) if level >= op.level]
        raise _fail(where, op, f"on level {op.level} reads {[node for node, _ in deep][:5]!r} from level "
                    f"{deep[0][1]}; an op may read only lower levels", tuple(node for node, _ in deep))


def _arrays_hold(plan: Plan, where: str) -> bool:
    """Whether every op passes ``_check_arrays``, tested for the whole plan at once where ops are
    weighted sums (their kinds, shapes, dtypes, nonzeros and density, as lists and sets compared at
    once: op by op, these checks cost more than the rest of the check of a small op); the masks of
    padded ops and the arrays of other ops are checked each. False sends ``check_plan`` op by op, to
    name the fault."""
    fused = [op for op in plan.ops if type(op) is FusedOp]
    kinds = [op.kind for op in fused]
    stored = list(map(_STORED, fused))
    # Each distinct (kind, type of weights) once; canonical CSR arrays hold one value per place.
    for (kind, _), weights in dict(zip(zip(kinds, map(type, stored)), stored)).items():
        if kind != _stored_kind(weights):
            return False
    if SPARSE in kinds and not all(_canonical(weights) for kind, weights in zip(kinds, stored)
                                   if kind == SPARSE and type(weights) is not CSRArrays):
        return False
    # The numbers each op holds: a dense op's weights, a sparse op's stored values (one per place).
    numbers = [weights.data if kind == SPARSE else weights for kind, weights in zip(kinds, stored)]
    biases = [op.bias for op in fused]
    widths = [len(op.targets) for op in fused]
    shapes = list(zip([len(op.sources) for op in fused], widths))
    if (list(map(_SHAPE, stored)) != shapes or list(map(_SHAPE, biases)) != list(zip(widths))
            or {array.dtype for array in chain(numbers, biases)} - {plan.dtype}):
        return False
    if not _nonzeros_hold(fused, numbers, [rows * cols for rows, cols in shapes]):
        return False
    try:
        for op in plan.ops:
            if type(op) is not FusedOp:
                _check_arrays(plan, op, where)
            elif op.connected is not None:
                _check_connected(op, where)
    except CompileError:
        return False
    return True


def _nonzeros_hold(fused: list[FusedOp], numbers: list[np.ndarray], sizes: list[int]) -> bool:
    """Whether each op of ``fused`` says the ``nonzeros`` its ``numbers`` hold, and the ``density``
    they make in its ``sizes`` places."""
    stated = [op.nonzeros for op in fused]
    if list(map(np.count_nonzero, numbers)) != stated:
        return False
    densities = [op.density for op in fused]
    if 0 not in sizes and densities == list(map(truediv, stated, sizes)):
        return True  # as ``fused_op`` works them out; otherwise within rounding
    return not _densities_differ(stated, sizes, densities)


def _stored_kind(weights: object) -> str:
    """The kind of op that stores ``weights`` so (sparse: CSR arrays or a scipy matrix)."""
    return SPARSE if sparse.issparse(weights) or isinstance(weights, CSRArrays) else DENSE


def _canonical(weights: sparse.sparray | CSRArrays) -> bool:
    """Whether sparse weights hold one value per place (``CSRArrays`` do by their contract)."""
    return isinstance(weights, CSRArrays) or weights.format == "csr" and weights.has_canonical_format


def _check_arrays(plan: Plan, op: Op, where: str) -> None:
    if isinstance(op, AggregateOp):
        _check_reductions(plan, op, where)
        return
    if isinstance(op, SharedOp):
        _check_shared(plan, op, where)
        return
    weights, bias = op.stored_weights, op.bias  # a sparse op's CSR arrays, not made into a csr_array
    if op.kind != _stored_kind(weights):
        raise _fail(where, op, f"is marked {op.kind!r} but stores {type(weights).__name__} weights")
    if weights.shape != op.shape:
        raise _fail(where, op, f"weights have shape {weights.shape}, expected {op.shape} "
                    "(sources x targets)", op.targets)
    if bias.shape != (len(op.targets),):
        raise _fail(where, op, f"bias has shape {bias.shape}, expected ({len(op.targets)},)", op.targets)
    for name, array in (("weights", weights), ("bias", bias)):
        if array.dtype != plan.dtype:
            raise _fail(where, op, f"{name} are {array.dtype}, the plan computes in {plan.dtype}")
    _check_connected(op, where)
    # Canonical CSR arrays (as ``fused_op`` stores) hold one value per place: they are counted as they are.
    nonzeros = int(np.count_nonzero(weights) if op.kind == DENSE else np.count_nonzero(weights.data)
                   if _canonical(weights) else weights.count_nonzero())
    size = op.shape[0] * op.shape[1]
    if nonzeros != op.nonzeros or _densities_differ([nonzeros], [size], [op.density]):
        raise _fail(where, op, f"says {op.nonzeros} nonzeros (density {op.density}); its weights have "
                    f"{nonzeros} (density {_density(nonzeros, size)})")


def _density(nonzeros: int, size: int) -> float:
    """The density of ``nonzeros`` connections in ``size`` places (1 for no places)."""
    return nonzeros / size if size else 1.0


def _densities_differ(nonzeros: list[int], sizes: list[int], stated: list[float]) -> bool:
    """Whether some op's ``stated`` density is not that of its ``nonzeros`` in its ``sizes`` places
    (within rounding of the true one; a NaN or infinite density differs); lists over ops, so the
    whole plan's ops are tested in one loop."""
    return any(not abs(true - density) <= 1e-12 * true
               for true, density in zip(map(_density, nonzeros, sizes), stated))


def _check_reductions(plan: Plan, op: AggregateOp, where: str) -> None:
    if op.bias.shape != (len(op.targets),) or op.bias.dtype != plan.dtype:
        raise _fail(where, op, f"bias must be ({len(op.targets)},) of {plan.dtype}, got {op.bias.shape} of "
                    f"{op.bias.dtype}", op.targets)
    start = 0
    read = np.zeros(len(op.sources), dtype=bool)
    for reduction in op.reductions:
        rows, weights = reduction.rows, reduction.weights
        what = f"reduction of targets from {reduction.start}"
        if reduction.start != start:
            raise _fail(where, op, f"{what} should start at target {start}: reductions cover the targets in order")
        if reduction.aggregation not in known_aggregations():
            raise _fail(where, op, f"{what}: unknown aggregation {reduction.aggregation!r}")
        if rows.ndim != 2 or not len(rows) or weights.shape != rows.shape or rows.dtype.kind not in "iu":
            raise _fail(where, op, f"{what}: rows and weights must be integer and float arrays of one "
                        f"(targets, terms) shape, got {rows.shape} and {weights.shape}")
        if weights.dtype != plan.dtype:
            raise _fail(where, op, f"{what}: weights are {weights.dtype}, the plan computes in {plan.dtype}")
        if rows.size and (rows.min() < 0 or rows.max() >= len(op.sources)):
            raise _fail(where, op, f"{what}: a row is outside the op's {len(op.sources)} sources")
        ordered = np.sort(rows, axis=1)
        if np.any(ordered[:, 1:] == ordered[:, :-1]):
            raise _fail(where, op, f"{what}: a target reads one source twice")
        read[rows.ravel()] = True
        start += len(rows)
    if start != len(op.targets):
        raise _fail(where, op, f"reductions cover {start} targets of {len(op.targets)}", op.targets)
    if not read.all():
        unread = [node for node, used in zip(op.sources, read) if not used]
        raise _fail(where, op, f"reads no term from its sources {unread[:5]!r}", tuple(unread))


def _check_shared(plan: Plan, op: SharedOp, where: str) -> None:
    window, kernel, bias = op.window, op.kernel, op.bias
    if window.ndim != 2 or kernel.ndim != 2 or window.shape[1] != kernel.shape[0]:
        raise _fail(where, op, f"window {window.shape} and kernel {kernel.shape} do not fit: expected "
                    "(positions, entries) and (entries, filters)")
    if window.shape[0] * kernel.shape[1] != len(op.targets):
        raise _fail(where, op, f"computes {len(op.targets)} neurons, but {window.shape[0]} positions of "
                    f"{kernel.shape[1]} filters make {window.shape[0] * kernel.shape[1]}")
    if bias.shape != (len(op.targets),):
        raise _fail(where, op, f"bias has shape {bias.shape}, expected ({len(op.targets)},)")
    for name, array in (("kernel", kernel), ("bias", bias)):
        if array.dtype != plan.dtype:
            raise _fail(where, op, f"{name} is {array.dtype}, the plan computes in {plan.dtype}")
    n_sources = len(op.sources)
    if window.dtype.kind != "i" or window.size and (window.min() < -1 or window.max() >= n_sources):
        raise _fail(where, op, f"window rows must be -1 or rows of its {n_sources} sources")
    rows = np.sort(window, axis=1)
    if np.any((rows[:, 1:] == rows[:, :-1]) & (rows[:, 1:] >= 0)):
        raise _fail(where, op, "a window reads one source twice")
    if len(np.unique(window[window >= 0])) != n_sources:
        raise _fail(where, op, "some source is in no window; sources must be what the windows read")


def _check_connected(op: FusedOp, where: str) -> None:
    mask = op.connected
    if mask is None:
        return
    if op.kind == SPARSE:
        raise _fail(where, op, "is sparse but has a connected mask; its stored entries are its connections")
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.shape != op.shape:
        raise _fail(where, op, f"connected must be a boolean array of shape {op.shape}")
    # Counted, which costs less than numpy's all() and any() on small arrays.
    if np.count_nonzero(mask) == mask.size:
        raise _fail(where, op, "connected marks every entry; it should be None (no padding)")
    if np.count_nonzero(op.weights[~mask]):
        raise _fail(where, op, "has a nonzero weight where connected says there is no connection")


def _check_coverage(plan: Plan, columns: dict[Hashable, int], where: str) -> None:
    """Every neuron of the network computed by an op, unless an input, and every output computed.
    Run once the column map is known to hold exactly the inputs, on their columns, and the ops'
    targets, on the columns after theirs: a neuron is computed if and only if the map holds it on
    a column past the inputs'. ``columns``: ``plan.columns`` as a plain dict."""
    # One pass of C-level lookups when all is well; the neurons in order to name a fault.
    if not all(map(columns.__contains__, chain.from_iterable(map(_NODES, plan.groups)))):
        input_set = set(plan.inputs)
        missing = [node for group in plan.groups for node in group.nodes
                   if node not in input_set and node not in columns]
        raise CompileError(f"{where}no op computes {missing[:5]!r}", nodes=tuple(missing))
    n_inputs = len(plan.inputs)
    absent = [node for node in plan.outputs if columns.get(node, -1) < n_inputs]
    if absent:
        raise CompileError(f"{where}no op computes the outputs {absent[:5]!r}", nodes=tuple(absent))
