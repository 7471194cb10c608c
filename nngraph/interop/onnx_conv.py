"""Recognise a shared-weights op as a convolution over its layer's feature map, for an ONNX ``Conv``.

A ``SharedOp`` only says which sources each position's window reads (``window``) and the kernel it
applies; the feature maps are in the plan's layer positions (``Plan.layers``: each layer's output
neurons in C order, channels last). ``conv_geometry`` finds the layer the op computes and the layer
before it, reads the strides, dilations, padding and kernel shape off the windows, and returns them
only if rebuilding every window from them gives ``op.window`` exactly: a convolution (or a pooling
that shares its weights) of any builder or hand is then one ``Conv``; anything else keeps the
gather route of ``nngraph.interop.onnx_export``.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from nngraph.core.structure import LayerPositions
from nngraph.ir.plan import Plan, SharedOp


@dataclass(frozen=True, eq=False)
class ConvGeometry:
    """A shared-weights op as ONNX's ``Conv`` over a channels-first map: ``source`` the layer it reads
    (channels last), ``weights`` ``(filters, channels, *kernel)``, and ``Conv``'s attributes."""

    source: LayerPositions
    weights: np.ndarray
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]  # ONNX order: every axis' start, then every axis' end


def _layer_computing(plan: Plan, op: SharedOp) -> int | None:
    targets = set(op.targets)
    for index, layer in enumerate(plan.layers):
        if index and len(layer.nodes) == len(targets) and set(layer.nodes) == targets:
            return index
    return None


def _stride(coordinates: np.ndarray, outputs: np.ndarray, valid: np.ndarray, size: int) -> int | None:
    """The stride along one axis: the step under which each entry's offset is the same everywhere."""
    for stride in range(1, size + 1):
        offsets = np.where(valid, coordinates - outputs[:, None] * stride, 0)
        low = np.where(valid, offsets, np.iinfo(np.int64).max).min(axis=0)
        high = np.where(valid, offsets, np.iinfo(np.int64).min).max(axis=0)
        if np.all(low == high):
            return stride
    return None


def conv_geometry(plan: Plan, op: SharedOp) -> ConvGeometry | None:
    """The ``Conv`` that computes ``op`` (see the module doc), or ``None`` when it is no convolution
    of one layer's feature map over the one before."""
    index = _layer_computing(plan, op)
    if index is None:
        return None
    layer, source = plan.layers[index], plan.layers[index - 1]
    rank = len(layer.shape) - 1
    if rank < 1 or len(source.shape) != rank + 1 or layer.shape[-1] != op.filters:
        return None
    filters, positions, channels = op.filters, op.positions, source.shape[-1]
    where = {node: j for j, node in enumerate(layer.nodes)}
    order = np.array([where[node] for node in op.targets])
    if not np.array_equal(order, (np.arange(positions)[None, :] * filters + np.arange(filters)[:, None]).ravel()):
        return None  # the op's positions are not the layer's, in C order
    cell_of: dict[Hashable, int] = {node: j for j, node in enumerate(source.nodes)}
    if any(node not in cell_of for node in op.sources):
        return None
    cells = np.array([cell_of[node] for node in op.sources] + [-1])[op.window]  # -1 stays -1
    valid = op.window >= 0
    if not np.all(valid.any(axis=0)):
        return None
    spatial_in, spatial_out = source.shape[:-1], layer.shape[:-1]
    cell, channel = np.divmod(np.where(valid, cells, 0), channels)
    first = (valid.argmax(axis=0), np.arange(op.entries))  # where each entry first reads a source
    entry_channel = channel[first]
    if np.any(valid & (channel != entry_channel[None, :])):
        return None  # an entry reads different channels at different positions (pooling, channel by channel)
    coordinates = np.unravel_index(cell, spatial_in)
    outputs = np.unravel_index(np.arange(positions), spatial_out)
    strides, dilations, starts, kernel_index = [], [], [], []
    for axis in range(rank):
        stride = _stride(coordinates[axis], outputs[axis], valid, spatial_in[axis])
        if stride is None:
            return None
        offsets = (coordinates[axis] - outputs[axis][:, None] * stride)[first]
        grid = np.unique(offsets)
        steps = np.unique(np.diff(grid))
        if len(steps) > 1 or grid[0] > 0:
            return None
        dilation = int(steps[0]) if len(steps) else 1
        strides.append(stride)
        dilations.append(dilation)
        starts.append(int(-grid[0]))
        kernel_index.append((offsets - grid[0]) // dilation)
    kernel_shape = tuple(int(np.max(index)) + 1 for index in kernel_index)
    weights = np.zeros((filters, channels, *kernel_shape), dtype=op.kernel.dtype)
    places = (entry_channel, *kernel_index)
    if len(set(zip(*(place.tolist() for place in places)))) != op.entries:
        return None  # two entries at one kernel place
    weights[(slice(None), *places)] = op.kernel.T
    ends = [max(0, (out - 1) * stride + (size - 1) * dilation + 1 - length - start)
            for out, stride, size, dilation, length, start in zip(spatial_out, strides, kernel_shape, dilations,
                                                                   spatial_in, starts)]
    extents = [(size - 1) * dilation + 1 for size, dilation in zip(kernel_shape, dilations)]
    if [(length + start + end - extent) // stride + 1 for length, start, end, extent, stride
            in zip(spatial_in, starts, ends, extents, strides)] != list(spatial_out):
        return None  # Conv would compute more positions than the layer has
    geometry = ConvGeometry(source, weights, tuple(strides), tuple(dilations), (*starts, *ends))
    return geometry if np.array_equal(_windows(geometry, kernel_index, entry_channel, spatial_out, op),
                                      op.window) else None


def _windows(geometry: ConvGeometry, kernel_index: list[np.ndarray], entry_channel: np.ndarray,
             spatial_out: tuple[int, ...], op: SharedOp) -> np.ndarray:
    """The windows the geometry gives, as rows into ``op.sources``, -1 on padding and -2 on a cell
    that the op does not read (which ``Conv`` would read): the check that it is the op's."""
    spatial_in = geometry.source.shape[:-1]
    outputs = np.unravel_index(np.arange(op.positions), spatial_out)
    inside = np.ones(op.window.shape, dtype=bool)
    coordinates = []
    for axis, length in enumerate(spatial_in):
        at = (outputs[axis][:, None] * geometry.strides[axis] + kernel_index[axis][None, :] * geometry.dilations[axis]
              - geometry.pads[axis])
        inside &= (at >= 0) & (at < length)
        coordinates.append(np.clip(at, 0, length - 1))
    cell = np.ravel_multi_index(tuple(coordinates), spatial_in) * geometry.source.shape[-1] + entry_channel[None, :]
    row = {node: j for j, node in enumerate(op.sources)}
    rows = np.array([row.get(node, -2) for node in geometry.source.nodes])[cell]
    return np.where(inside, rows, -1)
