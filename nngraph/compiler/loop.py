"""The level loop: a plan of many small ops runs as one short loop over its levels, its data in constants.

Straight-line code (``nngraph.compiler.codegen``) writes a few lines per op, and writing and
compiling them costs tens of microseconds per op (and per activation run of a mixed op): for a plan
of many small ops that is built for one use, such as a generation of neuroevolution genomes
(``nngraph.population``), more than running it. Where every op is a weighted sum with an
element-wise activation, the sparse ops of a level already share one sparse product
(``nngraph.compiler.products``); the level loop makes the same numpy calls in the same order, with
the code fixed and each level's arrays in the constant ``LEVELS``, one entry per level (small dense
ops join their level's product)::

    (start, stop, P, J, V, b, activations)

``Z[start:stop]`` are the level's weighted sums: set to the biases ``b``, then ``P``, ``J``, ``V``
(CSR arrays, one row per target, indexed by buffer column) are added by the sparse kernel. Each op
of the level, or each run of one activation of a mixed op, is one ``(low, high, f)`` of
``activations``: its values ``A[low:high]`` are ``f(Z[low:high])``, ``f`` the activation registry's
function (``None`` for linear: the value is the weighted sum). Codegen takes this form for a plan of
at least ``LEVEL_LOOP_OPS`` ops or runs (``nngraph.compiler.costs``) unless
``CodegenOptions(level_loop=False)``.
"""

from __future__ import annotations

from itertools import groupby

from nngraph.compiler.costs import LEVEL_LOOP_OPS, CodegenOptions, joins_level_loop
from nngraph.compiler.rows import sparse_rows
from nngraph.core.activations import resolve_activation
from nngraph.ir.plan import DENSE, SPARSE, FusedOp, Plan

LOOP = [
    "for start, stop, P, J, V, b, activations in LEVELS:  # one level: its sparse ops' product",
    "    Z[start:stop] = b",
    "    csr_accumulate(stop - start, {columns}, n, P, J, V, a_flat, z_flat[start * n:stop * n])",
    "    for low, high, f in activations:  # each op's activation over its block",
    "        if f is not None:",
    "            A[low:high] = f(Z[low:high])",
    "        elif Z is not A:  # linear: the value is the weighted sum",
    "            A[low:high] = Z[low:high]",
]


def level_loop_applies(plan: Plan, *, options: CodegenOptions) -> bool:
    """Whether codegen writes ``plan`` as the level loop: switched on, at least ``LEVEL_LOOP_OPS``
    activations to apply (an op's, or each run's of a mixed op: straight-line code writes lines for
    each), each op a weighted sum with one element-wise activation, sparse, or dense and small enough
    to join its level's sparse product with its connections only (``joins_level_loop``).

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> level_loop_applies(build_plan(lesson_model().graph), options=CodegenOptions())  # 3 ops
    False
    """
    return (options.level_loop and sum(len(op.activation_runs()) for op in plan.ops) >= LEVEL_LOOP_OPS
            and all(_loops(plan, op) for op in plan.ops))


def _loops(plan: Plan, op: object) -> bool:
    """Whether the level loop computes ``op``."""
    if not (isinstance(op, FusedOp) and op.groups == 1 and not op.group_wise):
        return False
    return op.kind == SPARSE or (op.kind == DENSE and joins_level_loop(op, reads_slice=plan.reads_slice(op)))


def level_loop_lines(plan: Plan) -> tuple[list[str], int]:
    """The body of ``forward`` as the level loop, up to its return, and how many numpy calls a run
    makes (for the cost model): both known from the ops alone. Its data, the constant ``LEVELS``, is
    ``level_loop_levels(plan)``, built when the pass is first run (``nngraph.compiler.codegen``)."""
    calls = sum(2 + sum(len(op.activation_runs()) for op in ops)
                for _, ops in groupby(plan.ops, key=lambda op: op.level))
    lines = [f"A[0:{len(plan.inputs)}] = X  # the sparse products read inputs from A",
             "n = X.shape[1]",
             "a_flat, z_flat = A.reshape(-1), Z.reshape(-1)  # views: the buffers are C-contiguous"]
    lines += [line.format(columns=plan.n_columns) for line in LOOP]
    return lines, calls + 3


def level_loop_levels(plan: Plan) -> tuple[tuple, ...]:
    """The constant ``LEVELS`` of the level loop: one ``(start, stop, P, J, V, b, activations)`` per
    level (see the module doc), its arrays read-only."""
    levels = []
    # Every op's connections as one CSR over all targets (targets are columns n_inputs onwards, in
    # op order), then cut level by level: one sort for the whole plan, not one per level.
    rows = sparse_rows(plan, list(plan.ops))
    n_inputs = len(plan.inputs)
    for _, level in groupby(plan.ops, key=lambda op: op.level):  # ops run level by level
        activations = []
        for op in level:
            column = plan.columns[op.targets[0]]
            for name, low, high in op.activation_runs():
                function = None if name == "linear" else resolve_activation(name).function
                activations.append((column + low, column + high, function))
        start, stop = activations[0][0], activations[-1][1]
        first, last = start - n_inputs, stop - n_inputs
        indptr = rows.indptr[first:last + 1] - rows.indptr[first]
        span = slice(int(rows.indptr[first]), int(rows.indptr[last]))
        arrays = (indptr, rows.columns[span], rows.weights[span], rows.bias[first:last])
        for array in arrays:
            array.flags.writeable = False
        levels.append((start, stop, *arrays, tuple(activations)))
    return tuple(levels)
