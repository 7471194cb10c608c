"""Lowering from arrays: a network held as ``NetworkArrays`` becomes a ``Plan`` in numpy calls.

The graph path (schedule -> groups -> lower) reads a networkx graph neuron by neuron. This path
builds the same kind of plan from the arrays of ``nngraph.compiler.arrays`` with a few numpy calls
per level and per op: its cost grows with the connections, in numpy, never with a Python step per
neuron or connection. Many networks side by side (a population, ``nngraph.population``) are one
such network, so a whole generation of genomes compiles at once.

1. **Levels** (``array_levels``): a neuron's level is the longest path from the inputs, as
   ``nngraph.core.structure.levels`` says; the neurons of a group-wise layer (softmax) move as one
   unit and share a level, as ``nngraph.compiler.schedule`` does.
2. **Groups**: the summing neurons of one level with element-wise activations form one op, across
   every network they come from, its targets ordered by activation so that each activation applies
   to one run of them (a mixed op, ``FusedOp.activations``); a group-wise activation has one op per
   layer: what the ``merge_levels`` pass makes of the graph path's groups. Neurons that do not sum
   form ops of their own, as ``nngraph.compiler.groups`` says. Ops are ordered by level, then by
   their first neuron; in an op, each activation's neurons keep their order, and the runs follow one
   another in the order of their first neuron. The column layout is ``nngraph.ir.plan``'s.
3. **Ops**: the connections, sorted once by (op, source column, target column), are cut into one
   sparse (CSR) weighted-sum op per group, with exactly its connections stored; a fully connected
   op that reads one slice of columns is made dense where the cost model (``nngraph.compiler.costs``)
   finds it cheaper. Other ops stay sparse: dense, a partly connected op (or gathering ops sharing
   one product) multiplies padding, and codegen then writes the plan's code twice (the exact pass of
   ``nngraph.compiler.codegen``), which costs more than the faster product saves when the plan
   serves one generation of genomes. With ``any_kind=True`` (``build_plan``, whose passes include
   ``choose_kinds``), every op takes the kind the cost model finds cheaper, as that pass would
   choose it; the pass then finds nothing to change. Neurons that do not sum become
   ``AggregateOp``s, one reduction per run of targets that aggregate alike with as many terms, each
   target's terms in the order of its connections.

Steps 2 and 3 up to the making of each op find a ``Layout`` (``nngraph.compiler.lower_kernel``):
in some sixty numpy calls, or, for a plain network (every neuron sums, none group-wise) once
nngraph has had numba compile in the process, in one loop compiled by numba, its twin.

Memory stays proportional to the connections: no step holds a neurons-by-neurons array.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from nngraph.compiler.arrays import NetworkArrays, array_levels, distinct, ranges
from nngraph.compiler.costs import cheaper_kind_of
from nngraph.compiler.lower_kernel import Layout, compiled_layout, compiled_levels_in_order
from nngraph.compiler.native import numba_in_use
from nngraph.core.activations import resolve_activation
from nngraph.core.network import DEFAULT_AGGREGATION, HIDDEN, INPUT, OUTPUT
from nngraph.core.structure import Column
from nngraph.ir.plan import (MIXED, SPARSE, AggregateOp, CSRArrays, Op, Plan, Reduction,
                             aggregate_op, assembled_op)


def lower_arrays(network: NetworkArrays, *, dtype: np.dtype, level: np.ndarray | None = None,
                 display: Sequence[Column] | None = None, any_kind: bool = False) -> Plan:
    """Return the plan of ``network``: one sparse op per level (see the module doc).

    ``level`` may pass in ``array_levels`` of the network when the caller has it (every entry must
    be at least 0: no cycle). ``display`` are the trace's columns; by default one per level.
    ``any_kind``: each op dense or sparse as the cost model finds cheaper (``choose_kinds``' rule).

    Examples
    --------
    >>> from nngraph.compiler.arrays import NetworkArrays, object_array
    >>> network = NetworkArrays(
    ...     nodes=object_array(["x", "h", "g", "y"]), n_inputs=1, outputs=np.array([3]),
    ...     sources=np.array([0, 0, 1, 2]), targets=np.array([1, 2, 3, 3]),
    ...     weights=np.array([2.0, -1.0, 1.0, 0.5]), bias=np.zeros(4),
    ...     activation=np.array([-1, 0, 0, 1]), activations=("relu", "linear"))
    >>> plan = lower_arrays(network, dtype=np.dtype("float64"))
    >>> [(op.targets, op.sources, op.activation) for op in plan.ops]
    [(('h', 'g'), ('x',), 'relu'), (('y',), ('h', 'g'), 'linear')]
    """
    n, n_inputs = network.n_neurons, network.n_inputs
    if level is None:
        level = array_levels(n, n_inputs, network.sources, network.targets, unit=units(network))
    with np.errstate(over="ignore"):  # in float32, a weight beyond range is inf, as in the reference
        weights, all_bias = network.weights.astype(dtype), network.bias.astype(dtype)
    layout, op_aggregates = _layout(network, level, weights)
    order = layout.order
    by_column = network.nodes[np.concatenate([np.arange(n_inputs), order])]
    columns = MappingProxyType(dict(zip(by_column.tolist(), range(n))))
    bias = all_bias[order]  # a fresh array, in column order
    ops = _ops(network, level, layout, op_aggregates, by_column, weights, bias, any_kind)
    if display is None:
        display = level_columns(network, own_levels(network, level))
    return Plan(ops=tuple(ops), inputs=tuple(by_column[:n_inputs].tolist()),
                outputs=tuple(network.nodes[network.outputs].tolist()), dtype=np.dtype(dtype),
                columns=columns, groups=tuple(display), lowering="arrays")


def _layout(network: NetworkArrays, level: np.ndarray, weights: np.ndarray) -> tuple[Layout, np.ndarray | None]:
    """The network's ``Layout``, and whether each op aggregates (``None``: no op does). A plain
    network (every neuron sums, none group-wise) takes numba's loop (``nngraph.compiler.lower_kernel``)
    once nngraph has had numba compile in the process, else the numpy calls of ``_op_order`` and
    ``_cut``."""
    canonical = _canonical_codes(network.activations)
    plain = (network.aggregation is None and network.layer is None and network.n_neurons < 2**21
             and not any(resolve_activation(name).group_wise for name in network.activations))
    if plain and len(weights) < 2**31 and numba_in_use():
        kernel = compiled_layout()
        if kernel is not None:
            return Layout(*kernel(network.n_inputs, network.sources, network.targets, level,
                                  canonical[network.activation], weights)), None
    order, op_starts, op_aggregates = _op_order(network, level, canonical)
    return _cut(network, order, op_starts, weights, canonical), op_aggregates if op_aggregates.any() else None


def _canonical_codes(names: Sequence[str]) -> np.ndarray:
    """For each activation code, the first code of its name (codes of one name become one), and -1
    at the end, for the inputs' code -1."""
    first: dict[str, int] = {}
    return np.array([first.setdefault(name, code) for code, name in enumerate(names)] + [-1], dtype=np.int64)


def units(network: NetworkArrays) -> np.ndarray | None:
    """Each neuron's unit (see ``array_levels``): the first neuron of its group-wise layer, or itself;
    ``None`` when every neuron is its own.

    Examples
    --------
    >>> from nngraph.compiler.arrays import NetworkArrays, object_array
    >>> network = NetworkArrays(
    ...     nodes=object_array(["x", "a", "b"]), n_inputs=1, outputs=np.array([1, 2]),
    ...     sources=np.array([0, 0]), targets=np.array([1, 2]), weights=np.ones(2), bias=np.zeros(3),
    ...     activation=np.array([-1, 0, 0]), activations=("softmax",), layer=np.array([-1, 0, 0]))
    >>> units(network).tolist()
    [0, 1, 1]
    """
    if network.layer is None or not np.any(network.layer >= 0):
        return None
    unit = np.arange(network.n_neurons)
    members = np.flatnonzero(network.layer >= 0)
    _, first = np.unique(network.layer[members], return_index=True)
    representative = dict(zip(network.layer[members[first]].tolist(), members[first].tolist()))
    unit[members] = [representative[layer] for layer in network.layer[members].tolist()]
    return unit


def _op_order(network: NetworkArrays, level: np.ndarray,
              canonical: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The computed neurons in column order, where each op's targets start in it (plus the end), and
    whether each op aggregates (otherwise than by a sum alone).

    An op is a run of neurons sharing (level, layer, aggregates, and the activation for those that
    aggregate or whose activation is group-wise), its neurons in runs of one activation (each in
    neuron order, runs in the order of their first neuron); ops are ordered by level, then by their
    first neuron. Neurons that do not sum form their own op (a group-wise layer with one such member
    aggregates as a whole); in it, those that aggregate alike with as many connections sit together,
    in order of first appearance, as ``nngraph.compiler.groups`` says.
    """
    n_inputs = network.n_inputs
    computed = np.arange(n_inputs, network.n_neurons)
    layer = np.full(len(computed), -1) if network.layer is None else network.layer[computed]
    aggregates = ~network.summed()[computed]
    any_aggregates = bool(aggregates.any())
    if any_aggregates and network.layer is not None:
        grouped = layer >= 0
        layer_aggregates = np.zeros(int(layer.max()) + 1, dtype=bool)
        np.logical_or.at(layer_aggregates, layer[grouped], aggregates[grouped])
        aggregates[grouped] = layer_aggregates[layer[grouped]]
    activation = canonical[network.activation[computed]]  # one code per name (_canonical_codes)
    group_wise = np.array([resolve_activation(name).group_wise for name in network.activations] + [False])
    # Summing neurons of element-wise activations share their level's op, whatever the activation;
    # aggregating and group-wise ones keep one op per activation (and layer).
    apart = aggregates | group_wise[activation]
    # The keys (level, activation where apart, layer, aggregates), leaving out those known to be the
    # same for every neuron (no neuron apart, no layers, no aggregates), which order nothing and
    # start no run: most networks have no layer.
    keys = [level[computed]] + [key for key, varies in (
        (np.where(apart, activation, -1), apart.any()), (layer, network.layer is not None),
        (aggregates, any_aggregates)) if varies]
    by_key = np.lexsort([computed, activation] + keys[::-1])
    sorted_keys = [key[by_key] for key in keys]
    sorted_activation = activation[by_key]
    new_run = np.ones(len(computed), dtype=bool)
    new_run[1:] = sorted_keys[0][1:] != sorted_keys[0][:-1]
    for key in sorted_keys[1:]:
        new_run[1:] |= key[1:] != key[:-1]
    # Within an op, a part per activation, parts ordered by their first neuron (as merge_levels
    # orders the graph path's ops of one level); ops ordered by level, then by their first neuron.
    new_part = new_run.copy()
    new_part[1:] |= sorted_activation[1:] != sorted_activation[:-1]
    part_starts = np.flatnonzero(new_part)
    part_counts = np.diff(np.append(part_starts, len(computed)))
    part_first = computed[by_key][part_starts]
    part_op = np.cumsum(new_run)[part_starts] - 1
    op_parts = np.flatnonzero(new_run[part_starts])
    op_first = np.minimum.reduceat(part_first, op_parts) if len(op_parts) else part_first
    run_starts = np.flatnonzero(new_run)
    parts = np.lexsort((part_first, op_first[part_op], sorted_keys[0][run_starts][part_op]))
    order = computed[by_key][ranges(part_starts[parts], part_counts[parts])]
    op_of_part = part_op[parts]
    first_part = np.ones(len(parts), dtype=bool)
    first_part[1:] = op_of_part[1:] != op_of_part[:-1]
    op_order = op_of_part[first_part]
    run_counts = np.diff(np.append(run_starts, len(computed)))
    op_starts = np.concatenate([[0], np.cumsum(run_counts[op_order])])
    op_aggregates = aggregates[by_key][run_starts[op_order]]
    if any_aggregates:
        order = _by_reduction(network, order, op_starts, op_aggregates)
    return order, op_starts, op_aggregates


def _by_reduction(network: NetworkArrays, order: np.ndarray, op_starts: np.ndarray,
                  op_aggregates: np.ndarray) -> np.ndarray:
    """``order`` with the targets of each aggregating op regrouped: those of one aggregation and one
    number of connections together, each such run where its first member was (a stable sort)."""
    op_of = np.repeat(np.arange(len(op_aggregates)), np.diff(op_starts))
    indegree = np.bincount(network.targets, minlength=network.n_neurons)[order]
    aggregation = network.aggregation[order] if network.aggregation is not None else np.zeros(len(order))
    position = np.arange(len(order))
    keyed = np.lexsort((position, indegree, aggregation, op_of))
    new_key = np.ones(len(order), dtype=bool)
    keys = [key[keyed] for key in (op_of, aggregation, indegree)]
    new_key[1:] = np.any([key[1:] != key[:-1] for key in keys], axis=0)
    first_place = np.empty(len(order), dtype=np.int64)
    first_place[keyed] = position[keyed][np.flatnonzero(new_key)][np.cumsum(new_key) - 1]
    first_place[~op_aggregates[op_of]] = position[~op_aggregates[op_of]]  # other ops keep their order
    return order[np.lexsort((position, first_place, op_of))]


def _cut(network: NetworkArrays, order: np.ndarray, op_starts: np.ndarray, weights: np.ndarray,
         canonical: np.ndarray) -> Layout:
    """The ``Layout`` of ``order`` cut into the ops ``op_starts`` says, in numpy calls: the
    connections sorted once by (op, source column, target column), every array and figure worked out
    for all ops at once (numpy calls per op cost more than the rest of lowering a small op)."""
    n_inputs, n = network.n_inputs, network.n_neurons
    column = np.empty(n, dtype=np.int64)
    column[:n_inputs] = np.arange(n_inputs)
    column[order] = np.arange(n_inputs, n)
    source_column = column[network.sources]
    target_column = column[network.targets]
    op_of = np.searchsorted(op_starts, target_column - n_inputs, side="right") - 1
    if n < 2**21:  # (op, source, target) as one int64 below n**3: one sort, twice as fast as lexsort;
        # a key per connection (one per source and target), so the order is the stable one without
        # a stable sort, which takes three times as long
        by_op = np.argsort((op_of * n + source_column) * n + target_column)
    else:
        by_op = np.lexsort((target_column, source_column, op_of))
    op_of, source_column = op_of[by_op], source_column[by_op]
    index = np.int32 if len(by_op) < 2**31 else np.int64  # scipy's own choice, made once, not per op
    local_column = (target_column[by_op] - n_inputs - op_starts[op_of]).astype(index)  # place in its op
    sorted_weights = weights[by_op]
    # A new row of some op's weights wherever the op or the source changes.
    new_row = np.ones(len(by_op), dtype=bool)
    new_row[1:] = (op_of[1:] != op_of[:-1]) | (source_column[1:] != source_column[:-1])
    row_starts = np.append(np.flatnonzero(new_row), len(by_op))  # all ops' rows, one CSR
    row_sources = source_column[new_row]
    first_row = np.searchsorted(op_of[new_row], np.arange(len(op_starts)))
    entries = row_starts[first_row]
    n_rows = np.diff(first_row)
    entry_rows = np.cumsum(new_row) - 1 - first_row[op_of]
    offsets = np.zeros(len(n_rows) + 1, dtype=np.int64)
    np.cumsum(n_rows + 1, out=offsets[1:])
    indptrs = (row_starts[ranges(first_row[:-1], n_rows + 1)] - np.repeat(entries[:-1], n_rows + 1)).astype(index)
    nonzero_before = np.zeros(len(by_op) + 1, dtype=np.int64)
    np.cumsum(sorted_weights != 0, out=nonzero_before[1:])
    has_rows = n_rows > 0
    spans = np.zeros(len(n_rows), dtype=np.int64)
    spans[has_rows] = row_sources[first_row[1:][has_rows] - 1] - row_sources[first_row[:-1][has_rows]] + 1
    # Runs of one activation: where an op starts or the activation changes, and the end.
    codes = canonical[network.activation[order]]
    new_run = np.zeros(len(codes) + 1, dtype=bool)
    new_run[op_starts] = True
    new_run[1:-1] |= codes[1:] != codes[:-1]
    cuts = np.flatnonzero(new_run)
    return Layout(order=order, column=column, op_starts=op_starts, local_column=local_column,
                  entry_rows=entry_rows, sorted_weights=sorted_weights,
                  row_sources=row_sources, first_row=first_row, entries=entries, indptrs=indptrs,
                  offsets=offsets, nonzeros=nonzero_before[entries[1:]] - nonzero_before[entries[:-1]],
                  reads_slice=~has_rows | (spans == n_rows), run_codes=codes[cuts[:-1]],
                  run_counts=np.diff(cuts), op_first_run=np.cumsum(new_run)[op_starts] - 1)


def _ops(network: NetworkArrays, level: np.ndarray, layout: Layout, op_aggregates: np.ndarray | None,
         by_column: np.ndarray, weights: np.ndarray, bias: np.ndarray, any_kind: bool) -> list[Op]:
    """One op per run of ``layout.order``, each a slice of the layout's arrays (made read-only once)
    or, where ``op_aggregates`` says, an ``AggregateOp``."""
    n_inputs = network.n_inputs
    order, op_starts = layout.order, layout.op_starts
    sorted_weights, local_column, entry_rows, indptrs = (layout.sorted_weights, layout.local_column,
                                                         layout.entry_rows, layout.indptrs)
    for array in (sorted_weights, local_column, indptrs, bias):
        array.setflags(write=False)
    # Per op, as Python lists made once and read or sliced per op: bounds, names, runs, levels.
    bounds, rows, firsts, places = (op_starts.tolist(), layout.first_row.tolist(), layout.entries.tolist(),
                                    layout.offsets.tolist())
    nonzeros, contiguous = layout.nonzeros.tolist(), layout.reads_slice.tolist()
    target_names = tuple(by_column[n_inputs:].tolist())
    source_names = tuple(by_column[layout.row_sources].tolist())
    activations = _op_activations(network.activations, layout)
    first_level = level[order[op_starts[:-1]]].tolist()
    aggregating = [False] * len(activations) if op_aggregates is None else op_aggregates.tolist()
    ops: list[Op] = []
    for index, aggregates in enumerate(aggregating):
        if aggregates:
            ops.append(_aggregate_op(network, index, level, layout, by_column, weights, bias))
            continue
        start, stop, top, end, first, last = (bounds[index], bounds[index + 1], rows[index], rows[index + 1],
                                              firsts[index], firsts[index + 1])
        shape = (end - top, stop - start)
        fully_connected = last - first == shape[0] * shape[1]
        kind, connected = SPARSE, None
        # The kind choose_kinds gives it, chosen now: for every op with ``any_kind``, else where it
        # reads a slice and is fully connected (the rest stay sparse, as the module doc says).
        if any_kind or contiguous[index] and fully_connected:
            kind = cheaper_kind_of(*shape, connections=last - first, reads_slice=contiguous[index])
        if kind == SPARSE:
            # The op's CSR arrays as built here, canonical (rows by source, each row's entries by
            # target column): scipy's csr_array is made of them when ``op.weights`` is first read.
            matrix = CSRArrays(sorted_weights[first:last], local_column[first:last],
                               indptrs[places[index]:places[index + 1]], shape)
        else:  # written dense at once, its connections marked (a weight of 0.0 stays a connection)
            places_of = (entry_rows[first:last], local_column[first:last])
            matrix = np.zeros(shape, dtype=sorted_weights.dtype)
            matrix[places_of] = sorted_weights[first:last]
            matrix.setflags(write=False)
            if not fully_connected:
                connected = np.zeros(shape, dtype=bool)
                connected[places_of] = True
                connected.setflags(write=False)
        activation, runs = activations[index]
        ops.append(assembled_op(index=index, kind=kind, targets=target_names[start:stop],
                                sources=source_names[top:end], weights=matrix, bias=bias[start:stop],
                                activation=activation, activations=runs, nonzeros=nonzeros[index],
                                level=first_level[index], connected=connected, connections=last - first))
    return ops


def _op_activations(names: Sequence[str],
                    layout: Layout) -> list[tuple[str, tuple[tuple[str, int], ...] | None]]:
    """Each op's ``activation`` and ``activations`` as ``FusedOp`` holds them, from the layout's runs
    (neighbours of one name are never two runs): its one name and no runs, or ``"mixed"`` and the
    runs ``(name, count)`` in target order."""
    run_names = list(map(names.__getitem__, layout.run_codes.tolist()))
    counts, firsts = layout.run_counts.tolist(), layout.op_first_run.tolist()
    return [(run_names[low], None) if high - low == 1 else (MIXED, tuple(zip(run_names[low:high], counts[low:high])))
            for low, high in zip(firsts[:-1], firsts[1:])]


def _aggregate_op(network: NetworkArrays, index: int, level: np.ndarray, layout: Layout,
                  by_column: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> AggregateOp:
    """The ``AggregateOp`` of op ``index``: one reduction per run of its targets that aggregate alike
    with as many terms, each target's terms in the order of its connections."""
    n_inputs, order, op_starts, column = network.n_inputs, layout.order, layout.op_starts, layout.column
    start, stop = int(op_starts[index]), int(op_starts[index + 1])
    targets = order[start:stop]
    place = np.full(network.n_neurons, -1, dtype=np.int64)
    place[targets] = np.arange(stop - start)
    mine = np.flatnonzero(place[network.targets] >= 0)
    mine = mine[np.argsort(place[network.targets[mine]], kind="stable")]  # by target, in their order
    source_columns = column[network.sources[mine]]
    sources = distinct(source_columns)
    rows = np.searchsorted(sources, source_columns)
    terms = np.bincount(place[network.targets[mine]], minlength=stop - start)
    names = network.aggregations if network.aggregation is not None else (DEFAULT_AGGREGATION,)
    codes = network.aggregation[targets] if network.aggregation is not None else np.zeros(stop - start, int)
    new_run = np.ones(stop - start, dtype=bool)
    new_run[1:] = (codes[1:] != codes[:-1]) | (terms[1:] != terms[:-1])
    starts = np.append(np.flatnonzero(new_run), stop - start)
    offsets = np.concatenate([[0], np.cumsum(terms)])
    reductions = []
    for first, last in zip(starts[:-1].tolist(), starts[1:].tolist()):
        shape = (last - first, int(terms[first]))
        span = slice(int(offsets[first]), int(offsets[last]))
        reductions.append(Reduction(names[codes[first]], first, rows[span].reshape(shape),
                                    weights[mine[span]].reshape(shape)))
    neuron = targets[0]
    return aggregate_op(index=index, targets=by_column[n_inputs + start:n_inputs + stop].tolist(),
                        sources=by_column[sources].tolist(), bias=bias[start:stop],
                        activation=network.activations[network.activation[neuron]], level=int(level[neuron]),
                        reductions=reductions)


def own_levels(network: NetworkArrays, level: np.ndarray) -> np.ndarray:
    """Each neuron's level as ``nngraph.levels`` gives it, from the lowering's ``level``
    (``array_levels`` with ``units``): a group-wise layer's members each on its own level again,
    where the lowering moved them to one. What the trace's columns show."""
    if units(network) is None:
        return level
    return array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets)


def level_columns(network: NetworkArrays, level: np.ndarray) -> list[Column]:
    """The trace's columns, as ``nngraph.core.structure.columns`` makes them for a graph whose
    neurons name no layer: the inputs, then one column per level, its neurons in the network's
    order (so that a plan's trace table reads as the reference's, whichever path lowered it).
    ``level``: each neuron's level as ``nngraph.levels`` says (``own_levels``)."""
    n_inputs = network.n_inputs
    result = [Column("input", INPUT, tuple(network.nodes[:n_inputs].tolist()), None, 0)]
    if network.n_neurons == n_inputs:
        return result
    is_output = np.zeros(network.n_neurons, dtype=bool)
    is_output[network.outputs] = True
    codes = _canonical_codes(network.activations)[network.activation]  # one code per name
    kernel = compiled_levels_in_order() if numba_in_use() else None  # as _layout chooses
    if kernel is not None:  # numba's counting sort, the twin of the calls below (keep them in step)
        order, bounds, lowest, highest, outputs_only = kernel(n_inputs, level, codes, is_output)
    else:
        order = n_inputs + np.argsort(level[n_inputs:], kind="stable")  # by level, each in the network's order
        levels = level[order]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(levels)) + 1])  # each level's first place
        codes = codes[order]
        # Per level, in a few numpy calls: one activation (lowest code = highest) or several; all outputs.
        lowest, highest = np.minimum.reduceat(codes, starts), np.maximum.reduceat(codes, starts)
        outputs_only = np.logical_and.reduceat(is_output[order], starts)
        bounds = np.append(starts, len(order))
    # Read as lists: a numpy scalar per level and field costs more than the rest of a level's column.
    names, numbers = network.nodes[order].tolist(), level[order[bounds[:-1]]].tolist()
    lowest, highest, outputs_only, bounds = lowest.tolist(), highest.tolist(), outputs_only.tolist(), bounds.tolist()
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        activation = network.activations[lowest[k]] if lowest[k] == highest[k] else "mixed"
        result.append(Column(f"level {numbers[k]}", OUTPUT if outputs_only[k] else HIDDEN,
                             tuple(names[start:stop]), activation, numbers[k]))
    return result
