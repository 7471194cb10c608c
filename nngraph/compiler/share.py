"""Pass ``share_weights``: ops of one level that apply the same weights to shifted sources become
one shared-weights op (``nngraph.ir.plan.SharedOp``).

Lowering makes one op per set of neurons with the same predecessors, so a convolution arrives as
one small dense op per output position: its filters, fully connected to the window under the
kernel. Those ops hold the same weights row for row; only their sources differ. The pass finds
them from the weights alone, with no knowledge of layers, so a network built neuron by neuron
compiles as well as one built by ``Conv2D``: ops of one level with the same element-wise
activation and the same number of targets are compared row by row (a row is the weights from
one source to the op's targets, in target order); equal rows are the same kernel entry. Ops
linked by a common row form a block; its kernel is every distinct row, and each op becomes one
position of the window, reading the source of each row it has (an entry it lacks, such as one on
a convolution's padding, reads nothing). A block becomes one op when the cost model says so
(``costs.sharing_pays``); the rest are left to the other passes.

Legal because every target keeps exactly its connections and weights: equal rows give equal
terms, and an entry without a source adds a zero. Only fully connected ops qualify (no padding),
and ops of one level never read each other.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nngraph.compiler.costs import sharing_pays
from nngraph.ir.plan import DENSE, FusedOp, Plan, SharedOp, shared_op

MIN_POSITIONS = 2  # a block of one op shares nothing


@dataclass(frozen=True)
class _Rows:
    """An op's rows as keys: ``keys[r]`` names row ``r`` of its weights (its bytes, and how many
    equal rows come before it in the op, so that equal rows stay distinct entries)."""

    op: FusedOp
    keys: tuple[tuple[bytes, int], ...]


def _rows(op: FusedOp) -> _Rows:
    seen: dict[bytes, int] = {}
    keys = []
    for row in np.ascontiguousarray(op.weights):
        text = row.tobytes()
        keys.append((text, seen.get(text, 0)))
        seen[text] = seen.get(text, 0) + 1
    return _Rows(op, tuple(keys))


def _candidate(op: object) -> bool:
    """Fully connected dense weighted-sum ops with sources and one element-wise activation (a shared
    kernel applies one activation: a mixed op is never shared)."""
    return (isinstance(op, FusedOp) and op.kind == DENSE and not op.padded and len(op.sources) > 0
            and op.activations is None and not op.group_wise)


def _blocks(members: list[_Rows]) -> list[list[_Rows]]:
    """Split ops into blocks linked by common rows (union-find), each in plan order."""
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[bytes, int], int] = {}
    for i, rows in enumerate(members):
        for key in rows.keys:
            j = first.setdefault(key, i)
            if j != i:
                parent[root(i)] = root(j)
    blocks: dict[int, list[_Rows]] = {}
    for i, rows in enumerate(members):
        blocks.setdefault(root(i), []).append(rows)
    return list(blocks.values())


def _shared(block: list[_Rows], columns: Mapping[Hashable, int], *, force: bool) -> SharedOp | None:
    """The block as one shared-weights op, or None when the cost model prefers the ops apart
    (unless ``force``)."""
    # Kernel rows in the order of the op with the most sources first (a convolution's interior
    # position: the kernel's own order), then in the order they appear.
    fullest = max(block, key=lambda rows: len(rows.keys))
    entry: dict[tuple[bytes, int], int] = {}
    for rows in [fullest, *block]:
        for key in rows.keys:
            entry.setdefault(key, len(entry))
    filters = len(block[0].op.targets)
    connections = sum(len(rows.keys) for rows in block) * filters
    sources = sorted({node for rows in block for node in rows.op.sources}, key=columns.__getitem__)
    if not force and not sharing_pays(positions=len(block), entries=len(entry), filters=filters,
                                      connections=connections, sources=len(sources)):
        return None
    row_of = {node: i for i, node in enumerate(sources)}
    window = np.full((len(block), len(entry)), -1, dtype=np.int64)
    kernel = np.zeros((len(entry), filters), dtype=block[0].op.weights.dtype)
    for position, rows in enumerate(block):
        op = rows.op
        for r, key in enumerate(rows.keys):
            window[position, entry[key]] = row_of[op.sources[r]]
            kernel[entry[key]] = op.weights[r]
    first = block[0].op
    targets = [rows.op.targets[f] for f in range(filters) for rows in block]
    bias = np.array([rows.op.bias[f] for f in range(filters) for rows in block], dtype=first.bias.dtype)
    return shared_op(index=first.index, targets=targets, sources=sources, window=window, kernel=kernel,
                     bias=bias, activation=first.activation, level=first.level)


def share_weights(plan: Plan, *, force: bool = False) -> Plan:
    """Replace each block of ops that share their weights by one shared-weights op (see the module
    doc); ``force`` shares every block of two ops or more, whatever the cost model says.

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Conv2D
    >>> model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1))], seed=0)
    >>> plan = build_plan(model.graph, passes=())
    >>> len(plan.ops), [(op.kind, op.kernel.shape, op.positions) for op in share_weights(plan).ops]
    (36, [('shared', (9, 4), 36)])
    """
    buckets: dict[tuple, list[FusedOp]] = {}
    for op in plan.ops:
        if _candidate(op):
            buckets.setdefault((op.level, op.activation, len(op.targets)), []).append(op)
    replaced: dict[int, SharedOp | None] = {}  # op index -> its shared op (at the block's first op)
    for ops in buckets.values():
        if len(ops) < MIN_POSITIONS:
            continue
        for block in _blocks([_rows(op) for op in ops]):
            if len(block) < MIN_POSITIONS:
                continue
            shared = _shared(block, plan.columns, force=force)
            if shared is None:
                continue
            for rows in block:
                replaced[rows.op.index] = None
            replaced[block[0].op.index] = shared
    if not replaced:
        return plan
    from nngraph.compiler.passes import relayout  # passes imports this module: imported when first needed

    ops: list[Sequence] = [replaced[op.index] if op.index in replaced else op for op in plan.ops]
    return relayout(plan, [op for op in ops if op is not None])
