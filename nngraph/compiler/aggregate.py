"""The lines of ``forward`` for an aggregate op: a gather of its terms and one numpy reduction each.

For each reduction of the op (targets that aggregate alike, ``K`` terms each), one line gathers the
values of the terms' sources, ``A[I]`` of shape ``(targets, K, batch)`` (``I`` holds buffer columns),
multiplies them by their weights ``w`` (``(targets, K, 1)``), reduces the terms' axis with the
registry's aggregation (``nngraph.core.aggregations``, the one the reference pass uses) and adds the
bias, into the op's weighted sums; then the activation computes the values, as for every op.
Every term is a connection, so a NaN reaches exactly the neurons it feeds. Speed: one gather and
one reduction per reduction of the op, each a temporary of ``targets * K * batch`` numbers.

Slices instead of a gather: where consecutive targets read consecutive columns in each term (the
gates of a recurrent cell: ``f[j] * cell[j]`` for every unit ``j``), a reduction of product, max
or min is computed from slices of the buffer instead, with no gather and no temporary
(``nngraph.compiler.slices`` says when); the code's comments say which form each reduction takes.
"""

from __future__ import annotations

import numpy as np

from nngraph.compiler.costs import CodegenOptions
from nngraph.compiler.products import GroupLines, activation_lines
from nngraph.compiler.slices import slice_lines, slice_runs
from nngraph.core.aggregations import resolve_aggregation
from nngraph.ir.plan import AggregateOp, Plan
from nngraph.ir.text import op_comment


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
             f"z, a = Z[{start}:{start + len(op.targets)}], A[{start}:{start + len(op.targets)}]"]
    for r, reduction in enumerate(op.reductions):
        name = f"{k}_{r}"
        runs = slice_runs(reduction, columns=columns)
        if runs is not None:
            sliced = slice_lines(reduction, runs=runs, columns=columns, bias=op.bias, name=name, constants=constants)
            lines += sliced
            continue
        constants[f"I{name}"] = columns[reduction.rows]
        constants[f"w{name}"] = np.ascontiguousarray(reduction.weights[:, :, None])
        constants[f"R{name}"] = resolve_aggregation(reduction.aggregation)
        block = f"{reduction.start}:{reduction.start + len(reduction.rows)}"
        lines.append(f"np.add(R{name}(A[I{name}] * w{name}, axis=1), b{k}[{block}], out=z[{block}])  "
                     f"# {reduction.aggregation} of {reduction.rows.shape[1]} terms each")
    lines += activation_lines(plan, op, constants, options)
    reads_inputs = bool(len(columns)) and int(columns.min()) < len(plan.inputs)
    return GroupLines(lines, reads_inputs, padded=False)

