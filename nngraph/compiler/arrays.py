"""Lowering from arrays: a network held as flat numpy arrays becomes a ``Plan`` in numpy calls.

The graph path (schedule -> groups -> lower) reads a networkx graph neuron by neuron. This path
takes the network as arrays, one entry per connection (source, target, weight) and one per neuron
(bias, activation), and builds the same kind of plan with a few numpy calls per level and per op:
its cost grows with the connections, in numpy, never with a Python step per neuron or connection.
Many networks side by side (a population, ``nngraph.population``) are one such network, so a whole
generation of genomes compiles at once.

1. **Levels** (``array_levels``): Kahn's algorithm over the connection arrays, one frontier at a time;
   a neuron's level is the longest path from the inputs, as ``nngraph.core.structure.levels`` says.
   The neurons of a group-wise layer (softmax) move as one unit and share a level, as
   ``nngraph.compiler.schedule`` does.
2. **Groups**: the computed neurons of one level and one activation form one op (one per layer for
   a group-wise activation), across every network they come from: what the ``merge_levels`` pass
   makes of the graph path's groups. Ops are ordered by level, then by their first neuron; an op's
   targets keep the neurons' order. The column layout is ``nngraph.ir.plan``'s.
3. **Ops**: the connections, sorted once by (op, source column, target column), are cut into one
   sparse (CSR) weighted-sum op per group, with exactly its connections stored; a fully connected
   op that reads one slice of columns is made dense where the cost model (``nngraph.compiler.costs``)
   finds it cheaper. Other ops stay sparse: dense, a partly connected op (or gathering ops sharing
   one product) multiplies padding, and codegen then writes the plan's code twice (the exact pass of
   ``nngraph.compiler.codegen``), which costs more than the faster product saves when the plan
   serves one generation of genomes.

Memory stays proportional to the connections: no step holds a neurons-by-neurons array.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import networkx as nx
import numpy as np
from scipy import sparse

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, DEFAULT_ACTIVATION, DEFAULT_AGGREGATION,
                                  DEFAULT_BIAS, HIDDEN, INPUT, LAYER, OUTPUT, ROLE, WEIGHT, inputs, outputs)
from nngraph.core.structure import Column
from nngraph.compiler.costs import cheaper_kind
from nngraph.ir.plan import DENSE, SPARSE, Plan, Reduction, aggregate_op, fused_op


@dataclass(frozen=True, eq=False)
class NetworkArrays:
    """A network as flat arrays: what ``lower_arrays`` compiles.

    Fields
    ------
    nodes : object array of the neuron ids; the first ``n_inputs`` are the inputs, in input order.
        Neuron ``i`` of every other field is ``nodes[i]``.
    n_inputs : how many inputs.
    outputs : int array, the output neurons (indices into ``nodes``) in output order.
    sources, targets, weights : one entry per connection ``sources[k] -> targets[k]``.
    bias : float array, one per neuron (ignored for inputs).
    activation : int array, one per neuron: an index into ``activations`` (ignored for inputs).
    activations : canonical activation names (``resolve_activation(...).name``).
    layer : for neurons with a group-wise activation (softmax), an int naming the layer they are
        normalised over (-1 elsewhere); ``None`` when there is none.
    aggregation : int array, one per neuron: an index into ``aggregations``; ``None`` when every
        neuron sums. A neuron's connections keep their order in the connection arrays: it is the
        order of its terms (which decides ``maxabs`` between terms of equal magnitude).
    aggregations : aggregation names (``nngraph.core.aggregations``).
    """

    nodes: np.ndarray
    n_inputs: int
    outputs: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    activation: np.ndarray
    activations: tuple[str, ...]
    layer: np.ndarray | None = None
    aggregation: np.ndarray | None = None
    aggregations: tuple[str, ...] = ()

    @property
    def n_neurons(self) -> int:
        """How many neurons, inputs included."""
        return len(self.nodes)

    def summed(self) -> np.ndarray:
        """Whether each neuron's aggregation is a sum (a boolean array)."""
        if self.aggregation is None:
            return np.ones(self.n_neurons, dtype=bool)
        codes = np.array([name == DEFAULT_AGGREGATION for name in self.aggregations] + [True])
        return codes[self.aggregation]  # code -1 (an input) reads the last entry


def object_array(items: Sequence[Hashable]) -> np.ndarray:
    """A 1-d object array of ``items``, tuples kept whole (``np.array`` would make them rows).

    Examples
    --------
    >>> object_array([("a", 0), ("b", 1)]).shape
    (2,)
    """
    return np.fromiter(items, dtype=object, count=len(items))


