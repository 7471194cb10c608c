"""The slice form: targets whose terms read runs of consecutive columns, computed from slices of the buffer.

Where consecutive targets read consecutive columns in each of their ``K`` terms (the gates of an
unrolled recurrent cell: ``kept[j] = f[j] * cell[j]``, ``cell[j] = kept[j] + written[j]`` for
every unit ``j``), a run of them needs no gather and no temporary: ``np.multiply(A[f0:f1],
A[c0:c1], out=z[r0:r1])``, one ufunc call per term after the first (``np.add`` for a sum,
``np.maximum`` and ``np.minimum`` for max and min: the ufuncs whose reductions the registry
applies, so NaN propagates alike). A term's weights are multiplied in only where they are not all
1, the bias added only where it is not all 0. Every term is a connection, so the form is exact.

``slice_runs`` says whether a reduction (an aggregate op's, or a sparse op's rows of ``K``
connections each) takes the form: its runs, times its terms, at most ``MAX_SLICE_CALLS`` (the
numpy calls of a gather and reduction, or of the sparse kernel with its bias), and two targets or
more per run on average. ``slice_lines`` writes its lines.
"""

from __future__ import annotations

import numpy as np

from nngraph.ir.plan import Reduction

# Aggregations whose reduction of two terms is one numpy ufunc, for the slice form.
PAIRWISE = {"sum": "np.add", "product": "np.multiply", "max": "np.maximum", "min": "np.minimum"}
MAX_SLICE_CALLS = 4  # runs x terms of a reduction in the slice form, at most


def slice_runs(reduction: Reduction, *, columns: np.ndarray) -> list[tuple[int, int]] | None:
    """The runs ``(first, stop)`` of a reduction's targets that read consecutive columns in every
    term (``columns`` maps the reduction's rows to buffer columns), or None when the reduction
    does not take the slice form (see the module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import Reduction
    >>> rows = np.array([[0, 4], [1, 5], [2, 6], [3, 0]])  # targets 0-2 read (0, 4), (1, 5), (2, 6)
    >>> slice_runs(Reduction("product", 0, rows, np.ones((4, 2))), columns=np.arange(10, 17))
    [(0, 3), (3, 4)]
    >>> slice_runs(Reduction("mean", 0, rows, np.ones((4, 2))), columns=np.arange(10, 17)) is None  # no ufunc
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


def slice_lines(reduction: Reduction, *, runs: list[tuple[int, int]], columns: np.ndarray, bias: np.ndarray,
                name: str, constants: dict[str, object]) -> list[str]:
    """The lines of a reduction in the slice form, into ``z`` (the op's block of weighted sums):
    per run, the first term, then one ufunc call per further term; then the bias ``b<k>`` (``k``
    the part of ``name`` before any ``_``) where it is not all 0. Weights not all 1 go into
    ``constants`` as ``w<name>`` (terms x targets x 1)."""
    function = PAIRWISE[reduction.aggregation]
    targets, terms = reduction.rows.shape
    read = columns[reduction.rows]
    ones = [bool((reduction.weights[:, term] == 1.0).all()) for term in range(terms)]
    if not all(ones):
        constants[f"w{name}"] = np.ascontiguousarray(reduction.weights.T[:, :, None])
    lines = [f"# {reduction.aggregation} of {terms} term{'s' if terms > 1 else ''} each, from slices: "
             f"{len(runs)} run{'s' if len(runs) > 1 else ''} of consecutive columns"]
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
