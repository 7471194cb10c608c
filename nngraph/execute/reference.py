"""The reference forward pass: node by node, obviously correct, the oracle for everything else.

It follows the contract literally: in topological order, each neuron's
weighted sum is ``bias + AGG(weight * value of source)``, its terms taken in the
order of its predecessors and ``AGG`` its aggregation (a sum unless it says
otherwise), and its value is its activation of that sum. Neurons that share a
softmax layer are finished together, once all their weighted sums are known. It
imports only the core: it shares nothing with the compiler but the activation and
aggregation registries. Arithmetic follows IEEE: huge values overflow to
infinity and ``inf - inf`` gives NaN, without numpy's ``RuntimeWarning`` about it.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.core.activations import resolve_activation
from nngraph.core.aggregations import resolve_aggregation
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, DEFAULT_ACTIVATION, DEFAULT_AGGREGATION,
                                  DEFAULT_BIAS, INPUT, ROLE, WEIGHT, inputs, outputs)
from nngraph.execute.inputs import as_batch
from nngraph.execute.trace import Trace
from nngraph.core.structure import columns, contract, layer_positions
from nngraph.core.validate import softmax_groups, validate


def _evaluation_order(G: nx.DiGraph) -> list[tuple[Hashable, ...]]:
    """Topological order of units: a single neuron, or all neurons of one softmax group at once."""
    contracted = contract(G, softmax_groups(G).values())
    contracted.remove_edges_from(nx.selfloop_edges(contracted))
    return list(nx.topological_sort(contracted))


def run_reference(G: nx.DiGraph, x: ArrayLike, *, dtype: DTypeLike = np.float64) -> Trace:
    """Run ``x`` through ``G`` neuron by neuron and return the ``Trace``.

    Parameters
    ----------
    G : networkx.DiGraph
        A network following the graph contract (it is validated first).
    x : array_like
        Shape ``(batch, n_inputs)`` or ``(n_inputs,)``, columns in input order.
    dtype : float64 (default) or float32
        The precision of every weighted sum and value.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input")
    >>> G.add_node("y", role="output", bias=1.0, activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> run_reference(G, [3.0]).outputs
    array([[7.]])
    """
    validate(G)
    input_nodes = inputs(G)
    batch, _ = as_batch(x, len(input_nodes), dtype)
    column = {node: index for index, node in enumerate(G.nodes)}
    weighted_sums = np.full((batch.shape[0], len(column)), np.nan, dtype=batch.dtype)
    values = np.empty_like(weighted_sums)
    for index, node in enumerate(input_nodes):
        values[:, column[node]] = batch[:, index]

    data = G.nodes
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # as the compiled runners
        for unit in _evaluation_order(G):
            if data[unit[0]][ROLE] == INPUT:
                continue
            for node in unit:
                terms = [batch.dtype.type(weight) * values[:, column[source]]
                         for source, _, weight in G.in_edges(node, data=WEIGHT)]
                stacked = np.stack(terms, axis=-1) if terms else np.empty((batch.shape[0], 0), batch.dtype)
                aggregation = resolve_aggregation(data[node].get(AGGREGATION, DEFAULT_AGGREGATION))
                bias = batch.dtype.type(data[node].get(BIAS, DEFAULT_BIAS))
                weighted_sums[:, column[node]] = bias + aggregation(stacked)
            activation = resolve_activation(data[unit[0]].get(ACTIVATION, DEFAULT_ACTIVATION))
            cols = [column[node] for node in unit]
            values[:, cols] = activation(weighted_sums[:, cols])

    return Trace(weighted_sums=weighted_sums, values=values, columns=column,
                 input_nodes=tuple(input_nodes), output_nodes=tuple(outputs(G)),
                 groups=tuple(columns(G)), layers=layer_positions(G), source=G)
