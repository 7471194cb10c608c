"""The network a compiled plan computes, rebuilt from its ops, so that a plan can be shown neuron by neuron.

A plan keeps every neuron's connections (with their weights), bias and
activation, and its display columns (``plan.groups``), but not the graph it
was compiled from. The rebuilt graph has the same neurons, connections,
weights, biases, activations and columns, so its neuron diagram is the
original's. What a plan does not keep is left out: attributes other than the
contract's, and the declaration order of a column that holds both hidden
neurons and outputs (its outputs come first). Layer names are the plan's
column names; in a graph without layers, a softmax op's neurons get the layer
``"op N"`` (their own group, as in the plan), and the groups an op normalises
apart ``"<layer>[g]"``. An aggregate op's neurons keep their aggregation.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import networkx as nx

from nngraph.core.network import ACTIVATION, AGGREGATION, BIAS, HIDDEN, INPUT, LAYER, OUTPUT, ROLE, WEIGHT

if TYPE_CHECKING:
    from nngraph.ir.plan import Plan


def _by_level(plan: Plan) -> bool:
    """Whether the plan's columns are levels (a graph without layers) rather than layers."""
    return all(group.name == f"level {group.level}" for group in plan.groups if group.role != INPUT)


def network_of_plan(plan: Plan) -> nx.DiGraph:
    """Rebuild the network ``plan`` computes (see the module's docstring for what is kept).

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> from nngraph.demo import lesson_model
    >>> G = lesson_model().graph
    >>> H = network_of_plan(nngraph.compile_network(G))
    >>> sorted(H.edges(data="weight")) == sorted(G.edges(data="weight"))
    True
    >>> H.nodes["dense_2/0"] == G.nodes["dense_2/0"]
    True
    """
    by_level = _by_level(plan)
    column_of: dict[Hashable, str] = {node: group.name for group in plan.groups for node in group.nodes}
    outputs = set(plan.outputs)
    G = nx.DiGraph()
    for node in plan.inputs:
        G.add_node(node, **{ROLE: INPUT})
    # Outputs first, in output order, so that nngraph.outputs(G) lists them as the plan does.
    order = list(plan.outputs) + [node for group in plan.groups for node in group.nodes
                                  if node not in outputs and group.role != INPUT]
    G.add_nodes_from(order)
    for op in plan.ops:
        activations = op.target_activations()  # per neuron: a mixed op has runs of several
        group_wise = op.group_wise
        size = len(op.targets) // getattr(op, "groups", 1)
        for position, (node, bias) in enumerate(zip(op.targets, op.bias.tolist())):
            data = {ROLE: OUTPUT if node in outputs else HIDDEN, BIAS: bias, ACTIVATION: activations[position]}
            if op.kind == "aggregate":
                data[AGGREGATION] = op.reduction_of(position)[0].aggregation
            base = f"op {op.index}" if by_level else column_of[node]
            if group_wise and size < len(op.targets):  # each group it normalises apart: base[g]
                data[LAYER] = f"{base}[{position // size}]"
            elif not by_level or group_wise:
                data[LAYER] = base
            G.nodes[node].update(data)
        matrix = op.connection_matrix()
        G.add_edges_from((op.sources[row], op.targets[col], {WEIGHT: weight})
                         for row, col, weight in zip(matrix.row.tolist(), matrix.col.tolist(),
                                                     matrix.data.tolist()))
    return G
