"""The array lowering's layout of a plain network in one loop compiled by numba.

``nngraph.compiler.lower_arrays`` finds the order of a network's neurons and cuts its connections
into ops in numpy calls, some sixty of them whatever the size: at 1e3 connections those calls, not
the connections, are most of a compile. A plain network (every neuron sums, no group-wise
activation), which is what NEAT-style genomes and most graphs built by hand are, has one op per
level; its layout is a few loops over the neurons and connections, which numba runs in one call.
``lower_arrays`` takes this loop once nngraph has had numba compile in the process
(``native.numba_in_use``, as ``arrays.array_levels`` takes numba's walk), else its numpy calls: the
results are the same (tests), so that the two are twins (keep them in step).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from nngraph.compiler.native import NATIVE_AVAILABLE, compiled


class Layout(NamedTuple):
    """Where each neuron and connection goes in the plan: what ``lower_arrays`` cuts its ops from.

    Fields
    ------
    order : the computed neurons in column order (neuron numbers of ``NetworkArrays``).
    column : each neuron's column (the inputs first, then ``order``).
    op_starts : where each op's targets start in ``order``, and the end.
    local_column : each connection's target place in its op, the connections sorted by (op, source
        column, target column); ``entry_rows``: its source's place (row) in its op;
        ``sorted_weights``: their weights in that order.
    row_sources : the source column of each row (an op's source), all ops' rows end to end.
    first_row, entries : each op's first row and first connection in that order, and the ends.
    indptrs, offsets : each op's CSR ``indptr`` (its rows' starts from 0, and its end), end to end:
        op ``k``'s is ``indptrs[offsets[k]:offsets[k + 1]]``.
    nonzeros : each op's nonzero weights.
    reads_slice : whether each op's sources are contiguous columns (or none).
    run_codes, run_counts : the runs of targets of one activation, all ops' end to end;
        ``op_first_run``: each op's first run, and the end.
    """

    order: np.ndarray
    column: np.ndarray
    op_starts: np.ndarray
    local_column: np.ndarray
    entry_rows: np.ndarray
    sorted_weights: np.ndarray
    row_sources: np.ndarray
    first_row: np.ndarray
    entries: np.ndarray
    indptrs: np.ndarray
    offsets: np.ndarray
    nonzeros: np.ndarray
    reads_slice: np.ndarray
    run_codes: np.ndarray
    run_counts: np.ndarray
    op_first_run: np.ndarray


def compiled_layout() -> Callable[..., tuple[np.ndarray, ...]] | None:
    """``_plain_layout`` compiled by numba, or ``None`` without numba."""
    return _compiled() if NATIVE_AVAILABLE else None


@functools.cache
def _compiled() -> Callable[..., tuple[np.ndarray, ...]]:
    return compiled(_plain_layout)


def _plain_layout(n_inputs: int, sources: np.ndarray, targets: np.ndarray, level: np.ndarray,
                  codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """``Layout``'s fields of a plain network (every neuron sums, none group-wise) of fewer than
    2**21 neurons and 2**31 connections, each connection once, as ``lower_arrays``' numpy calls find
    them (memory in proportion to the neurons and connections): one op per level,
    its targets in runs of one activation (``codes``, one per name), the runs in the order of their
    first neuron, each run's neurons in their order; the connections by (op, source column, target
    column). The arrays are a ``NetworkArrays``' (neuron numbers in range, levels of
    ``array_levels`` with no cycle): numba's loop does not check them."""
    n = len(level)
    computed = n - n_inputs
    n_codes = 1
    for i in range(n_inputs, n):
        n_codes = max(n_codes, codes[i] + 1)
    # Each neuron's place: by level, then its run's first neuron, then itself. A first sort by
    # (level, activation, neuron) puts each run's first neuron ahead of the rest of its run.
    key = np.empty(computed, dtype=np.int64)
    for i in range(n_inputs, n):
        key[i - n_inputs] = (level[i] * n_codes + codes[i]) * n + i
    by_run = np.argsort(key) + n_inputs
    first = 0
    for k in range(computed):
        i = by_run[k]
        if k == 0 or level[i] != level[by_run[k - 1]] or codes[i] != codes[by_run[k - 1]]:
            first = i
        key[i - n_inputs] = (level[i] * n + first) * n + i
    order = np.argsort(key) + n_inputs
    column = np.empty(n, dtype=np.int64)
    for i in range(n_inputs):
        column[i] = i
    # Ops (a level each) and runs of one activation, in column order.
    op_of = np.empty(computed, dtype=np.int64)
    op_starts = np.empty(computed + 1, dtype=np.int64)
    op_first_run = np.empty(computed + 1, dtype=np.int64)
    run_codes = np.empty(computed, dtype=np.int64)
    run_counts = np.zeros(computed, dtype=np.int64)
    n_ops = n_runs = 0
    for k in range(computed):
        i = order[k]
        column[i] = n_inputs + k
        new_op = k == 0 or level[i] != level[order[k - 1]]
        if new_op:
            op_starts[n_ops] = k
            op_first_run[n_ops] = n_runs
            n_ops += 1
        if new_op or codes[i] != codes[order[k - 1]]:
            run_codes[n_runs] = codes[i]
            n_runs += 1
        run_counts[n_runs - 1] += 1
        op_of[k] = n_ops - 1
    op_starts[n_ops] = computed
    op_first_run[n_ops] = n_runs
    # The connections by (op, source column, target column): one key each, all distinct.
    m = len(sources)
    key = np.empty(m, dtype=np.int64)
    for e in range(m):
        target = column[targets[e]]
        key[e] = (op_of[target - n_inputs] * n + column[sources[e]]) * n + target
    by_op = np.argsort(key)
    local_column = np.empty(m, dtype=np.int32)
    entry_rows = np.empty(m, dtype=np.int64)
    sorted_weights = np.empty(m, dtype=weights.dtype)
    row_sources = np.empty(m, dtype=np.int64)
    row_starts = np.empty(m + 1, dtype=np.int64)
    first_row = np.empty(n_ops + 1, dtype=np.int64)
    entries = np.empty(n_ops + 1, dtype=np.int64)
    nonzeros = np.zeros(n_ops, dtype=np.int64)
    n_rows = 0
    op = 0  # the next op whose first row is still to be marked
    previous_op, previous_source = -1, -1
    for j in range(m):
        e = by_op[j]
        target, source = column[targets[e]], column[sources[e]]
        this_op = op_of[target - n_inputs]
        while op <= this_op:  # this op's first row (and any op before it without connections)
            first_row[op], entries[op] = n_rows, j
            op += 1
        if this_op != previous_op or source != previous_source:
            row_sources[n_rows], row_starts[n_rows] = source, j
            n_rows += 1
            previous_op, previous_source = this_op, source
        local_column[j] = target - n_inputs - op_starts[this_op]
        entry_rows[j] = n_rows - 1 - first_row[this_op]
        sorted_weights[j] = weights[e]
        if weights[e] != 0:
            nonzeros[this_op] += 1
    while op <= n_ops:
        first_row[op], entries[op] = n_rows, m
        op += 1
    row_starts[n_rows] = m
    # Each op's indptr, end to end, and whether its sources are one run of columns.
    offsets = np.empty(n_ops + 1, dtype=np.int64)
    indptrs = np.empty(n_rows + n_ops, dtype=np.int32)
    reads_slice = np.empty(n_ops, dtype=np.bool_)
    place = 0
    for k in range(n_ops):
        offsets[k] = place
        for r in range(first_row[k], first_row[k + 1] + 1):
            indptrs[place] = row_starts[r] - entries[k]
            place += 1
        rows = first_row[k + 1] - first_row[k]
        reads_slice[k] = rows == 0 or row_sources[first_row[k + 1] - 1] - row_sources[first_row[k]] + 1 == rows
    offsets[n_ops] = place
    return (order, column, op_starts[:n_ops + 1].copy(), local_column, entry_rows, sorted_weights,
            row_sources[:n_rows].copy(), first_row, entries, indptrs, offsets, nonzeros, reads_slice,
            run_codes[:n_runs].copy(), run_counts[:n_runs].copy(), op_first_run[:n_ops + 1].copy())


