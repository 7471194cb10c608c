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

Memory stays proportional to the connections: no step holds a neurons-by-neurons array.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from nngraph.compiler.arrays import NetworkArrays, array_levels, distinct, ranges
from nngraph.compiler.costs import cheaper_kind_of
from nngraph.core.activations import resolve_activation
from nngraph.core.network import DEFAULT_AGGREGATION, HIDDEN, INPUT, OUTPUT
from nngraph.core.structure import Column
from nngraph.ir.plan import SPARSE, AggregateOp, CSRArrays, Op, Plan, Reduction, aggregate_op, fused_op


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
    order, op_starts, op_aggregates = _op_order(network, level)
    column = np.empty(n, dtype=np.int64)
    column[:n_inputs] = np.arange(n_inputs)
    column[order] = np.arange(n_inputs, n)
    by_column = network.nodes[np.concatenate([np.arange(n_inputs), order])]
    columns = MappingProxyType(dict(zip(by_column.tolist(), range(n))))
    with np.errstate(over="ignore"):  # in float32, a weight beyond range is inf, as in the reference
        weights = network.weights.astype(dtype)
        bias = network.bias[order].astype(dtype)
    ops = _ops(network, level, order, op_starts, op_aggregates, column, by_column, weights, bias, any_kind)
    if display is None:
        display = level_columns(network, own_levels(network, level))
    return Plan(ops=tuple(ops), inputs=tuple(by_column[:n_inputs].tolist()),
                outputs=tuple(network.nodes[network.outputs].tolist()), dtype=np.dtype(dtype),
                columns=columns, groups=tuple(display), lowering="arrays")


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


