"""Stage 3, lower: turn groups into ops, laid out in columns.

Each group of sums becomes one dense ``FusedOp``: its sources are the union of its targets'
predecessors, sorted by column, and its weight matrix holds each connection's weight at
(source row, target column), zero elsewhere; the op is told which entries are connections, so a
connection of weight 0.0 stays one. An aggregate group becomes one ``AggregateOp``: one reduction
per run of targets with the same aggregation and number of connections, holding each target's
source rows and weights in the order of its predecessors. Columns follow the layout documented in
``nngraph.ir.plan``. The graph is read once, here, and never again: later edits to it cannot
change the plan.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import networkx as nx
import numpy as np

from nngraph.compiler.groups import Group
from nngraph.core.network import AGGREGATION, BIAS, DEFAULT_AGGREGATION, DEFAULT_BIAS, WEIGHT, inputs, outputs
from nngraph.core.structure import Column, layer_positions
from nngraph.ir.plan import AggregateOp, FusedOp, Plan, Reduction, aggregate_op, fused_op, layout


def lower(G: nx.DiGraph, groups: Sequence[Group], *, dtype: np.dtype,
          display: Sequence[Column]) -> Plan:
    """Return the plan with one op per group, in order (``display``: the trace's columns).

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=1.0)
    >>> G.add_edge("x", "y", weight=3.0)
    >>> plan = lower(G, [Group(level=1, activation="linear", targets=("y",))],
    ...              dtype=np.dtype("float64"), display=[])
    >>> plan.ops[0].weights
    array([[3.]])
    """
    input_nodes = tuple(inputs(G))
    columns = layout(input_nodes, (group.targets for group in groups))
    # In float32, a weight or bias beyond its range becomes infinite, as IEEE casting makes it and
    # as in the float32 reference pass: numpy's warning would only repeat that.
    with np.errstate(over="ignore"):
        ops = [_lower_group(G, index, group, columns, dtype) for index, group in enumerate(groups)]
    return Plan(ops=tuple(ops), inputs=input_nodes, outputs=tuple(outputs(G)), dtype=dtype,
                columns=columns, groups=tuple(display), layers=layer_positions(G))


def _lower_group(G: nx.DiGraph, index: int, group: Group, columns: Mapping[Hashable, int],
                 dtype: np.dtype) -> FusedOp | AggregateOp:
    if group.aggregate:
        return _lower_aggregate(G, index, group, columns, dtype)
    # networkx's own algorithms read the adjacency dicts directly; the public views cost about
    # three times as much per connection, and lowering touches every connection once.
    predecessors = [G._pred[node] for node in group.targets]
    sources = sorted(set().union(*predecessors), key=columns.__getitem__)
    bias = np.array([G.nodes[node].get(BIAS, DEFAULT_BIAS) for node in group.targets], dtype=dtype)
    weights = np.zeros((len(sources), len(group.targets)), dtype=dtype, order="F")
    connected = np.ones(weights.shape, dtype=bool)
    if sources:
        _fill_weights(weights, G, group.targets, predecessors, sources)
        if sum(map(len, predecessors)) < weights.size:  # a partly connected (softmax) group
            connected = _connections(predecessors, sources)
    return fused_op(index=index, targets=group.targets, sources=sources, weights=weights, bias=bias,
                    activation=group.activation, level=group.level, connected=connected)


def _lower_aggregate(G: nx.DiGraph, index: int, group: Group, columns: Mapping[Hashable, int],
                     dtype: np.dtype) -> AggregateOp:
    """One reduction per run of targets that aggregate alike with as many terms (see ``groups``)."""
    predecessors = [G._pred[node] for node in group.targets]
    sources = sorted(set().union(*predecessors), key=columns.__getitem__)
    row = {node: i for i, node in enumerate(sources)}
    runs: list[tuple[str, int, list[int]]] = []  # (aggregation, terms, target positions)
    for position, node in enumerate(group.targets):
        key = (G.nodes[node].get(AGGREGATION, DEFAULT_AGGREGATION), len(predecessors[position]))
        if runs and runs[-1][:2] == key:
            runs[-1][2].append(position)
        else:
            runs.append((*key, [position]))
    reductions = []
    for aggregation, terms, positions in runs:
        rows = np.array([[row[node] for node in predecessors[p]] for p in positions], dtype=np.intp)
        weights = np.array([[data[WEIGHT] for data in predecessors[p].values()] for p in positions],
                           dtype=dtype)
        shape = (len(positions), terms)
        reductions.append(Reduction(aggregation, positions[0], rows.reshape(shape), weights.reshape(shape)))
    bias = np.array([G.nodes[node].get(BIAS, DEFAULT_BIAS) for node in group.targets], dtype=dtype)
    return aggregate_op(index=index, targets=group.targets, sources=sources, bias=bias,
                        activation=group.activation, level=group.level, reductions=reductions)


def _connections(predecessors: list[dict], sources: list[Hashable]) -> np.ndarray:
    """True at (source row, target column) where the source feeds the target."""
    row = {node: i for i, node in enumerate(sources)}
    mask = np.zeros((len(sources), len(predecessors)), dtype=bool)
    for column, pred in enumerate(predecessors):
        mask[[row[node] for node in pred], column] = True
    return mask


def _fill_weights(matrix: np.ndarray, G: nx.DiGraph, targets: tuple[Hashable, ...],
                  predecessors: list[dict], sources: list[Hashable]) -> None:
    """Write each connection's weight at (source row, target column) of ``matrix``.

    Two fast paths cover fully connected blocks whose connections were added in one order (as
    a layer builder adds them): read source by source, the order the graph stores them in
    memory, or target by target. Anything else is scattered connection by connection.
    """
    successors = [G._succ[node] for node in sources]
    order = list(targets)
    if all(len(succ) == len(order) for succ in successors) and all(
            list(succ) == order for succ in successors):
        matrix[:] = _values(successors).reshape(len(sources), len(order))
        return
    row = {node: i for i, node in enumerate(sources)}
    first = list(predecessors[0])
    if all(len(pred) == len(first) for pred in predecessors) and all(
            list(pred) == first for pred in predecessors):
        matrix[[row[node] for node in first]] = _values(predecessors).reshape(len(order), len(first)).T
        return
    rows = [row[node] for pred in predecessors for node in pred]
    cols = np.repeat(np.arange(len(order)), [len(pred) for pred in predecessors])
    matrix[rows, cols] = _values(predecessors)


def _values(adjacency: list[dict]) -> np.ndarray:
    """The weights of the connections in these adjacency dicts, in their order."""
    return np.array([data[WEIGHT] for neighbours in adjacency for data in neighbours.values()],
                    dtype=np.float64)
