"""Routes for skip connections: through the gaps between neurons of the columns they jump, never across a neuron.

A connection between neighbouring columns is a straight line. One that skips
columns passes each column in between through a gap: the space above its top
neuron, between two neighbours, or below its bottom neuron, whichever is
nearest to the straight line at that column. Connections sharing a gap take
separate lanes in it, so they stay apart. Routing is one pass over the links,
so it costs nothing next to Graphviz's own obstacle-avoiding splines (which
take seconds from a few hundred connections on).
"""

from __future__ import annotations

from bisect import bisect_left

from nngraph.render.layout import Layout, Link

#: Lane offsets within a gap, as fractions of its clear height: middle first, then alternating outwards.
LANES = (0.0, 0.25, -0.25, 0.125, -0.125, 0.375, -0.375)


def _gaps(layout: Layout) -> list[list[tuple[float, float]]]:
    """Every gap of every column, top to bottom, as (middle, clear height).

    The gaps above the top neuron and below the bottom one are open, so they
    get a full row of room, starting at the neuron's edge.
    """
    geometry = layout.geometry
    between = geometry.row_gap - geometry.diameter
    outside = geometry.diameter / 2 + geometry.row_gap / 2
    gaps = []
    for column in layout.columns:
        ys = [slot.y for slot in column.slots]
        gaps.append([(ys[0] + outside, geometry.row_gap)]
                    + [((a + b) / 2, between) for a, b in zip(ys, ys[1:])]
                    + [(ys[-1] - outside, geometry.row_gap)])
    return gaps


def routes(layout: Layout, links: list[Link]) -> list[tuple[tuple[float, float], ...]]:
    """For each link, the points it bends at (none for neighbouring columns), left to right.

    Examples
    --------
    >>> import networkx as nx
    >>> from nngraph.render.layout import Geometry, lay_out, links as find_links
    >>> G = nx.DiGraph()
    >>> for node, role in [("x", "input"), ("h", "hidden"), ("y", "output")]:
    ...     G.add_node(node, role=role)
    >>> G.add_edges_from([("x", "h"), ("h", "y"), ("x", "y")], weight=1.0)
    >>> layout = lay_out(G, collapse_above=10, geometry=Geometry(2.0, 0.6, 0.4))
    >>> routes(layout, find_links(G, layout, None))
    [(), ((2.0, 0.5),), ()]
    """
    gaps = _gaps(layout)
    # Gap middles run top to bottom (falling); negated, they rise, so bisect finds the nearest two.
    rising = [[-middle for middle, _ in column] for column in gaps]
    used: dict[tuple[int, int], int] = {}
    result = []
    for link in links:
        a, b = link.source, link.target
        points = []
        for column in range(a.column + 1, b.column):
            share = (column - a.column) / (b.column - a.column)
            straight = a.y + share * (b.y - a.y)
            below = bisect_left(rising[column], -straight)
            gap = min((i for i in (below - 1, below) if 0 <= i < len(rising[column])),
                      key=lambda i: (abs(gaps[column][i][0] - straight), i))
            lane = used.get((column, gap), 0)
            used[(column, gap)] = lane + 1
            middle, clear = gaps[column][gap]
            y = middle + LANES[lane % len(LANES)] * clear
            points.append((layout.columns[column].x, round(y, 3)))
        result.append(tuple(points))
    return result