def graph_arrays(G: nx.DiGraph) -> NetworkArrays:
    """The validated network ``G`` as arrays: inputs first, then the other neurons in ``G``'s
    order; each neuron's connections in the order of its predecessors.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=0.5, activation="tanh")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> network = graph_arrays(G)
    >>> network.nodes.tolist(), network.weights.tolist(), network.activations
    (['x', 'y'], [2.0], ('tanh',))
    """
    data = G.nodes
    input_nodes = inputs(G)
    computed = [node for node, role in G.nodes(data=ROLE) if role != INPUT]
    index = {node: i for i, node in enumerate(input_nodes + computed)}
    # networkx's own algorithms read the adjacency dicts directly, as this does: the public views
    # cost about three times as much per connection.
    predecessors = [G._pred[node] for node in computed]
    counts = np.fromiter(map(len, predecessors), dtype=np.int64, count=len(computed))
    sources = np.fromiter((index[u] for pred in predecessors for u in pred), dtype=np.int64,
                          count=int(counts.sum()))
    weights = np.fromiter((d[WEIGHT] for pred in predecessors for d in pred.values()), dtype=np.float64,
                          count=len(sources))
    targets = np.repeat(np.arange(len(input_nodes), len(index)), counts)
    names: dict[str, int] = {}
    activation = np.full(len(index), -1, dtype=np.int64)
    layer = np.full(len(index), -1, dtype=np.int64)
    layers: dict[str, int] = {}
    aggregation = np.full(len(index), -1, dtype=np.int64)
    aggregations: dict[str, int] = {}
    for i, node in enumerate(computed, start=len(input_nodes)):
        attributes = data[node]
        resolved = resolve_activation(attributes.get(ACTIVATION, DEFAULT_ACTIVATION))
        activation[i] = names.setdefault(resolved.name, len(names))
        if resolved.group_wise:
            layer[i] = layers.setdefault(attributes[LAYER], len(layers))
        aggregation[i] = aggregations.setdefault(attributes.get(AGGREGATION, DEFAULT_AGGREGATION),
                                                 len(aggregations))
    bias = np.zeros(len(index))
    bias[len(input_nodes):] = [data[node].get(BIAS, DEFAULT_BIAS) for node in computed]
    return NetworkArrays(nodes=object_array(input_nodes + computed), n_inputs=len(input_nodes),
                         outputs=np.array([index[node] for node in outputs(G)], dtype=np.int64),
                         sources=sources, targets=targets, weights=weights, bias=bias,
                         activation=activation, activations=tuple(names),
                         layer=layer if layers else None,
                         aggregation=None if set(aggregations) <= {DEFAULT_AGGREGATION} else aggregation,
                         aggregations=tuple(aggregations))


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + counts[i] - 1``, for every ``i``, end to end.

    Examples
    --------
    >>> ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (np.cumsum(counts) - counts)
    return np.repeat(shift, counts) + np.arange(total)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an int array, sorted (``np.unique`` without its fixed cost).

    Examples
    --------
    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def reaching(n_neurons: int, sources: np.ndarray, targets: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Which neurons have a path to one of ``seeds`` (the seeds included): a boolean array, found one
    frontier at a time backwards over the connections, each visited once.

    Examples
    --------
    >>> reaching(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([2])).tolist()
    [True, True, True, False, False]
    """
    found = np.zeros(n_neurons, dtype=bool)
    by_target = np.argsort(targets, kind="stable")
    tails = sources[by_target]
    starts = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(targets, minlength=n_neurons), out=starts[1:])
    frontier = distinct(seeds)
    found[frontier] = True
    while frontier.size:
        reached = distinct(tails[ranges(starts[frontier], starts[frontier + 1] - starts[frontier])])
        frontier = reached[~found[reached]]
        found[frontier] = True
    return found


def array_levels(n_neurons: int, n_inputs: int, sources: np.ndarray, targets: np.ndarray, *,
                 unit: np.ndarray | None = None) -> np.ndarray:
    """Each neuron's level: 0 for the inputs, else one more than its deepest predecessor (1 without
    any); -1 for a neuron on a cycle, or fed through one.

    ``unit`` (optional) maps each neuron to the neuron standing for its unit, itself if alone: the
    members of a unit share the deepest level any of them needs. Each connection is visited once.

    Examples
    --------
    >>> array_levels(4, 1, np.array([0, 1, 0]), np.array([1, 2, 2])).tolist()  # neuron 3: no inputs
    [0, 1, 2, 1]
    >>> array_levels(3, 1, np.array([1, 2]), np.array([2, 1])).tolist()  # 1 and 2 feed each other
    [0, -1, -1]
    """
    if unit is not None:
        sources, targets = unit[sources], unit[targets]
    indegree = np.bincount(targets, minlength=n_neurons)
    by_source = np.argsort(sources, kind="stable")
    heads = targets[by_source]
    starts = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(sources, minlength=n_neurons), out=starts[1:])
    stands = np.ones(n_neurons, dtype=bool) if unit is None else unit == np.arange(n_neurons)
    level = np.full(n_neurons, -1, dtype=np.int64)
    frontier = np.flatnonzero((indegree == 0) & stands)
    level[frontier] = 1
    level[:n_inputs] = 0
    while frontier.size:
        counts = starts[frontier + 1] - starts[frontier]
        reached = heads[ranges(starts[frontier], counts)]
        np.maximum.at(level, reached, np.repeat(level[frontier] + 1, counts))
        np.subtract.at(indegree, reached, 1)
        reached = distinct(reached)
        frontier = reached[indegree[reached] == 0]
    level[stands & (indegree > 0)] = -1
    return level if unit is None else level[unit]


def lower_arrays(network: NetworkArrays, *, dtype: np.dtype, level: np.ndarray | None = None,
                 display: Sequence[Column] | None = None) -> Plan:
    """Return the plan of ``network``: one sparse op per level and activation (see the module doc).

    ``level`` may pass in ``array_levels`` of the network when the caller has it (every entry must
    be at least 0: no cycle). ``display`` are the trace's columns; by default one per level.

    Examples
    --------
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
        level = array_levels(n, n_inputs, network.sources, network.targets, unit=_units(network))
    order, op_starts, op_aggregates = _op_order(network, level)
    column = np.empty(n, dtype=np.int64)
    column[:n_inputs] = np.arange(n_inputs)
    column[order] = np.arange(n_inputs, n)
    by_column = network.nodes[np.concatenate([np.arange(n_inputs), order])]
    columns = MappingProxyType(dict(zip(by_column.tolist(), range(n))))
    with np.errstate(over="ignore"):  # in float32, a weight beyond range is inf, as in the reference
        weights = network.weights.astype(dtype)
        bias = network.bias[order].astype(dtype)
    ops = _ops(network, level, order, op_starts, column, by_column, weights, bias)
    if op_aggregates.any():
        for index in np.flatnonzero(op_aggregates).tolist():
            ops[index] = _aggregate_op(network, index, level, order, op_starts, column, by_column, weights, bias)
    if display is None:
        display = level_columns(network, level, order, by_column)
    return Plan(ops=tuple(ops), inputs=tuple(by_column[:n_inputs].tolist()),
                outputs=tuple(network.nodes[network.outputs].tolist()), dtype=np.dtype(dtype),
                columns=columns, groups=tuple(display))


