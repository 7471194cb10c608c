"""Feature maps in the neuron diagram: a block per channel, a grid in the map's shape, coloured by value.

A convolution's output of ``(rows, cols, channels)`` neurons is too many circles to draw, but its
shape is what a reader wants to see. So each channel is one block: a caption (``channel 3 ·
24×24``) over a grid of cells laid out as the map is, at most ``MAP_CELLS`` a side (a larger map's
cells average blocks of neurons). Without a trace the cells are grey; with one, each cell is filled
by its value on the diagram's colour scale, so a traced sample colours the map as an image. The
maps folded in the middle of a column are one dashed block saying how many.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import graphviz
import numpy as np

from nngraph.errors import RenderError
from nngraph.render import style
from nngraph.render.layout import FeatureMap, Slot
from nngraph.render.slots import pos
from nngraph.render.values import Readings

MAP_CELLS = 12      # cells a side, at most: larger maps are averaged down to this
GRID_POINTS = 64    # the longer side of a map's grid, in points (a small map's cells are larger)
EMPTY_CELL = "#e6e6e6"


def cell_grid(values: np.ndarray) -> np.ndarray:
    """``values`` (a map, 1-D or 2-D) as a 2-D grid of at most ``MAP_CELLS`` a side, each cell the mean
    of the values it covers.

    Examples
    --------
    >>> cell_grid(np.arange(4.0)).tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    >>> cell_grid(np.arange(576.0).reshape(24, 24)).shape
    (12, 12)
    """
    grid = values.reshape(1, -1) if values.ndim == 1 else values.reshape(values.shape[0], -1)
    rows = [part for part in np.array_split(grid, min(MAP_CELLS, grid.shape[0]), axis=0)]
    cells = [[part.mean() for part in np.array_split(row, min(MAP_CELLS, grid.shape[1]), axis=1)] for row in rows]
    return np.array(cells, dtype=float)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) or "1"


def add_feature_map(dot: graphviz.Digraph, slot: Slot, *, layer: str, readings: Readings | None) -> None:
    """Draw the block of ``slot``'s feature map (or of the maps folded in the middle of its column)."""
    found = slot.feature_map
    if found is None:
        raise RenderError(f"slot {slot.key} stands for no feature map")
    if found.grid is None:
        _add_folded_maps(dot, slot, found, layer)
        return
    shape = _shape_text(found.shape)
    channel = found.channels[0]
    tooltip = [f"{layer}: channel {channel}, {shape} = {len(slot.folded):,} neurons "
               f"({slot.folded[0]!s} ... {slot.folded[-1]!s})"]
    if readings is None:  # one grey cell in the map's proportions
        rows, cols = (1, found.shape[0]) if len(found.shape) == 1 else found.shape[:2]
        scale = GRID_POINTS / max(rows, cols)
        body = (f'<tr><td width="{max(4, round(cols * scale))}" height="{max(4, round(rows * scale))}" '
                f'fixedsize="true" bgcolor="{EMPTY_CELL}"></td></tr>')
        columns = 1
    else:
        values = np.array([readings.values[node] for node in found.grid.reshape(-1).tolist()],
                          dtype=float).reshape(found.grid.shape)
        fills = [[style.value_fill(value, readings.largest) for value in row] for row in cell_grid(values).tolist()]
        finite = values[np.isfinite(values)]
        if finite.size:
            tooltip.append(f"values from {style.number(float(finite.min()))} to "
                           f"{style.number(float(finite.max()))}, mean {style.number(float(finite.mean()))}")
        size = max(4, math.floor(GRID_POINTS / max(len(fills), len(fills[0]))))
        body = "".join("<tr>" + "".join(f'<td width="{size}" height="{size}" fixedsize="true" bgcolor="{fill}"></td>'
                                        for fill in row) + "</tr>" for row in fills)
        columns = len(fills[0])
    caption = f'<tr><td colspan="{columns}"><font point-size="8">channel {channel} · {shape}</font></td></tr>'
    table = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="0">{caption}{body}</table>'
    dot.node(slot.key, f"<{table}>", shape="box", style="rounded,filled", fillcolor=style.WHITE,
             color=style.MUTED, margin="0.06", pos=pos(slot.x, slot.y),
             tooltip=graphviz.nohtml("\\n".join(style.tooltip(line) for line in tooltip)), **{"class": "map"})


def _add_folded_maps(dot: graphviz.Digraph, slot: Slot, found: FeatureMap, layer: str) -> None:
    """The dashed block standing for the maps folded in the middle of a column."""
    channels, shape = found.channels, _shape_text(found.shape)
    lines = [f"+{len(channels):,} maps",
             f'<font point-size="8">channels {channels[0]}–{channels[-1]}, {shape} each</font>']
    tooltip = (f"{layer}: {len(channels):,} feature maps not drawn (channels {channels[0]} to {channels[-1]}), "
               f"{len(slot.folded):,} neurons: {slot.folded[0]!s} ... {slot.folded[-1]!s}")
    dot.node(slot.key, "<" + "<br/>".join(lines) + ">", shape="box", style="rounded,dashed,filled",
             fillcolor=style.WHITE, color=style.MUTED, fontcolor=style.MUTED, fontsize="10",
             pos=pos(slot.x, slot.y), tooltip=style.tooltip(tooltip), **{"class": "more map"})


def map_neurons(slot: Slot) -> tuple[Hashable, ...]:
    """The neurons a drawn block shows by colour: one map's, none for the folded maps."""
    found = slot.feature_map
    return slot.folded if found is not None and found.grid is not None else ()
