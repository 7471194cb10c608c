"""The edges of the neuron diagram: each connection by the sign and size of its weight (or contribution), and bundles."""

from __future__ import annotations

import graphviz

from nngraph.render import style
from nngraph.render.layout import Link, Slot


def _describe(slot: Slot) -> str:
    if slot.node is not None:
        return str(slot.node)
    return f"{len(slot.folded):,} folded neurons ({slot.folded[0]!s} ... {slot.folded[-1]!s})"


def _carried(link: Link, by: str) -> float:
    """What the link's colour and width show: its weight, or its contribution to the sample."""
    return link.weight if by == "weight" or link.contribution is None else link.contribution


def add_links(dot: graphviz.Digraph, links: list[Link], *, by: str, weight_labels: bool) -> None:
    """Draw every link: connections weakest first (so strong ones lie on top), then bundles.

    A connection is blue for a positive weight (or contribution) and red for a
    negative one; its width and opacity grow with the magnitude, scaled to the
    largest shown. A bundle is a dashed grey edge labelled with its count.
    """
    singles = [link for link in links if link.edge is not None]
    largest = max((abs(_carried(link, by)) for link in singles), default=0.0)
    order = sorted(range(len(singles)), key=lambda i: (abs(_carried(singles[i], by)), i))
    for i in order:
        link = singles[i]
        shown = _carried(link, by)
        colour, width = style.connection_style(shown, largest)
        tooltip = f"{_describe(link.source)} -> {_describe(link.target)}: weight {style.number(link.weight, digits=6)}"
        if link.contribution is not None:
            tooltip += f", contribution {style.number(link.contribution, digits=6)}"
        extra = {"label": style.number(shown, digits=2), "fontsize": "7",
                 "fontcolor": colour[:7]} if weight_labels else {}
        dot.edge(link.source.key, link.target.key, color=colour, penwidth=width,
                 tooltip=graphviz.escape(tooltip), **extra, **{"class": "connection"})
    for link in links:
        if link.edge is not None:
            continue
        tooltip = (f"{link.count:,} connections from {_describe(link.source)} to {_describe(link.target)}; "
                   f"weights sum to {style.number(link.weight, digits=6)}")
        if link.contribution is not None:
            tooltip += f", contributions to {style.number(link.contribution, digits=6)}"
        dot.edge(link.source.key, link.target.key, style="dashed", color=style.NEUTRAL, penwidth="1.0",
                 **_count_label(link), labelfontsize="8", labelfontcolor=style.MUTED, fontsize="8",
                 fontcolor=style.MUTED, tooltip=graphviz.escape(tooltip), **{"class": "bundle"})


def _count_label(link: Link) -> dict[str, str]:
    """Where a bundle's count goes: beside its drawn neuron, so that the counts of the bundles
    fanning into or out of one "+N more" node do not pile up in the middle of the gap."""
    count = f"{link.count:,}"
    if link.source.node is not None:
        return {"taillabel": count, "labeldistance": "3", "labelangle": "0"}
    if link.target.node is not None:
        return {"headlabel": count, "labeldistance": "3", "labelangle": "0"}
    return {"label": count}