def _units(network: NetworkArrays) -> np.ndarray | None:
    """Each neuron's unit (see ``array_levels``): the first neuron of its group-wise layer, or itself."""
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

    An op is a run of neurons sharing (level, activation, layer, aggregates); runs are ordered by
    level, then by their first neuron. Neurons that do not sum form their own op (a group-wise
    layer with one such member aggregates as a whole); in it, those that aggregate alike with as
    many connections sit together, in order of first appearance, as ``nngraph.compiler.groups`` says.
    """
    n_inputs = network.n_inputs
    computed = np.arange(n_inputs, network.n_neurons)
    layer = np.full(len(computed), -1) if network.layer is None else network.layer[computed]
    aggregates = ~network.summed()[computed]
    if aggregates.any() and network.layer is not None:
        grouped = layer >= 0
        layer_aggregates = np.zeros(int(layer.max()) + 1, dtype=bool)
        np.logical_or.at(layer_aggregates, layer[grouped], aggregates[grouped])
        aggregates[grouped] = layer_aggregates[layer[grouped]]
    keys = (level[computed], network.activation[computed], layer, aggregates.astype(np.int64))
    by_key = np.lexsort((computed,) + keys[::-1])
    sorted_keys = [key[by_key] for key in keys]
    new_run = np.ones(len(computed), dtype=bool)
    new_run[1:] = np.any([key[1:] != key[:-1] for key in sorted_keys], axis=0)
    run_starts = np.flatnonzero(new_run)
    run_counts = np.diff(np.append(run_starts, len(computed)))
    first = computed[by_key][run_starts]
    runs = np.lexsort((first, sorted_keys[0][run_starts]))
    order = computed[by_key][ranges(run_starts[runs], run_counts[runs])]
    op_starts = np.concatenate([[0], np.cumsum(run_counts[runs])])
    op_aggregates = sorted_keys[3][run_starts[runs]].astype(bool)
    if op_aggregates.any():
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
    new_key[1:] = ((op_of[keyed][1:] != op_of[keyed][:-1]) | (aggregation[keyed][1:] != aggregation[keyed][:-1])
                   | (indegree[keyed][1:] != indegree[keyed][:-1]))
    first_place = np.empty(len(order), dtype=np.int64)
    first_place[keyed] = position[keyed][np.flatnonzero(new_key)][np.cumsum(new_key) - 1]
    first_place[~op_aggregates[op_of]] = position[~op_aggregates[op_of]]  # other ops keep their order
    return order[np.lexsort((position, first_place, op_of))]


def _ops(network: NetworkArrays, level: np.ndarray, order: np.ndarray, op_starts: np.ndarray,
         column: np.ndarray, by_column: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> list:
    """One op per run of ``order``, its CSR arrays cut from the connections sorted once by (op,
    source column, target column): every array is computed for all ops at once, then sliced."""
    n_inputs = network.n_inputs
    source_column = column[network.sources]
    target_column = column[network.targets]
    op_of = np.searchsorted(op_starts, target_column - n_inputs, side="right") - 1
    by_op = np.lexsort((target_column, source_column, op_of))
    op_of, source_column = op_of[by_op], source_column[by_op]
    local_column = target_column[by_op] - n_inputs - op_starts[op_of]  # the target's place in its op
    index = np.int32 if len(by_op) < 2**31 else np.int64  # scipy's own choice, made once, not per op
    local_column = local_column.astype(index)
    weights = weights[by_op]
    # A new row of some op's weights wherever the op or the source changes.
    new_row = np.ones(len(by_op), dtype=bool)
    new_row[1:] = (op_of[1:] != op_of[:-1]) | (source_column[1:] != source_column[:-1])
    row_starts = np.append(np.flatnonzero(new_row), len(by_op)).astype(index)  # all ops' rows, one CSR
    row_sources = source_column[new_row]
    first_row = np.searchsorted(op_of[new_row], np.arange(len(op_starts)))
    first_level = level[order[op_starts[:-1]]].tolist()
    activation = network.activation[order[op_starts[:-1]]].tolist()
    bounds, rows = op_starts.tolist(), first_row.tolist()
    ops = []
    for index in range(len(op_starts) - 1):
        start, stop, top, end = bounds[index], bounds[index + 1], rows[index], rows[index + 1]
        sources = row_sources[top:end]
        indptr = row_starts[top:end + 1] - row_starts[top]
        first, last = int(row_starts[top]), int(row_starts[end])
        matrix = sparse.csr_array((weights[first:last], local_column[first:last], indptr),
                                  shape=(end - top, stop - start))
        op = fused_op(index=index, targets=by_column[n_inputs + start:n_inputs + stop].tolist(),
                      sources=by_column[sources].tolist(), weights=matrix, bias=bias[start:stop],
                      activation=network.activations[activation[index]], level=first_level[index],
                      kind=SPARSE)
        reads_slice = len(sources) == 0 or sources[-1] - sources[0] + 1 == len(sources)  # Plan.reads_slice
        if reads_slice and last - first == op.shape[0] * op.shape[1] and cheaper_kind(op, reads_slice=True) == DENSE:
            op = fused_op(index=index, targets=op.targets, sources=op.sources, weights=matrix.toarray(),
                          bias=op.bias, activation=op.activation, level=op.level,
                          connected=np.ones(matrix.shape, dtype=bool))
        ops.append(op)
    return ops


def _aggregate_op(network: NetworkArrays, index: int, level: np.ndarray, order: np.ndarray,
                  op_starts: np.ndarray, column: np.ndarray, by_column: np.ndarray, weights: np.ndarray,
                  bias: np.ndarray) -> object:
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


def level_columns(network: NetworkArrays, level: np.ndarray, order: np.ndarray,
                  by_column: np.ndarray) -> list[Column]:
    """The trace's columns: the inputs, then one column per level (neurons in column order)."""
    n_inputs = network.n_inputs
    result = [Column("input", INPUT, tuple(by_column[:n_inputs].tolist()), None, 0)]
    levels = level[order]
    bounds = np.flatnonzero(np.diff(levels)) + 1
    is_output = np.zeros(network.n_neurons, dtype=bool)
    is_output[network.outputs] = True
    for part in np.split(np.arange(len(order)), bounds):
        if not part.size:
            continue
        neurons = order[part]
        codes = np.unique(network.activation[neurons])
        activation = network.activations[codes[0]] if len(codes) == 1 else "mixed"
        role = OUTPUT if is_output[neurons].all() else HIDDEN
        result.append(Column(f"level {levels[part[0]]}", role, tuple(by_column[n_inputs + part].tolist()),
                             activation, int(levels[part[0]])))
    return result
