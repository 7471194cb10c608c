"""Ops' connections as CSR rows indexed by buffer column (``sparse_rows``): what the sparse product,
the level loop and the native kernel all read, so it sits below each of them."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from nngraph.compiler.arrays import grouped
from nngraph.ir.plan import SPARSE, FusedOp, Plan


@dataclass(frozen=True)
class SparseRows:
    """Sparse ops' connections as CSR arrays, one row per target, indexed by buffer column (zero
    weights stay stored): ``indptr``, ``columns``, ``weights``; ``bias`` one per target, as a column."""

    indptr: np.ndarray
    columns: np.ndarray
    weights: np.ndarray
    bias: np.ndarray


def sparse_rows(plan: Plan, ops: list[FusedOp]) -> SparseRows:
    """The connections of ``ops`` (consecutive ops of one level; a dense op gives its connections,
    not its padding) as one ``SparseRows``, their targets stacked in order."""
    # Every connection of the ops as (target, buffer column, weight), gathered op by op with no
    # more than a slice or two each, then one sort by target that keeps each target's sources in
    # row order (the ops' rows are sorted by column).
    per_row, cols, values, sizes = [], [], [], []
    for op in ops:
        if op.kind == SPARSE:
            weights = op.stored_weights  # its CSR arrays, whether or not made into a csr_array
            per_row.append(weights.indptr[1:] - weights.indptr[:-1])
            cols.append(weights.indices)
            values.append(weights.data)
        else:
            rows, columns, weights = op.connection_arrays()
            per_row.append(np.bincount(rows, minlength=op.shape[0]))
            cols.append(columns)
            values.append(weights)
        sizes.append(len(cols[-1]))
    width = [len(op.targets) for op in ops]
    offset = sum(width)
    sources = np.fromiter(map(plan.columns.__getitem__, chain.from_iterable(op.sources for op in ops)),
                          dtype=np.int64, count=sum(len(op.sources) for op in ops))
    source = np.repeat(sources, np.concatenate(per_row))
    first_target = np.cumsum(width) - width  # where each op's targets start among the ops'
    target = np.concatenate(cols).astype(np.int64) + np.repeat(first_target, sizes)
    by_target = grouped(target, offset)
    indptr = np.zeros(offset + 1, dtype=np.int64)
    np.cumsum(np.bincount(target, minlength=offset), out=indptr[1:])
    columns = source[by_target]
    index = np.int32 if max(len(columns), plan.n_columns) < 2**31 else np.int64
    return SparseRows(indptr=indptr.astype(index), columns=columns.astype(index),
                      weights=np.concatenate(values)[by_target].astype(plan.dtype),
                      bias=column(np.concatenate([op.bias for op in ops])))


def column(vector: np.ndarray) -> np.ndarray:
    """``vector`` as a contiguous column, as the buffers' blocks (targets x samples) add it."""
    return np.ascontiguousarray(vector.reshape(-1, 1))
