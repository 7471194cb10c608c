"""Boxes for the layer and plan diagrams: a title row over rows of cells, as a Graphviz HTML-like label."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import graphviz

from nngraph.render import style

#: How many neuron names a box lists before it shortens the list to its ends.
LISTED = 6


@dataclass(frozen=True)
class Box:
    """One box: a bold ``title``, a muted ``kind`` beside it, then ``rows`` of one or two cells."""

    key: str
    title: str
    kind: str
    rows: tuple[tuple[str, ...], ...]
    fill: str


def shape(*dims: int) -> str:
    """Keras' way of writing a shape with a free batch size: ``(None, 6)``."""
    return "(" + ", ".join(["None", *map(str, dims)]) + ")"


def listing(nodes: Sequence[Hashable]) -> str:
    """Name up to ``LISTED`` neurons; a longer list shows its ends and how many there are.

    Examples
    --------
    >>> listing(["a", "b"])
    'a, b'
    >>> listing([f"n{i}" for i in range(100)])
    'n0, n1, n2 … n97, n98, n99 (100)'
    """
    names = [str(node) for node in nodes]
    if len(names) <= LISTED:
        return ", ".join(names)
    half = LISTED // 2
    return f"{', '.join(names[:half])} … {', '.join(names[-half:])} ({len(names):,})"


def box_label(box: Box) -> str:
    """The box as an HTML-like label: every text escaped, two cells per row (one cell spans both)."""
    header = (f'<tr><td colspan="2" bgcolor="{box.fill}"><b>{style.text(box.title)}</b> '
              f'<font color="{style.MUTED}">({style.text(box.kind)})</font></td></tr>')
    body = []
    for row in box.rows:
        if len(row) == 1:
            body.append(f'<tr><td colspan="2" align="left">{style.text(row[0])}</td></tr>')
        else:
            body.append("<tr>" + "".join(f'<td align="left">{style.text(cell)}</td>' for cell in row) + "</tr>")
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="5" color="#999999">'
            + header + "".join(body) + "</table>>")


def new_box_digraph(name: str, *, direction: str, title: str | None) -> graphviz.Digraph:
    """A top-to-bottom (or left-to-right) diagram of boxes, laid out by ``dot``."""
    dot = graphviz.Digraph(name)
    dot.attr(rankdir=direction, bgcolor="white", pad="0.3", nodesep="0.4", ranksep="0.45",
             fontname=style.FONT)
    dot.attr("node", shape="plaintext", fontname=style.FONT, fontsize="11", fontcolor=style.INK)
    dot.attr("edge", fontname=style.FONT, fontsize="9", fontcolor=style.MUTED, color="#555555",
             arrowsize="0.7")
    if title:
        dot.attr(label=f"<<b>{style.text(title)}</b>>", labelloc="t", fontsize="14")
    return dot


def add_box(dot: graphviz.Digraph, box: Box, *, css: str) -> None:
    """Add ``box`` as a node of ``dot`` (SVG class ``css``)."""
    dot.node(box.key, box_label(box), **{"class": css})
