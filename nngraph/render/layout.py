"""Where each neuron of the neuron diagram goes, and which connections are drawn one by one or bundled.

Positions are pinned, not left to a layout engine: column ``c`` sits at
``x = c * column_gap`` and its ``k``-th shown neuron at ``y = -k * row_gap``,
centred on the diagram's middle line. So columns are straight, neurons keep
their declaration order top to bottom, and the picture of a network does not
move when a neuron is added elsewhere.

A column with more than ``collapse_above`` neurons shows its first and last
``(collapse_above - 1) // 2`` neurons around one "+N more" slot that stands for
the rest. Likewise a network with more than ``collapse_columns_above`` columns
(a deep one: a column per level) shows its first and last
``(collapse_columns_above - 1) // 2`` columns around one folded column, a single
"+N more" slot standing for every neuron of the columns in between, so that the
picture, and Graphviz's work, stay bounded however deep the network is.
Connections between two shown neurons are drawn one by one; all connections
that touch a folded neuron are bundled, one edge per pair of slots, carrying
their count.

A layer whose output has several axes (a convolution's ``(rows, cols,
channels)``, from the graph's layer records) is drawn as feature maps: one
block per channel, ``MAP_HEIGHT`` tall, standing for all of that channel's
neurons, at most ``MAPS_SHOWN`` of them around one block for the maps in
between. Connections between two maps are then bundled per pair, one edge per
kernel, carrying their count.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from nngraph.errors import RenderError
from nngraph.core.network import LAYER, OUTPUT, WEIGHT
from nngraph.core.structure import Column, columns, group_base, inner_neurons, layer_positions

MAPS_SHOWN = 6     # feature maps drawn in a column before the middle ones fold into one block
MAP_HEIGHT = 1.3   # inches a feature map's block takes, top to bottom, gaps included


@dataclass(frozen=True)
class Geometry:
    """Sizes in inches: the distance between columns and between rows, and a neuron's diameter."""

    column_gap: float
    row_gap: float
    diameter: float


@dataclass(frozen=True)
class FeatureMap:
    """What a feature map's block stands for: its ``channels`` (one, or the folded maps in between)
    and the spatial ``shape`` of one map; ``grid`` holds one channel's neurons in that shape (for
    one channel only)."""

    channels: tuple[int, ...]
    shape: tuple[int, ...]
    grid: np.ndarray | None


@dataclass(frozen=True)
class Slot:
    """One drawn node of a column: a neuron (``node``), the "+N more" node (``folded``), or a feature
    map's block (``feature_map``, its neurons ``folded``)."""

    key: str
    node: Hashable | None
    folded: tuple[Hashable, ...]
    column: int
    x: float
    y: float
    feature_map: FeatureMap | None = None


@dataclass(frozen=True)
class ShownColumn:
    """A display column and the slots drawn for it, top to bottom.

    A column that stands for several folded columns lists them in ``folded``;
    its ``column`` then holds all their neurons.
    """

    column: Column
    index: int
    slots: tuple[Slot, ...]
    folded: tuple[Column, ...] = ()
    shape: tuple[int, ...] | None = None  # the layer's output shape, for a column of feature maps

    @property
    def x(self) -> float:
        """The column's horizontal position, in inches."""
        return self.slots[0].x


@dataclass(frozen=True)
class Layout:
    """The whole neuron diagram's geometry: shown columns, the slot of each neuron, and the fold, if any.

    ``column_count`` is the number of columns of the network, shown or folded.
    """

    columns: tuple[ShownColumn, ...]
    slot_of: Mapping[Hashable, Slot]
    geometry: Geometry
    top: float
    bottom: float
    column_count: int

    @property
    def fold(self) -> ShownColumn | None:
        """The column that stands for folded columns, or ``None`` when every column is drawn."""
        return next((column for column in self.columns if column.folded), None)


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
    """Whether ``column`` is a layer (``columns`` groups by layer when every neuron names one, or by
    layer record)."""
    layer = G.nodes[column.nodes[0]].get(LAYER)
    return layer is not None and group_base(layer) == column.name or column.name in {
        record["name"] for record in G.graph.get("layers") or ()}