def _op_order(network: NetworkArrays, level: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    activation = network.activation[computed]
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


def _ops(network: NetworkArrays, level: np.ndarray, order: np.ndarray, op_starts: np.ndarray,
         op_aggregates: np.ndarray, column: np.ndarray, by_column: np.ndarray, weights: np.ndarray,
         bias: np.ndarray, any_kind: bool) -> list[Op]:
    """One op per run of ``order``, its CSR arrays cut from the connections sorted once by (op,
    source column, target column): every array is computed for all ops at once, then sliced."""
    n_inputs = network.n_inputs
    source_column = column[network.sources]
    target_column = column[network.targets]
    op_of = np.repeat(np.arange(len(op_starts) - 1), np.diff(op_starts))[target_column - n_inputs]
    n = network.n_neurons
    if n < 2**21:  # (op, source, target) as one int64 below n**3: one sort, twice as fast as lexsort;
        # a key per connection (one per source and target), so the order is the stable one without
        # a stable sort, which takes three times as long
        by_op = np.argsort((op_of * n + source_column) * n + target_column)
    else:
        by_op = np.lexsort((target_column, source_column, op_of))
    op_of, source_column = op_of[by_op], source_column[by_op]
    local_column = target_column[by_op] - n_inputs - op_starts[op_of]  # the target's place in its op
    index = np.int32 if len(by_op) < 2**31 else np.int64  # scipy's own choice, made once, not per op
    local_column = local_column.astype(index)
    sorted_weights = weights[by_op]
    # A new row of some op's weights wherever the op or the source changes.
    new_row = np.ones(len(by_op), dtype=bool)
    new_row[1:] = (op_of[1:] != op_of[:-1]) | (source_column[1:] != source_column[:-1])
    row_starts = np.append(np.flatnonzero(new_row), len(by_op)).astype(index)  # all ops' rows, one CSR
    row_sources = source_column[new_row]
    first_row = np.searchsorted(op_of[new_row], np.arange(len(op_starts)))
    first_level = level[order[op_starts[:-1]]].tolist()
    runs = _activation_runs(network, order, op_starts)
    # What each op takes, as Python lists made once for all ops and sliced or read per op (numpy
    # calls per op cost more than the rest of lowering a small op): names, and per op its bounds of
    # targets, rows and connections, and whether its sources are contiguous columns
    # (Plan.reads_slice: no sources, or one run of columns).
    bounds, rows, entries = op_starts.tolist(), first_row.tolist(), row_starts[first_row].tolist()
    target_names, source_names = by_column[n_inputs:].tolist(), by_column[row_sources].tolist()
    n_rows = np.diff(first_row)
    has_rows = n_rows > 0
    spans = np.zeros(len(n_rows), dtype=np.int64)
    spans[has_rows] = row_sources[first_row[1:][has_rows] - 1] - row_sources[first_row[:-1][has_rows]] + 1
    contiguous = (~has_rows | (spans == n_rows)).tolist()
    ops: list[Op] = []
    for index, aggregates in enumerate(op_aggregates.tolist()):
        if aggregates:
            ops.append(_aggregate_op(network, index, level, order, op_starts, column, by_column, weights,
                                     bias))
            continue
        start, stop, top, end = bounds[index], bounds[index + 1], rows[index], rows[index + 1]
        first, last, reads_slice = entries[index], entries[index + 1], contiguous[index]
        shape = (end - top, stop - start)
        indptr = row_starts[top:end + 1] - first
        fully_connected = last - first == shape[0] * shape[1]
        kind = SPARSE
        if any_kind or reads_slice and fully_connected:  # the kind choose_kinds gives it, chosen now
            kind = cheaper_kind_of(*shape, connections=last - first, reads_slice=reads_slice)
        connected = None
        if kind == SPARSE:
            # The op's CSR arrays as built here, canonical (rows by source, each row's entries by
            # target column): scipy's csr_array is made of them when ``op.weights`` is first read.
            matrix = CSRArrays(sorted_weights[first:last], local_column[first:last], indptr, shape)
        else:  # written dense at once, its connections marked (a weight of 0.0 stays a connection)
            matrix = np.zeros(shape, dtype=sorted_weights.dtype)
            places = (np.repeat(np.arange(shape[0]), np.diff(indptr)), local_column[first:last])
            matrix[places] = sorted_weights[first:last]
            connected = np.ones(shape, dtype=bool) if fully_connected else np.zeros(shape, dtype=bool)
            if not fully_connected:
                connected[places] = True
        ops.append(fused_op(index=index, targets=target_names[start:stop], sources=source_names[top:end],
                            weights=matrix, bias=bias[start:stop], activations=runs[index],
                            level=first_level[index], kind=kind, connected=connected))
    return ops


def _activation_runs(network: NetworkArrays, order: np.ndarray,
                     op_starts: np.ndarray) -> list[list[tuple[str, int]]]:
    """Each op's runs of targets of one activation, ``(name, count)`` in target order."""
    codes = network.activation[order]
    new_run = np.zeros(len(codes) + 1, dtype=bool)  # where a run starts (an op or an activation), and the end
    new_run[op_starts] = True
    new_run[1:-1] |= codes[1:] != codes[:-1]
    cuts = np.flatnonzero(new_run)
    names = list(map(network.activations.__getitem__, codes[cuts[:-1]].tolist()))
    counts = np.diff(cuts).tolist()
    firsts = (np.cumsum(new_run)[op_starts] - 1).tolist()  # each op's first run
    return [list(zip(names[low:high], counts[low:high])) for low, high in zip(firsts[:-1], firsts[1:])]


def _aggregate_op(network: NetworkArrays, index: int, level: np.ndarray, order: np.ndarray,
                  op_starts: np.ndarray, column: np.ndarray, by_column: np.ndarray, weights: np.ndarray,
                  bias: np.ndarray) -> AggregateOp:
    """The ``AggregateOp`` of op ``index``: one reduction per run of its targets that aggregate alike
    with as many terms, each target's terms in the order of its connections."""
    n_inputs = network.n_inputs
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
    order = n_inputs + np.argsort(level[n_inputs:], kind="stable")  # by level, each in the network's order
    levels = level[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(levels)) + 1])  # each level's first place
    codes = network.activation[order]
    is_output = np.zeros(network.n_neurons, dtype=bool)
    is_output[network.outputs] = True
    # Per level, in a few numpy calls: one activation (lowest code = highest) or several; all outputs.
    # Read as lists: a numpy scalar per level and field costs more than the rest of a level's column.
    lowest, highest = np.minimum.reduceat(codes, starts).tolist(), np.maximum.reduceat(codes, starts).tolist()
    outputs_only = np.logical_and.reduceat(is_output[order], starts).tolist()
    names, numbers = network.nodes[order].tolist(), levels[starts].tolist()
    bounds = starts.tolist() + [len(order)]
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        activation = network.activations[lowest[k]] if lowest[k] == highest[k] else "mixed"
        result.append(Column(f"level {numbers[k]}", OUTPUT if outputs_only[k] else HIDDEN,
                             tuple(names[start:stop]), activation, numbers[k]))
    return result
