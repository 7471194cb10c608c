"""Where each neuron of the neuron diagram goes, and which connections are drawn one by one or bundled.

Positions are pinned, not left to a layout engine: column ``c`` sits at
``x = c * column_gap`` and its ``k``-th shown neuron at ``y = -k * row_gap``,
centred on the diagram's middle line. So columns are straight, neurons keep
their declaration order top to bottom, and the picture of a network does not
move when a neuron is added elsewhere.

A column with more than ``collapse_above`` neurons shows its first and last
``(collapse_above - 1) // 2`` neurons around one "+N more" slot that stands for
the rest. Connections between two shown neurons are drawn one by one; all
connections that touch a folded neuron are bundled, one edge per pair of
slots, carrying their count.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import networkx as nx

from nngraph.errors import RenderError
from nngraph.core.network import LAYER, WEIGHT
from nngraph.core.structure import Column, columns


@dataclass(frozen=True)
class Geometry:
    """Sizes in inches: the distance between columns and between rows, and a neuron's diameter."""

    column_gap: float
    row_gap: float
    diameter: float


@dataclass(frozen=True)
class Slot:
    """One drawn node of a column: a neuron (``node``) or the "+N more" node (``folded``)."""

    key: str
    node: Hashable | None
    folded: tuple[Hashable, ...]
    column: int
    x: float
    y: float


@dataclass(frozen=True)
class ShownColumn:
    """A display column and the slots drawn for it, top to bottom."""

    column: Column
    index: int
    slots: tuple[Slot, ...]

    @property
    def x(self) -> float:
        """The column's horizontal position, in inches."""
        return self.slots[0].x


@dataclass(frozen=True)
class Layout:
    """The whole neuron diagram's geometry: shown columns, and the slot of each neuron."""

    columns: tuple[ShownColumn, ...]
    slot_of: Mapping[Hashable, Slot]
    geometry: Geometry
    top: float
    bottom: float


@dataclass(frozen=True)
class Link:
    """One drawn edge: a connection (``count == 1``, ``edge`` set) or a bundle of ``count`` connections.

    ``weight`` is the connection's weight (for a bundle, the sum of weights);
    ``contribution`` is ``weight * value of the source`` (summed for a bundle),
    or ``None`` without values.
    """

    source: Slot
    target: Slot
    count: int
    weight: float
    contribution: float | None
    edge: tuple[Hashable, Hashable] | None


def is_layer(G: nx.DiGraph, column: Column) -> bool:
    """Whether ``column`` is a layer (``columns`` groups by layer when every neuron names one)."""
    return G.nodes[column.nodes[0]].get(LAYER) == column.name


def check_collapse_above(collapse_above: object) -> None:
    """Raise ``RenderError`` unless ``collapse_above`` is ``None`` or a whole number of at least 3."""
    if collapse_above is not None and (isinstance(collapse_above, bool) or not isinstance(
            collapse_above, int) or collapse_above < 3):
        raise RenderError(f"render_neurons: collapse_above must be a whole number of at least 3, "
                          f"or None to draw every neuron; got {collapse_above!r}")


def _column_slots(column: Column, index: int, first_key: int, collapse_above: int | None,
                  geometry: Geometry) -> tuple[Slot, ...]:
    nodes = column.nodes
    if collapse_above is None or len(nodes) <= collapse_above:
        groups: list[tuple[Hashable | None, tuple[Hashable, ...]]] = [(node, ()) for node in nodes]
    else:
        keep = (collapse_above - 1) // 2
        groups = [(node, ()) for node in nodes[:keep]]
        groups.append((None, tuple(nodes[keep:len(nodes) - keep])))
        groups += [(node, ()) for node in nodes[len(nodes) - keep:]]
    x = index * geometry.column_gap
    middle = (len(groups) - 1) / 2
    return tuple(
        Slot(key=f"n{first_key + row}" if node is not None else f"more{index}", node=node, folded=folded,
             column=index, x=x, y=(middle - row) * geometry.row_gap)
        for row, (node, folded) in enumerate(groups))


def lay_out(G: nx.DiGraph, *, collapse_above: int | None, geometry: Geometry) -> Layout:
    """Place every column of ``G`` (see ``nngraph.columns``) and fold the wide ones.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> layout = lay_out(lesson_model().graph, collapse_above=10, geometry=Geometry(2.0, 0.6, 0.4))
    >>> [len(column.slots) for column in layout.columns]
    [8, 6, 6, 4]
    """
    check_collapse_above(collapse_above)
    shown: list[ShownColumn] = []
    slot_of: dict[Hashable, Slot] = {}
    first_key = 0
    for index, column in enumerate(columns(G)):
        slots = _column_slots(column, index, first_key, collapse_above, geometry)
        first_key += len(slots)
        shown.append(ShownColumn(column, index, slots))
        for slot in slots:
            for node in (slot.node,) if slot.node is not None else slot.folded:
                slot_of[node] = slot
    top = max(column.slots[0].y for column in shown)
    return Layout(tuple(shown), slot_of, geometry, top, -top)


def links(G: nx.DiGraph, layout: Layout, values: Mapping[Hashable, float] | None) -> list[Link]:
    """Every drawn edge, in a fixed order: connections between shown neurons, then bundles.

    One pass over the connections (so a 784-512-512-10 network costs well under
    a second): a connection between two shown neurons is drawn as itself; the
    rest are summed per pair of slots.
    """
    slot_of = layout.slot_of
    singles: list[Link] = []
    bundles: dict[tuple[str, str], list] = {}
    for source, target, weight in G.edges(data=WEIGHT):
        a, b = slot_of[source], slot_of[target]
        contribution = None if values is None else weight * values[source]
        if a.node is not None and b.node is not None:
            singles.append(Link(a, b, 1, weight, contribution, (source, target)))
            continue
        entry = bundles.setdefault((a.key, b.key), [a, b, 0, 0.0, 0.0])
        entry[2] += 1
        entry[3] += weight
        entry[4] += 0.0 if contribution is None else contribution
    folded = [Link(a, b, count, total, None if values is None else contributed, None)
              for a, b, count, total, contributed in bundles.values()]
    return singles + folded
