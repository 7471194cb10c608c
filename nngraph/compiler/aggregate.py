"""The lines of ``forward`` for an aggregate op: a gather of its terms and one numpy reduction each.

For each reduction of the op (targets that aggregate alike, ``K`` terms each), one line gathers the
values of the terms' sources, ``A[I]`` of shape ``(targets, K, batch)`` (``I`` holds buffer columns),
multiplies them by their weights ``w`` (``(targets, K, 1)``), reduces the terms' axis with the
registry's aggregation (``nngraph.core.aggregations``, the one the reference pass uses) and adds the
bias, into the op's weighted sums; then the activation computes the values, as for every op.
Every term is a connection, so a NaN reaches exactly the neurons it feeds. Speed: one gather and
one reduction per reduction of the op, each a temporary of ``targets * K * batch`` numbers.

Slices instead of a gather: where consecutive targets read consecutive columns in each term (the
gates of a recurrent cell: ``f[j] * cell[j]`` for every unit ``j``), a run of them is computed
from slices of the buffer, with no gather and no temporary: ``np.multiply(A[f0:f1], A[c0:c1],
out=z[r0:r1])`` (``np.maximum``, ``np.minimum`` for max and min), a term's weights multiplied in
only where they are not all 1 and the bias added only where it is not all 0. It is used for the
reductions of product, max and min whose runs, times their terms, are at most ``MAX_SLICE_CALLS``
(the numpy calls of the gather form: gather, weights, reduction, bias) and hold two targets or
more on average; the code's comments say which form each reduction takes.
"""

from __future__ import annotations

import numpy as np

from nngraph.compiler.costs import CodegenOptions
from nngraph.compiler.products import GroupLines, activation_lines
from nngraph.core.aggregations import resolve_aggregation
from nngraph.ir.plan import AggregateOp, Plan, Reduction
from nngraph.ir.text import op_comment

# Aggregations whose reduction of two terms is one numpy ufunc (the same one ``reduce`` applies,
# so NaN propagates alike), for the slice form.
PAIRWISE = {"product": "np.multiply", "max": "np.maximum", "min": "np.minimum"}
MAX_SLICE_CALLS = 4  # runs x terms of a reduction in the slice form, at most


def aggregate_lines(plan: Plan, op: AggregateOp, constants: dict[str, object], producer: dict,
                    options: CodegenOptions) -> GroupLines:
    """The lines computing ``op`` (the constants they name go into ``constants``).

    Constants, for op ``k``: ``b<k>`` its bias as a column; for its ``r``-th reduction, ``I<k>_<r>``
    the buffer columns of each target's terms, ``w<k>_<r>`` their weights and ``R<k>_<r>`` the
    registry's aggregation.

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x0", "x1"], role="input")
    >>> G.add_node("m", role="output", aggregation="max")
    >>> G.add_weighted_edges_from([("x0", "m", 1.0), ("x1", "m", -1.0)])
    >>> [line.strip() for line in nngraph.compile_network(G).code.splitlines() if "R0_0(" in line]
    ['np.add(R0_0(A[I0_0] * w0_0, axis=1), b0[0:1], out=z[0:1])  # max of 2 terms each']
    """
    k = op.index
    start = plan.columns[op.targets[0]]
    columns = np.array([plan.columns[node] for node in op.sources], dtype=np.intp)
    constants[f"b{k}"] = np.ascontiguousarray(op.bias.reshape(-1, 1))
    lines = [op_comment(op, producer),
             f"z, a = Z[{start}:{start + len(op.targets)}], A[{start}:{start + len(op.targets)}]",
             "with np.errstate(invalid='ignore', over='ignore'):  # 0 * inf, inf - inf, overflow: as the "
             "reference"]
    for r, reduction in enumerate(op.reductions):
        name = f"{k}_{r}"
        runs = slice_runs(reduction, columns)
        if runs is not None:
            lines += ["    " + line for line in _slice_lines(reduction, runs, columns, op.bias, name, constants)]
            continue
        constants[f"I{name}"] = columns[reduction.rows]
        constants[f"w{name}"] = np.ascontiguousarray(reduction.weights[:, :, None])
        constants[f"R{name}"] = resolve_aggregation(reduction.aggregation)
        block = f"{reduction.start}:{reduction.start + len(reduction.rows)}"
        lines.append(f"    np.add(R{name}(A[I{name}] * w{name}, axis=1), b{k}[{block}], out=z[{block}])  "
                     f"# {reduction.aggregation} of {reduction.rows.shape[1]} terms each")
    lines += activation_lines(op, constants, options)
    reads_inputs = bool(len(columns)) and int(columns.min()) < len(plan.inputs)
    return GroupLines(lines, reads_inputs, padded=False)


def slice_runs(reduction: Reduction, columns: np.ndarray) -> list[tuple[int, int]] | None:
    """The runs ``(first, stop)`` of a reduction's targets that read consecutive columns in every
    term, or None when the reduction has no slice form (see the module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import Reduction
    >>> rows = np.array([[0, 4], [1, 5], [2, 6], [3, 0]])  # targets 0-2 read (0, 4), (1, 5), (2, 6)
    >>> slice_runs(Reduction("product", 0, rows, np.ones((4, 2))), np.arange(10, 17))
    [(0, 3), (3, 4)]
    >>> slice_runs(Reduction("mean", 0, rows, np.ones((4, 2))), np.arange(10, 17)) is None  # no ufunc
    True
    """
    targets, terms = reduction.rows.shape
    if reduction.aggregation not in PAIRWISE or targets == 0 or terms == 0:
        return None
    read = columns[reduction.rows]
    breaks = np.flatnonzero((np.diff(read, axis=0) != 1).any(axis=1)) + 1
    bounds = [0, *breaks.tolist(), targets]
    runs = list(zip(bounds[:-1], bounds[1:]))
    return runs if len(runs) * terms <= MAX_SLICE_CALLS and targets >= 2 * len(runs) else None


def _slice_lines(reduction: Reduction, runs: list[tuple[int, int]], columns: np.ndarray, bias: np.ndarray,
                 name: str, constants: dict[str, object]) -> list[str]:
    """The lines of a reduction in the slice form: per run, the first term into the run's block,
    then one ufunc call per further term; the bias last, where it is not all 0."""
    function = PAIRWISE[reduction.aggregation]
    targets, terms = reduction.rows.shape
    read = columns[reduction.rows]
    ones = [bool((reduction.weights[:, term] == 1.0).all()) for term in range(terms)]
    if not all(ones):
        constants[f"w{name}"] = np.ascontiguousarray(reduction.weights.T[:, :, None])  # terms x targets x 1
    lines = [f"# {reduction.aggregation} of {terms} terms each, from slices: {len(runs)} run"
             f"{'s' if len(runs) > 1 else ''} of consecutive columns"]
    for first, stop in runs:
        block = f"z[{reduction.start + first}:{reduction.start + stop}]"
        parts = []
        for term in range(terms):
            low = int(read[first, term])
            part = f"A[{low}:{low + stop - first}]"
            parts.append(part if ones[term] else f"{part} * w{name}[{term}, {first}:{stop}]")
        if terms == 1:
            lines.append(f"{block}[...] = {parts[0]}")
            continue
        lines.append(f"{function}({parts[0]}, {parts[1]}, out={block})")
        lines += [f"{function}({block}, {part}, out={block})" for part in parts[2:]]
    span = f"{reduction.start}:{reduction.start + targets}"
    if bias[reduction.start:reduction.start + targets].any():
        lines.append(f"z[{span}] += b{name.split('_')[0]}[{span}]")
    return lines