def check_collapse_above(value: object, *, argument: str = "collapse_above", function: str = "render_neurons",
                         what: str = "neuron") -> None:
    """Raise ``RenderError`` unless ``value`` is ``None`` or a whole number of at least 3.

    Three is the least that folding can show: a first item, the folded rest, a last item.
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 3):
        raise RenderError(f"{function}: {argument} must be a whole number of at least 3, "
                          f"or None to draw every {what}; got {value!r}")


def fold_ends(count: int, collapse_above: int | None) -> range | None:
    """The middle indices of ``count`` items that fold into one when there are more than ``collapse_above``.

    The first and last ``(collapse_above - 1) // 2`` items stay; ``None`` when
    nothing folds.

    Examples
    --------
    >>> fold_ends(292, 30), fold_ends(30, 30), fold_ends(5, None)
    (range(14, 278), None, None)
    """
    if collapse_above is None or count <= collapse_above:
        return None
    keep = (collapse_above - 1) // 2
    return range(keep, count - keep)


def _folded_column(folded: list[Column]) -> Column:
    """One column holding every neuron of ``folded``: an output column only if all of them are."""
    nodes = tuple(node for column in folded for node in column.nodes)
    activations = {column.activation for column in folded}
    role = OUTPUT if all(column.role == OUTPUT for column in folded) else "hidden"
    return Column(f"{folded[0].name} … {folded[-1].name}", role, nodes,
                  activations.pop() if len(activations) == 1 else "mixed", folded[0].level)


def _column_slots(column: Column, index: int, first_key: int, collapse_above: int | None,
                  geometry: Geometry, *, whole: bool) -> tuple[Slot, ...]:
    """The slots of one column; ``whole`` folds all of its neurons into one "+N more" slot."""
    nodes = column.nodes
    hidden = range(len(nodes)) if whole else fold_ends(len(nodes), collapse_above)
    groups: list[tuple[Hashable | None, tuple[Hashable, ...]]] = [(node, ()) for node in nodes]
    if hidden is not None:
        groups[hidden.start:hidden.stop] = [(None, nodes[hidden.start:hidden.stop])]
    x = index * geometry.column_gap
    middle = (len(groups) - 1) / 2
    return tuple(
        Slot(key=f"n{first_key + row}" if node is not None else f"more{index}", node=node, folded=folded,
             column=index, x=x, y=(middle - row) * geometry.row_gap)
        for row, (node, folded) in enumerate(groups))


def lay_out(G: nx.DiGraph, *, collapse_above: int | None, geometry: Geometry,
            collapse_columns_above: int | None = None) -> Layout:
    """Place every column of ``G`` (see ``nngraph.columns``), fold the wide ones, and fold the middle
    columns into one when there are more than ``collapse_columns_above``.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> layout = lay_out(lesson_model().graph, collapse_above=10, geometry=Geometry(2.0, 0.6, 0.4))
    >>> [len(column.slots) for column in layout.columns]
    [8, 6, 6, 4]
    >>> folded = lay_out(lesson_model().graph, collapse_above=10, geometry=Geometry(2.0, 0.6, 0.4),
    ...                  collapse_columns_above=3)
    >>> [len(column.slots) for column in folded.columns], [c.name for c in folded.fold.folded]
    ([8, 1, 4], ['dense', 'dense_1'])
    """
    check_collapse_above(collapse_above)
    check_collapse_above(collapse_columns_above, argument="collapse_columns_above", what="column")
    every = columns(G)
    middle = fold_ends(len(every), collapse_columns_above)
    drawn: list[tuple[Column, tuple[Column, ...]]] = [(column, ()) for column in every]
    if middle is not None:
        folded = every[middle.start:middle.stop]
        drawn[middle.start:middle.stop] = [(_folded_column(folded), tuple(folded))]
    maps = feature_maps(G)
    shown: list[ShownColumn] = []
    slot_of: dict[Hashable, Slot] = {}
    first_key = 0
    for index, (column, stands_for) in enumerate(drawn):
        grid = None if stands_for else maps.get(column.name)
        if grid is not None and set(grid.reshape(-1).tolist()) == set(column.nodes):
            slots = _map_slots(grid, index, first_key, geometry)
        else:
            grid = None
            slots = _column_slots(column, index, first_key, collapse_above, geometry, whole=bool(stands_for))
        first_key += len(slots)
        shown.append(ShownColumn(column, index, slots, stands_for, None if grid is None else grid.shape))
        for slot in slots:
            for node in (slot.node,) if slot.node is not None else slot.folded:
                slot_of[node] = slot
    # A feature map's block reaches further up than a neuron: the captions go above it.
    top = max(column.slots[0].y + (MAP_HEIGHT - geometry.row_gap) / 2 * (column.shape is not None)
              for column in shown)
    return Layout(tuple(shown), slot_of, geometry, top, -top, len(every))


def feature_maps(G: nx.DiGraph) -> dict[str, np.ndarray]:
    """The layers (and input) of ``G`` whose output has several axes, by column name: their output
    neurons in Keras' shape, channels last (from the graph's layer records); and the neurons a
    layer computes inside, where they are as many, in the same shape."""
    maps = {layer.name: np.array(layer.nodes, dtype=object).reshape(layer.shape)
            for layer in layer_positions(G) if len(layer.shape) > 1}
    for name, (record, nodes) in inner_neurons(G).items():
        if record in maps and maps[record].size == len(nodes):
            maps[name] = np.array(nodes, dtype=object).reshape(maps[record].shape)
    return maps


def _map_slots(grid: np.ndarray, index: int, first_key: int, geometry: Geometry) -> tuple[Slot, ...]:
    """One block per channel of ``grid`` (neurons shaped as the layer's output), the middle ones
    folded into one block past ``MAPS_SHOWN``."""
    channels = grid.shape[-1]
    blocks: list[tuple[int, ...]] = [(c,) for c in range(channels)]
    middle = fold_ends(channels, MAPS_SHOWN)
    if middle is not None:
        blocks[middle.start:middle.stop] = [tuple(middle)]
    x = index * geometry.column_gap
    spatial = grid.shape[:-1]
    slots = []
    for row, block in enumerate(blocks):
        neurons = tuple(node for c in block for node in grid[..., c].reshape(-1).tolist())
        one = grid[..., block[0]] if len(block) == 1 else None
        slots.append(Slot(key=f"map{first_key + row}", node=None, folded=neurons, column=index, x=x,
                          y=((len(blocks) - 1) / 2 - row) * MAP_HEIGHT,
                          feature_map=FeatureMap(block, spatial, one)))
    return tuple(slots)


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
