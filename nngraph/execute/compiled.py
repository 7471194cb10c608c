"""The compiled executor: run a plan's generated code on a batch, or trace it.

``run_plan`` checks the input as the reference does (``as_batch``), then runs the plan's scalar
code for small batches of a tiny plan, or its fused numpy pass on one fresh buffer. ``trace_plan``
runs the same numpy pass with separate weighted-sum and value buffers, and hands them to a
``Trace`` as they are. When the numpy pass multiplies padding and what it returns holds a NaN, the
pass is run again over real connections only (``Program.exact``; why that suffices is in
``nngraph.compiler.codegen``). Buffers are allocated per call, so concurrent calls share nothing mutable.

The numpy pass runs under ``np.errstate(over="ignore", invalid="ignore")``, as the reference does:
huge inputs overflow to infinity and ``inf - inf`` gives NaN, as IEEE arithmetic says, and numpy's
``RuntimeWarning`` about it would only repeat what the result shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from nngraph.errors import InputError
from nngraph.execute.inputs import as_batch
from nngraph.execute.trace import Trace

if TYPE_CHECKING:  # nngraph.ir.plan imports this module: its methods are these functions
    from nngraph.ir.plan import Plan, Program


def run_plan(plan: Plan, x: ArrayLike, *, runner: str | None = None) -> np.ndarray:
    """Return the outputs of ``plan`` for ``x``: ``(batch, n_outputs)``, or ``(n_outputs,)`` for one sample.

    ``runner`` forces ``"numpy"`` or ``"scalar"`` (tests use it); by default the plan's choice.

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> run_plan(nngraph.compile_network(G), [[1.0], [-1.0]])
    array([[2.],
           [0.]])
    """
    program = plan.require_program()
    batch, single = as_batch(x, len(plan.inputs), plan.dtype)
    if runner is None:
        use_scalar = 0 < len(batch) <= program.scalar_batch_limit
    elif runner in ("numpy", "scalar"):
        use_scalar = runner == "scalar"
        if use_scalar and program.scalar is None:
            raise InputError("this plan has no scalar code (it is not tiny, or not float64)")
    else:
        raise InputError(f"runner must be 'numpy' or 'scalar', got {runner!r}")
    if use_scalar:
        outputs = np.array([program.scalar(sample) for sample in batch.tolist()], dtype=plan.dtype)
        outputs = outputs.reshape(len(batch), len(plan.outputs))
    else:
        buffer = _buffer(program, len(batch), plan.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            outputs = program.forward(batch.T, buffer, buffer)
            if _needs_exact(program, outputs):
                outputs = program.exact(batch.T, buffer, buffer)
        outputs = np.ascontiguousarray(outputs.T)
    return outputs[0] if single else outputs


def trace_plan(plan: Plan, x: ArrayLike) -> Trace:
    """Run ``x`` through ``plan`` and return every neuron's weighted sum and value (a ``Trace``).

    Examples
    --------
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=1.0, activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> trace_plan(nngraph.compile_network(G), [3.0]).weighted_sum("y")
    array([7.])
    """
    program = plan.require_program()
    batch, _ = as_batch(x, len(plan.inputs), plan.dtype)
    values = _buffer(program, len(batch), plan.dtype)
    values[: len(plan.inputs)] = batch.T
    weighted_sums = np.full_like(values, np.nan)
    n = plan.n_columns
    with np.errstate(over="ignore", invalid="ignore"):
        program.forward(batch.T, weighted_sums, values)
        if _needs_exact(program, values[:n]):  # the last row may be unused, and uninitialised
            program.exact(batch.T, weighted_sums, values)
    return Trace(weighted_sums=weighted_sums[:n].T, values=values[:n].T, columns=plan.columns,
                 input_nodes=plan.inputs, output_nodes=plan.outputs, groups=plan.groups, source=plan)


def _needs_exact(program: Program, watched: np.ndarray) -> bool:
    """Whether the fast pass may have spread a NaN through padding: it has padding, and ``watched``
    holds a value that is not finite (one sum finds it; a sum that overflows also counts, harmlessly)."""
    return program.exact is not None and not np.isfinite(watched.sum())


def _buffer(program: Program, batch: int, dtype: np.dtype) -> np.ndarray:
    return np.empty((program.rows, batch), dtype=dtype)
