"""Stage 1, schedule: the level at which each neuron is computed.

A neuron's level is its longest path from the inputs (``structure.levels``). A softmax group
must be computed as one unit, so its members share one level. When they already do, that is
the schedule. When they do not (say one member is fed straight from the inputs), levels are
recomputed on the graph in which each group is contracted to a single node: a group then sits
at its deepest member's level, and everything downstream moves down with it. ``validate``
guarantees that this contracted graph is acyclic.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import networkx as nx

from nngraph.core.network import INPUT, ROLE
from nngraph.core.structure import contract, levels
from nngraph.core.validate import softmax_groups


def schedule(G: nx.DiGraph, level: Mapping[Hashable, int] | None = None) -> dict[Hashable, int]:
    """Return the level of every neuron of the validated network ``G`` (inputs on level 0).

    ``level`` may pass in ``structure.levels(G)`` when the caller has it already.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("h", role="hidden")
    >>> for y in ("y0", "y1"):
    ...     G.add_node(y, role="output", activation="softmax", layer="out")
    >>> G.add_edge("x", "h", weight=1.0); G.add_edge("h", "y0", weight=1.0)
    >>> G.add_edge("x", "y1", weight=1.0)
    >>> schedule(G)
    {'x': 0, 'h': 1, 'y0': 2, 'y1': 2}
    """
    level = dict(levels(G) if level is None else level)
    groups = [members for members in softmax_groups(G).values() if len(members) > 1]
    if all(len({level[node] for node in members}) == 1 for members in groups):
        return level
    return _contracted_levels(G, groups)


def _contracted_levels(G: nx.DiGraph, groups: list[list[Hashable]]) -> dict[Hashable, int]:
    contracted = contract(G, groups)
    roles = G.nodes(data=ROLE)
    level: dict[Hashable, int] = {}
    unit_level: dict[tuple[Hashable, ...], int] = {}
    for unit in nx.topological_sort(contracted):
        if len(unit) == 1 and roles[unit[0]] == INPUT:
            unit_level[unit] = 0
        else:
            unit_level[unit] = 1 + max((unit_level[u] for u in contracted.predecessors(unit)), default=0)
        level.update(dict.fromkeys(unit, unit_level[unit]))
    # Within a level, neurons keep their declaration order.
    return dict(sorted(((node, level[node]) for node in G.nodes), key=lambda item: item[1]))
