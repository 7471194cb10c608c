"""The edges of the neuron diagram: each connection by the sign and size of its weight (or contribution), and bundles.

A link that skips columns is drawn as a chain of straight segments through
invisible bend points (see ``routes``); its first segment carries the class
(``connection`` or ``bundle``), the tooltip and any label, the others the
class ``route``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import graphviz

from nngraph.render import style
from nngraph.render.layout import Link, Slot
from nngraph.render.slots import pos

Point = tuple[float, float]


def _describe(slot: Slot) -> str:
    if slot.node is not None:
        return str(slot.node)
    return f"{len(slot.folded):,} folded neurons ({slot.folded[0]!s} ... {slot.folded[-1]!s})"


def _carried(link: Link, by: str) -> float:
    """What the link's colour and width show: its weight, or its contribution to the sample."""
    return link.weight if by == "weight" or link.contribution is None else link.contribution


def _draw(dot: graphviz.Digraph, link: Link, bends: Sequence[Point], *, ident: str, css: str,
          first: dict[str, str], last: dict[str, str], **common: str) -> None:
    """Draw ``link`` through its ``bends``: ``first`` goes on the first segment, ``last`` on the last.

    The first segment's id is ``ident``, the others' ``ident-1``, ``ident-2``, ...
    """
    keys = [link.source.key]
    for x, y in bends:
        keys.append(f"bend{len(dot.body)}")  # the body's length is a fresh, deterministic number
        dot.node(keys[-1], "", shape="point", width="0.01", style="invis", pos=pos(x, y))
    keys.append(link.target.key)
    segments = len(keys) - 1
    for index, (tail, head) in enumerate(zip(keys, keys[1:])):
        extra = {**(first if index == 0 else {}), **(last if index == segments - 1 else {})}
        dot.edge(tail, head, **common, **extra, id=f"{ident}-{index}" if index else ident,
                 **{"class": css if index == 0 else "route"})


def add_links(dot: graphviz.Digraph, links: list[Link], bends: list[tuple[Point, ...]], *, by: str,
              weight_labels: bool) -> None:
    """Draw every link: connections weakest first (so strong ones lie on top), then bundles.

    A connection is blue for a positive weight (or contribution) and red for a
    negative one; its width and opacity grow with the magnitude, scaled to the
    largest shown. A bundle is a dashed grey edge labelled with its count.
    ``bends[i]`` are the bend points of ``links[i]``.
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
        _draw(dot, link, bends[i], ident=f"link{i}", css="connection", first=label, last={}, color=colour,
              penwidth=width, tooltip=style.tooltip(tooltip))
    for i, link in enumerate(links):
        if link.edge is not None:
            continue
        tooltip = (f"{link.count:,} connections from {_describe(link.source)} to {_describe(link.target)}; "
                   f"weights sum to {style.number(link.weight, digits=6)}")
        if link.contribution is not None:
            tooltip += f", contributions to {style.number(link.contribution, digits=6)}"
        first, last = _count_label(link)
        _draw(dot, link, bends[i], ident=f"link{i}", css="bundle", first=first, last=last, style="dashed",
              color=style.NEUTRAL, penwidth="1.0", labelfontsize="8", labelfontcolor=style.MUTED,
              fontsize="8", fontcolor=style.MUTED, tooltip=style.tooltip(tooltip))


def _count_label(link: Link) -> tuple[dict[str, str], dict[str, str]]:
    """Where a bundle's count goes (on its first segment, or its last): beside its drawn neuron, so
    that the counts of the bundles fanning into or out of one "+N more" node do not pile up."""
    count = f"{link.count:,}"
    beside = {"labeldistance": "3", "labelangle": "0"}
    if link.source.node is not None:
        return {"taillabel": count, **beside}, {}
    if link.target.node is not None:
        return {}, {"headlabel": count, **beside}
    return {"label": count}, {}