def compiled_levels_in_order() -> Callable[..., tuple[np.ndarray, ...]] | None:
    """``_levels_in_order`` compiled by numba, or ``None`` without numba."""
    return _compiled_levels_in_order() if NATIVE_AVAILABLE else None


@functools.cache
def _compiled_levels_in_order() -> Callable[..., tuple[np.ndarray, ...]]:
    return compiled(_levels_in_order)


def _levels_in_order(n_inputs: int, level: np.ndarray, codes: np.ndarray,
                     is_output: np.ndarray) -> tuple[np.ndarray, ...]:
    """What ``lower_arrays.level_columns`` reads, as its numpy calls find it: the computed neurons by
    level, each level's in neuron order (a counting sort); where each level starts among them, and
    the end; per level the lowest and highest activation code, and whether all are outputs."""
    n = len(level)
    top = 0
    for i in range(n_inputs, n):
        top = max(top, level[i])
    place = np.zeros(top + 2, dtype=np.int64)
    for i in range(n_inputs, n):
        place[level[i] + 1] += 1
    for value in range(top + 1):
        place[value + 1] += place[value]
    order = np.empty(n - n_inputs, dtype=np.int64)
    for i in range(n_inputs, n):
        order[place[level[i]]] = i
        place[level[i]] += 1
    starts = np.empty(n - n_inputs + 1, dtype=np.int64)
    lowest = np.empty(n - n_inputs, dtype=codes.dtype)
    highest = np.empty(n - n_inputs, dtype=codes.dtype)
    outputs_only = np.empty(n - n_inputs, dtype=np.bool_)
    runs = 0
    for k in range(n - n_inputs):
        i = order[k]
        if k == 0 or level[i] != level[order[k - 1]]:
            starts[runs], lowest[runs], highest[runs], outputs_only[runs] = k, codes[i], codes[i], is_output[i]
            runs += 1
        else:
            lowest[runs - 1] = min(lowest[runs - 1], codes[i])
            highest[runs - 1] = max(highest[runs - 1], codes[i])
            outputs_only[runs - 1] = outputs_only[runs - 1] and is_output[i]
    starts[runs] = n - n_inputs
    return order, starts[:runs + 1].copy(), lowest[:runs].copy(), highest[:runs].copy(), outputs_only[:runs].copy()
