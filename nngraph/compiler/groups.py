"""Stage 2, groups: which neurons one fused op computes.

Neurons of one level with the same activation and the same set of predecessors form a fully
connected block: every source feeds every target, so the block is one fused op
``a = f(x @ W + b)``. A softmax group (the neurons of one layer with a group-wise activation) is
always one op, since it is normalised as a whole, even when its members read different neurons
(a partly connected block). Fusion is horizontal only: a group never spans two levels, so every
neuron's weighted sum is still computed, and can be traced.

Neurons whose aggregation is not a sum are never grouped with sums: those of one level with the
same activation form one ``aggregate`` group (lowered to a gather and reductions), whatever their
predecessors; so does a softmax group with such a member. Within an aggregate group, neurons that
aggregate alike and have as many connections sit together (one reduction each), in order of first
appearance.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import networkx as nx

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, AGGREGATION, DEFAULT_ACTIVATION, DEFAULT_AGGREGATION, INPUT,
                                  LAYER, ROLE)


@dataclass(frozen=True)
class Group:
    """Neurons computed by one op: their level, canonical activation, and the neurons; ``aggregate``
    when some of them aggregate otherwise than by a sum (one gather-and-reduce op)."""

    level: int
    activation: str
    targets: tuple[Hashable, ...]
    aggregate: bool = False


def find_groups(G: nx.DiGraph, level: Mapping[Hashable, int]) -> list[Group]:
    """Split the computed neurons of ``G`` into groups, ordered by level, then by first neuron.

    Neurons keep their insertion order inside a group, so the result does not depend on hash
    order.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input")
    >>> for name, act in (("h0", "relu"), ("h1", "relu"), ("h2", "tanh")):
    ...     G.add_node(name, role="output", activation=act); G.add_edge("x", name, weight=1.0)
    >>> [group.targets for group in find_groups(G, {"x": 0, "h0": 1, "h1": 1, "h2": 1})]
    [('h0', 'h1'), ('h2',)]
    """
    buckets: dict[tuple, list[Hashable]] = {}
    activation_of: dict[tuple, str] = {}
    aggregate: set[tuple] = set()
    for node, data in G.nodes(data=True):
        if data[ROLE] == INPUT:
            continue
        activation = resolve_activation(data.get(ACTIVATION, DEFAULT_ACTIVATION))
        summed = data.get(AGGREGATION, DEFAULT_AGGREGATION) == DEFAULT_AGGREGATION
        if activation.group_wise:
            key: tuple = ("group-wise", activation.name, data[LAYER])
        elif summed:
            key = (level[node], activation.name, frozenset(G.pred[node]))
        else:
            key = ("aggregate", level[node], activation.name)
        buckets.setdefault(key, []).append(node)
        activation_of[key] = activation.name
        if not summed:
            aggregate.add(key)
    groups = [Group(level=level[members[0]], activation=activation_of[key],
                    targets=_by_reduction(G, members) if key in aggregate else tuple(members),
                    aggregate=key in aggregate)
              for key, members in buckets.items()]
    # A stable sort: within a level, groups keep the order of their first neuron.
    return sorted(groups, key=lambda group: group.level)


def _by_reduction(G: nx.DiGraph, members: list[Hashable]) -> tuple[Hashable, ...]:
    """``members`` with those of one aggregation and one number of connections together, each run in
    the order of its first member (a stable sort)."""
    keys = [(G.nodes[node].get(AGGREGATION, DEFAULT_AGGREGATION), len(G.pred[node])) for node in members]
    first = {key: index for index, key in reversed(list(enumerate(keys)))}
    return tuple(node for _, node in sorted(zip(keys, members), key=lambda pair: first[pair[0]]))
