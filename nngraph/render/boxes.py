"""Boxes for the layer and plan diagrams: a title row over rows of cells, as a Graphviz HTML-like label.

Graphviz's ``dot`` lays these diagrams out, and its work grows steeply with the
number of boxes and arrows: a deep network's hundreds of ops, with arrows
jumping across many of them, would keep it busy for minutes. So a diagram with
more than ``collapse_boxes_above`` boxes folds the middle ones into one box,
keeping the first and last ``(collapse_boxes_above - 1) // 2`` (as the neuron
diagram folds wide columns), sums the arrows into and out of it, and says so in
a note over the diagram. A diagram with more than ``BUSY`` arrows is also laid
out with ``dot``'s crossing and placement searches cut short (``mclimit``,
``nslimit``): their full runs take minutes there, and no amount of search
makes so many arrows tidy.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import graphviz

from nngraph.render import style
from nngraph.render.layout import check_collapse_above, fold_ends

#: How many neuron names a box lists before it shortens the list to its ends.
LISTED = 6


#: Boxes drawn before the middle ones fold.
BOXES_SHOWN = 30
#: Arrows above which ``dot``'s searches are cut short.
BUSY = 150
#: The key of the box standing for folded boxes.
FOLDED = "folded"


@dataclass(frozen=True)
class Box:
    """One box: a bold ``title``, a muted ``kind`` beside it, then ``rows`` of one or two cells."""

    key: str
    title: str
    kind: str
    rows: tuple[tuple[str, ...], ...]
    fill: str


@dataclass(frozen=True)
class Arrow:
    """An arrow from box ``source`` to box ``target`` (keys), labelled with ``count`` of what it carries."""

    source: str
    target: str
    count: int


@dataclass(frozen=True)
class Fold:
    """Boxes folded into one: the ``boxes`` it stands for, out of ``total``, and the arrows among them (``inner``)."""

    boxes: tuple[Box, ...]
    total: int
    inner: int


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


def fold_boxes(boxes: Sequence[Box], arrows: Sequence[Arrow], *, collapse_above: int | None,
               folded_box: Callable[[Fold], Box], function: str) -> tuple[list[Box], list[Arrow], Fold | None]:
    """Fold the middle of ``boxes`` into one box when there are more than ``collapse_above``.

    ``boxes`` are the ones that may fold (the inputs and outputs boxes stay
    out of it); ``arrows`` may join any boxes. Arrows into and out of the
    folded boxes are summed per pair of drawn boxes, in the order they first
    appear; those among the folded boxes are counted in ``Fold.inner``.
    ``folded_box`` makes the box that stands for them (key ``FOLDED``).

    Examples
    --------
    >>> boxes = [Box(f"b{i}", f"b{i}", "op", (), "#ffffff") for i in range(5)]
    >>> arrows = [Arrow(f"b{i}", f"b{i + 1}", 2) for i in range(4)]
    >>> def summary(fold): return Box(FOLDED, f"{len(fold.boxes)} folded", "", (), "#ffffff")
    >>> shown, joined, fold = fold_boxes(boxes, arrows, collapse_above=3, folded_box=summary, function="f")
    >>> [box.key for box in shown], [(a.source, a.target, a.count) for a in joined], fold.inner
    (['b0', 'folded', 'b4'], [('b0', 'folded', 2), ('folded', 'b4', 2)], 4)
    """
    check_collapse_above(collapse_above, argument="collapse_boxes_above", function=function, what="box")
    middle = fold_ends(len(boxes), collapse_above)
    if middle is None:
        return list(boxes), list(arrows), None
    folded = tuple(boxes[middle.start:middle.stop])
    key_of = {box.key: FOLDED for box in folded}
    counts: dict[tuple[str, str], int] = {}
    inner = 0
    for arrow in arrows:
        pair = (key_of.get(arrow.source, arrow.source), key_of.get(arrow.target, arrow.target))
        if pair == (FOLDED, FOLDED):
            inner += arrow.count
        else:
            counts[pair] = counts.get(pair, 0) + arrow.count
    fold = Fold(folded, len(boxes), inner)
    shown = [*boxes[:middle.start], folded_box(fold), *boxes[middle.stop:]]
    return shown, [Arrow(source, target, count) for (source, target), count in counts.items()], fold


def fold_note(fold: Fold | None, *, things: str) -> str | None:
    """What a folded box diagram leaves out, and how to draw it all; ``None`` when nothing is folded.

    Examples
    --------
    >>> boxes = tuple(Box(f"op{i}", f"op {i}", "dense", (), "#ffffff") for i in range(14, 531))
    >>> fold_note(Fold(boxes, 545, 0), things="ops")
    '545 ops: the 517 from op 14 to op 530 are folded into one box (collapse_boxes_above=None draws them all)'
    """
    if fold is None:
        return None
    return (f"{fold.total:,} {things}: the {len(fold.boxes):,} from {fold.boxes[0].title} to "
            f"{fold.boxes[-1].title} are folded into one box (collapse_boxes_above=None draws them all)")


def new_box_digraph(name: str, *, direction: str, title: str | None, note: str | None = None,
                    arrows: int = 0) -> graphviz.Digraph:
    """A top-to-bottom (or left-to-right) diagram of boxes, laid out by ``dot``, with a title and a note over it.

    ``arrows`` is how many arrows it will get: more than ``BUSY`` cut ``dot``'s searches short.
    """
    dot = graphviz.Digraph(name)
    dot.attr(rankdir=direction, bgcolor="white", pad="0.3", nodesep="0.4", ranksep="0.45",
             fontname=style.FONT)
    if arrows > BUSY:
        # Crossing reduction at half its passes, and placement (network simplex) at ten
        # iterations per box: seconds instead of minutes for hundreds of long arrows.
        dot.attr(mclimit="0.5", nslimit="10", nslimit1="10")
    dot.attr("node", shape="plaintext", fontname=style.FONT, fontsize="11", fontcolor=style.INK)
    dot.attr("edge", fontname=style.FONT, fontsize="9", fontcolor=style.MUTED, color="#555555",
             arrowsize="0.7")
    label = style.diagram_label(title, note)
    if label:
        dot.attr(label=label, labelloc="t", fontsize="14")
    return dot


def add_box(dot: graphviz.Digraph, box: Box, *, css: str) -> None:
    """Add ``box`` as a node of ``dot`` (SVG class ``css``)."""
    dot.node(box.key, box_label(box), **{"class": css})


def add_arrows(dot: graphviz.Digraph, arrows: Sequence[Arrow], *, word: str) -> None:
    """Add each arrow, labelled with its count of ``word`` (``"8 neurons"``, ``"48 connections"``)."""
    for arrow in arrows:
        dot.edge(arrow.source, arrow.target, label=f"<{style.text(style.count(arrow.count, word))}>")
