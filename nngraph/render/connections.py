"""The edges of the neuron diagram: each connection by the sign and size of its weight (or contribution), and bundles.

A link between neighbouring columns is a plain edge, which Graphviz draws
straight. A link that skips columns bends through the points ``routes`` chose:
it is still one edge (one tooltip, one class), given its whole path (``pos``,
in points) for Graphviz's ``nop2`` layout to draw as it is, so that a deep
network's thousands of bends cost Graphviz nothing. Such a path starts and ends
on a neuron's circle; at a "+N more" node it runs to the centre, under the
node's white fill.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import graphviz

from nngraph.render import style
from nngraph.render.layout import Link, Slot
from nngraph.render.slots import POINTS

Point = tuple[float, float]


def _describe(slot: Slot) -> str:
    if slot.node is not None:
        return str(slot.node)
    return f"{len(slot.folded):,} folded neurons ({slot.folded[0]!s} ... {slot.folded[-1]!s})"


def _carried(link: Link, by: str) -> float:
    """What the link's colour and width show: its weight, or its contribution to the sample."""
    return link.weight if by == "weight" or link.contribution is None else link.contribution


def _end(slot: Slot, toward: Point, radius: float) -> Point:
    """Where a path leaves or enters ``slot`` heading for ``toward``: on a neuron's circle, or a "+N more" centre."""
    if slot.node is None:
        return slot.x, slot.y
    dx, dy = toward[0] - slot.x, toward[1] - slot.y
    length = math.hypot(dx, dy)
    return slot.x + radius * dx / length, slot.y + radius * dy / length


def path(points: Sequence[Point]) -> str:
    """A polyline (inches) as a Graphviz edge ``pos`` (points): a cubic B-spline whose every piece is straight.

    Examples
    --------
    >>> path([(0.0, 0.0), (1.0, 0.5), (2.0, 0.0)])
    '0.00,0.00 0.00,0.00 72.00,36.00 72.00,36.00 72.00,36.00 144.00,0.00 144.00,0.00'
    """
    # A piece from A to B with control points A and B is the straight line A-B.
    written = [f"{x * POINTS:.2f},{y * POINTS:.2f}" for x, y in points]
    pieces = [written[0]]
    for before, after in zip(written, written[1:]):
        pieces += [before, after, after]
    return " ".join(pieces)


def _draw(dot: graphviz.Digraph, link: Link, bends: Sequence[Point], *, ident: str, radius: float, css: str,
          **attributes: str) -> None:
    """Draw ``link`` as one edge with id ``ident``: straight between neighbouring columns, else along its
    ``bends``."""
    if bends:
        points = [_end(link.source, bends[0], radius), *bends, _end(link.target, bends[-1], radius)]
        attributes["pos"] = path(points)
    dot.edge(link.source.key, link.target.key, **attributes, id=ident, **{"class": css})


def add_links(dot: graphviz.Digraph, links: list[Link], bends: list[tuple[Point, ...]], *, by: str,
              weight_labels: bool, radius: float) -> None:
    """Draw every link: connections weakest first (so strong ones lie on top), then bundles.

    A connection is blue for a positive weight (or contribution) and red for a
    negative one; its width and opacity grow with the magnitude, scaled to the
    largest shown. A bundle is a dashed grey edge labelled with its count.
    ``bends[i]`` are the bend points of ``links[i]``; ``radius`` is a neuron's.
    """
    singles = [i for i, link in enumerate(links) if link.edge is not None]
    largest = max((abs(value) for value in (_carried(links[i], by) for i in singles) if math.isfinite(value)),
                  default=0.0)
    for i in sorted(singles, key=lambda i: (abs(_carried(links[i], by)), i)):
        link = links[i]
        shown = _carried(link, by)
        colour, width = style.connection_style(shown, largest)
        tooltip = (f"{_describe(link.source)} -> {_describe(link.target)}: "
                   f"weight {style.number(link.weight, digits=6)}")
        if link.contribution is not None:
            tooltip += f", contribution {style.number(link.contribution, digits=6)}"
        label = {"label": style.number(shown, digits=2), "fontsize": "7",
                 "fontcolor": colour[:7]} if weight_labels else {}
        _draw(dot, link, bends[i], ident=f"link{i}", radius=radius, css="connection", **label, color=colour,
              penwidth=width, tooltip=style.tooltip(tooltip))
    for i, link in enumerate(links):
        if link.edge is not None:
            continue
        tooltip = (f"{link.count:,} connections from {_describe(link.source)} to {_describe(link.target)}; "
                   f"weights sum to {style.number(link.weight, digits=6)}")
        if link.contribution is not None:
            tooltip += f", contributions to {style.number(link.contribution, digits=6)}"
        _draw(dot, link, bends[i], ident=f"link{i}", radius=radius, css="bundle", **_count_label(link),
              style="dashed", color=style.NEUTRAL, penwidth="1.0", labelfontsize="8", labelfontcolor=style.MUTED,
              fontsize="8", fontcolor=style.MUTED, tooltip=style.tooltip(tooltip))


def _count_label(link: Link) -> dict[str, str]:
    """Where a bundle's count goes: beside its drawn neuron (at its tail or head), so that the counts
    of the bundles fanning into or out of one "+N more" node do not pile up; else in the middle."""
    count = f"{link.count:,}"
    beside = {"labeldistance": "3", "labelangle": "0"}
    if link.source.node is not None:
        return {"taillabel": count, **beside}
    if link.target.node is not None:
        return {"headlabel": count, **beside}
    return {"label": count}
