"""Stage 3, lower: turn groups into fused ops with weight matrices, laid out in columns.

Each group becomes one dense ``FusedOp``: its sources are the union of its targets'
predecessors, sorted by column, and its weight matrix holds each connection's weight at
(source row, target column), zero elsewhere. Columns follow the layout documented in
``nngraph.plan``. The graph is read once, here, and never again: later edits to it cannot
change the plan.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import networkx as nx
import numpy as np

from nngraph.compiler.groups import Group
from nngraph.network import BIAS, DEFAULT_BIAS, WEIGHT, inputs, outputs
from nngraph.plan import FusedOp, Plan, fused_op, layout
from nngraph.structure import Column


def lower(G: nx.DiGraph, groups: Sequence[Group], *, dtype: np.dtype,
          display: Sequence[Column]) -> Plan:
    """Return the plan with one dense op per group, in order (``display``: the trace's columns).

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
    ops = [_lower_group(G, index, group, columns, dtype) for index, group in enumerate(groups)]
    return Plan(ops=tuple(ops), inputs=input_nodes, outputs=tuple(outputs(G)), dtype=dtype,
                columns=columns, groups=tuple(display))


def _lower_group(G: nx.DiGraph, index: int, group: Group, columns: Mapping[Hashable, int],
                 dtype: np.dtype) -> FusedOp:
    # networkx's own algorithms read the adjacency dicts directly; the public views cost about
    # three times as much per connection, and lowering touches every connection once.
    predecessors = [G._pred[node] for node in group.targets]
    sources = sorted(set().union(*predecessors), key=columns.__getitem__)
    bias = np.array([G.nodes[node].get(BIAS, DEFAULT_BIAS) for node in group.targets], dtype=dtype)
    return fused_op(index=index, targets=group.targets, sources=sources,
                    weights=_weights(predecessors, sources, dtype), bias=bias,
                    activation=group.activation, level=group.level)


def _weights(predecessors: list[dict], sources: list[Hashable], dtype: np.dtype) -> np.ndarray:
    """The ``(len(sources), len(targets))`` matrix of the connections into each target."""
    row = {node: i for i, node in enumerate(sources)}
    matrix = np.zeros((len(sources), len(predecessors)), dtype=dtype)
    if not predecessors or not sources:
        return matrix
    values = np.array([data[WEIGHT] for pred in predecessors for data in pred.values()],
                      dtype=np.float64)
    order = list(predecessors[0])
    if all(len(pred) == len(order) for pred in predecessors) and all(
            list(pred) == order for pred in predecessors):
        # A fully connected block whose connections were added in one source order (the usual
        # case): the weights are one reshape away, with a single row permutation.
        matrix[[row[node] for node in order]] = values.reshape(len(predecessors), len(order)).T
        return matrix
    rows = [row[node] for pred in predecessors for node in pred]
    cols = np.repeat(np.arange(len(predecessors)), [len(pred) for pred in predecessors])
    matrix[rows, cols] = values
    return matrix
