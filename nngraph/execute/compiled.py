"""The compiled executor: a ``CompiledPlan`` is a plan (the IR) and the program generated from it.

``compile_network(G)`` builds the plan (``nngraph.compiler.build_plan``), generates its program
(``nngraph.compiler.generate``) and returns both, held apart, as a ``CompiledPlan``: calling it
runs the program, and everything else (``ops``, ``explain``, ``print``, ...) reads the plan.
Pickling keeps only the plan and the codegen options; loading generates the same program again,
so a compiled plan can be shipped to worker processes.

``run_plan`` checks the input as the reference does (``as_batch``), then runs the program's scalar
code for small batches of a tiny plan, its native kernel (numba) for small batches of a small plan,
or its fused numpy pass, in one buffer kept per thread (``nngraph.execute.scratch``): which by
batch size is the cost model's choice, stated in ``plan.runner``. ``trace_plan`` runs the native
kernel or the numpy pass with separate weighted-sum and value buffers, and hands them to a
``Trace`` as they are: fresh ones, or those of a trace of the thread dropped since
(``Scratch.trace_buffers``). When the numpy pass
multiplies padding and what it returns holds a NaN, the pass is run again over real connections
only (``Program.exact``; why that suffices is in ``nngraph.compiler.codegen``). Concurrent calls
share nothing mutable: each thread has its own buffers, and a trace gets buffers nothing else holds.

The numpy pass runs under ``np.errstate(over="ignore", invalid="ignore", under="ignore")``, as the
reference does: huge inputs overflow to infinity, tiny ones to zero, and ``inf - inf`` gives NaN,
as IEEE arithmetic says, and numpy's ``RuntimeWarning`` about it would only repeat what the result
shows (underflow is quiet by numpy's default, but a caller's ``np.seterr(under="raise")`` would
otherwise raise from the numpy pass and not from the compiled code, which sets no flags numpy
reads: whether a call raised would depend on its batch size). The runners here set it, once
per call, for every plan (padding's ``0 * inf`` and an aggregate op's overflows included): the
generated code sets none of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.compiler import DEFAULT_PASSES, CodegenOptions, Program, build_plan, generate
from nngraph.compiler.costs import DEFAULT_OPTIONS
from nngraph.compiler.native import run_native
from nngraph.core.structure import Column
from nngraph.errors import CompileError, InputError
from nngraph.execute.inputs import as_batch
from nngraph.execute.scratch import Scratch, copy_transposed
from nngraph.execute.trace import Trace
from nngraph.execute.verify import verify_plan
from nngraph.ir.plan import FusedOp, Plan
from nngraph.ir.text import plan_table


@dataclass(frozen=True, eq=False, repr=False)
class CompiledPlan:
    """A plan and the program that runs it: ``plan(x)`` runs, everything else reads the plan.

    Fields: ``plan`` (the IR, a ``nngraph.Plan``), ``program`` (its generated code, a
    ``nngraph.compiler.Program``), ``options`` (the ``CodegenOptions`` it was generated with) and
    ``scratch`` (the buffers calls run in, one per thread; see ``nngraph.execute.scratch``).
    The plan's fields and methods read through: ``ops``, ``inputs``, ``outputs``, ``dtype``,
    ``columns``, ``groups``, ``passes``, ``n_columns``, ``op_of``, ``reads_slice``, ``explain``,
    ``to_networkx``; the program's through ``code`` and ``runner``. Make one with
    ``compile_network``, or ``compile_plan`` for a plan at hand.

    Examples
    --------
    >>> import networkx as nx, pickle
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x0", "x1"], role="input")
    >>> G.add_node("h", role="hidden", activation="relu"); G.add_node("y", role="output")
    >>> G.add_weighted_edges_from([("x0", "h", 1.0), ("x1", "h", -1.0), ("h", "y", 2.0), ("x0", "y", 0.5)])
    >>> plan = compile_network(G)
    >>> [(op.targets, op.sources) for op in plan.ops]
    [(('h',), ('x0', 'x1')), (('y',), ('x0', 'h'))]
    >>> plan([3.0, 1.0])
    array([5.5])
    >>> pickle.loads(pickle.dumps(plan))([3.0, 1.0])  # the code is generated again on load
    array([5.5])
    """

    plan: Plan
    program: Program
    options: CodegenOptions = DEFAULT_OPTIONS
    scratch: Scratch = field(default_factory=Scratch, repr=False)  # plan(x)'s buffers, one per thread

    def __reduce__(self) -> tuple[Any, ...]:
        return (_regenerate, (self.plan, self.options))

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Run ``x`` (``(batch, n_inputs)`` or ``(n_inputs,)``) and return the outputs."""
        return run_plan(self, x)

    def trace(self, x: ArrayLike) -> Trace:
        """Run ``x`` and return every neuron's weighted sum and value, as ``run_reference`` does.

        From 1 MB up, the plan keeps the buffers of its last trace (per thread, up to 64 MB each)
        and gives them to the next trace once that trace and every view of its arrays are dropped,
        which saves the page faults of fresh memory (``nngraph.execute.scratch``)."""
        return trace_plan(self, x)

    def _repr_html_(self) -> str:
        """Jupyter shows the network the plan computes as the interactive neuron view."""
        from nngraph.render.notebook import notebook_html

        return notebook_html(self)

    @property
    def code(self) -> str:
        """The Python source the plan executes (generated numpy, plus scalar code for tiny plans)."""
        return self.program.code

    @functools.cached_property
    def _trace_fields(self) -> dict[str, object]:
        """What every trace of the plan holds besides its arrays (``Trace.shared_fields``), built
        once: a trace of a few samples takes a few microseconds, a microsecond of it was these."""
        ir = self.plan
        return Trace.shared_fields(columns=ir.columns, input_nodes=ir.inputs, output_nodes=ir.outputs,
                                   groups=ir.groups, layers=ir.layers)

    @property
    def runner(self) -> str:
        """Which code runs a call: fused numpy, or scalar code for small batches of a tiny plan."""
        return self.program.runner

    @property
    def ops(self) -> tuple[FusedOp, ...]:
        """The plan's ops, in execution order."""
        return self.plan.ops

    @property
    def inputs(self) -> tuple[Hashable, ...]:
        """The input neurons, in the order of the input features."""
        return self.plan.inputs

    @property
    def outputs(self) -> tuple[Hashable, ...]:
        """The output neurons, in the order of the output columns."""
        return self.plan.outputs

    @property
    def dtype(self) -> np.dtype:
        """The precision the plan computes in."""
        return self.plan.dtype

    @property
    def columns(self) -> Mapping[Hashable, int]:
        """Neuron -> column (the layout of ``nngraph.ir.plan``)."""
        return self.plan.columns

    @property
    def groups(self) -> tuple[Column, ...]:
        """The display columns a ``Trace`` prints by."""
        return self.plan.groups

    @property
    def passes(self) -> tuple[str, ...]:
        """The passes applied, in order."""
        return self.plan.passes

    @property
    def n_columns(self) -> int:
        """How many neurons (inputs included) the plan holds."""
        return self.plan.n_columns

    def op_of(self, node: Hashable) -> FusedOp | None:
        """The op that computes ``node`` (``None`` for an input); see ``Plan.op_of``."""
        return self.plan.op_of(node)

    def reads_slice(self, op: FusedOp) -> bool:
        """Whether ``op``'s sources hold contiguous columns; see ``Plan.reads_slice``."""
        return self.plan.reads_slice(op)

    def explain(self, node: Hashable) -> str:
        """Say which op computes ``node``, from which neurons, with which weights; see ``Plan.explain``."""
        return self.plan.explain(node)

    def to_networkx(self) -> nx.DiGraph:
        """The ops as a DAG; see ``Plan.to_networkx``."""
        return self.plan.to_networkx()

    def __str__(self) -> str:
        return plan_table(self.plan, runner=self.runner)

    def __repr__(self) -> str:
        return (f"<CompiledPlan: {len(self.ops)} fused ops, {len(self.inputs)} inputs -> "
                f"{len(self.outputs)} outputs, {self.dtype}>")


def compile_plan(plan: Plan, *, options: CodegenOptions = DEFAULT_OPTIONS) -> CompiledPlan:
    """Generate the program of ``plan`` and return both as a ``CompiledPlan``.

    For a plan at hand, such as one rewritten by passes (``nngraph.compiler.passes``); it must be
    one that ``check_plan`` accepts, as every pass returns.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.compiler.passes import choose_kinds
    >>> from nngraph.demo import lesson_model
    >>> sparse = compile_plan(choose_kinds(build_plan(lesson_model().graph), kind="sparse"))
    >>> [op.kind for op in sparse.ops], sparse([0.0] * 8).shape
    (['sparse', 'sparse', 'sparse'], (4,))
    """
    _check_options(options)
    return CompiledPlan(plan=plan, program=generate(plan, options=options), options=options)


def _check_options(options: object) -> None:
    if not isinstance(options, CodegenOptions):
        raise CompileError(f"options must be nngraph.CodegenOptions, got {type(options).__name__}")


def _regenerate(plan: Plan, options: CodegenOptions) -> CompiledPlan:
    """Unpickle a ``CompiledPlan``: its program is generated again from the plan."""
    return compile_plan(plan, options=options)


def compile_network(G: nx.DiGraph, *, dtype: DTypeLike = np.float64,
                    passes: Sequence[str] = DEFAULT_PASSES, options: CodegenOptions = DEFAULT_OPTIONS,
                    verify: bool = False) -> CompiledPlan:
    """Compile the network ``G`` into a ``CompiledPlan`` of fused ops; ``G`` itself is left untouched.

    Parameters
    ----------
    G : networkx.DiGraph
        A network following the graph contract (it is validated first).
    dtype : float64 (default) or float32
        The precision the plan computes in.
    passes : sequence of str
        The passes to run, in order (``nngraph.compiler.PASSES``); ``()`` switches them off.
    options : CodegenOptions
        The choices of codegen, each on by default (``CodegenOptions(scalar_code=False)``
        switches one off; see ``nngraph.compiler.costs``).
    verify : bool
        Also run the plan against ``run_reference`` on random inputs, and raise
        ``VerificationError`` naming the first neuron that differs.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> model = Sequential([Dense(units=6, input_shape=(8,), activation='relu'),
    ...                     Dense(units=6, activation='relu'),
    ...                     Dense(units=4, activation='softmax')], seed=0)
    >>> plan = nngraph.compile_network(model.graph, verify=True)
    >>> [(op.kind, op.activation, op.weights.shape) for op in plan.ops]
    [('dense', 'relu', (8, 6)), ('dense', 'relu', (6, 6)), ('dense', 'softmax', (6, 4))]
    >>> plan([0.0] * 8).shape
    (4,)
    """
    _check_options(options)  # before the work of compiling
    compiled = compile_plan(build_plan(G, dtype=dtype, passes=passes), options=options)
    if verify:
        verify_plan(compiled, G)
    return compiled


def run_plan(plan: CompiledPlan, x: ArrayLike, *, runner: str | None = None) -> np.ndarray:
    """Return the outputs of ``plan`` for ``x``: ``(batch, n_outputs)``, or ``(n_outputs,)`` for one sample.

    ``runner`` forces ``"numpy"``, ``"scalar"`` or ``"native"`` (tests use it); by default the
    plan's choice by batch size (``plan.runner`` says it).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> run_plan(compile_network(G), [[1.0], [-1.0]])
    array([[2.],
           [0.]])
    """
    ir, program = plan.plan, plan.program  # read once: a tiny plan's call takes a few microseconds
    batch, single = as_batch(x, len(ir.inputs), ir.dtype)
    if runner is None:
        runner = _choose_runner(program, len(batch))
    elif runner not in RUNNERS:
        raise InputError(f"runner must be 'numpy', 'scalar' or 'native', got {runner!r}")
    elif runner == "scalar" and not program.scalar_batch_limit:
        raise InputError("this plan has no scalar code (it is not tiny, or not float64)")
    elif runner == "native" and not program.native_batch_limit:
        raise InputError("this plan has no native kernel (numba is not installed, or the plan is "
                         "not small, or an activation has no native form)")
    if runner == "scalar":
        outputs = np.array([program.scalar(sample) for sample in batch.tolist()], dtype=ir.dtype)
        outputs = outputs.reshape(len(batch), len(ir.outputs))
    elif runner == "native":
        buffer = plan.scratch.buffer(rows=program.rows, batch=len(batch), dtype=ir.dtype)
        run_native(program.native, batch.T, buffer, buffer)
        outputs = buffer[program.native.outputs].T.copy()  # out of the kept buffer, as below
    else:
        buffer = plan.scratch.buffer(rows=program.rows, batch=len(batch), dtype=ir.dtype)
        outputs = _numpy_pass(program, batch.T, buffer, buffer, None).T.copy()  # out of the kept
        # buffer, which the next call overwrites
    return outputs[0] if single else outputs


RUNNERS = ("numpy", "scalar", "native")


def _choose_runner(program: Program, batch: int) -> str:
    """The plan's choice for ``batch`` samples (the limits are the cost model's)."""
    if 0 < batch <= program.scalar_batch_limit:
        return "scalar"
    if 0 < batch <= program.native_batch_limit:
        return "native"
    return "numpy"


def trace_plan(plan: CompiledPlan, x: ArrayLike) -> Trace:
    """Run ``x`` through ``plan`` and return every neuron's weighted sum and value (a ``Trace``).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=1.0, activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> trace_plan(compile_network(G), [3.0]).weighted_sum("y")
    array([7.])
    """
    ir, program = plan.plan, plan.program
    batch, _ = as_batch(x, len(ir.inputs), ir.dtype)
    weighted_sums, values = plan.scratch.trace_buffers(rows=program.rows, batch=len(batch), dtype=ir.dtype)
    n = ir.n_columns
    weighted_sums[: len(ir.inputs)].fill(np.nan)  # inputs have no weighted sum; every other row is written
    if 0 < len(batch) <= program.native_batch_limit:  # the limit first: ``native`` is built on first use
        run_native(program.native, batch.T, weighted_sums, values)  # scalar code keeps no sums
    else:
        copy_transposed(batch, out=values[: len(ir.inputs)])
        _numpy_pass(program, batch.T, weighted_sums, values, n)  # the last row may be unused, and stale
    return Trace.of_arrays(weighted_sums[:n].T, values[:n].T, plan._trace_fields, plan)


def _passes(program: Program, X: np.ndarray, Z: np.ndarray, A: np.ndarray, watched_rows: int | None) -> np.ndarray:
    """Run the fused numpy pass, and the exact pass where it may have spread a NaN through padding,
    watching the first ``watched_rows`` rows of ``A`` (the outputs block, for ``None``); return the
    outputs block."""
    outputs = program.forward(X, Z, A)
    if _needs_exact(program, outputs if watched_rows is None else A[:watched_rows]):
        outputs = program.exact(X, Z, A)
    return outputs


def _quiet_with(program: Program, X: np.ndarray, Z: np.ndarray, A: np.ndarray, watched_rows: int | None) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return _passes(program, X, Z, A, watched_rows)


# ``_passes`` under that ``np.errstate`` (the module doc): from numpy 2 as its decorator,
# which keeps its state per call (0.6 us a call, against 1.4 for ``with``); numpy 1's decorator
# keeps it on the one instance, which concurrent calls would share, so there ``with``.
_numpy_pass = (np.errstate(over="ignore", invalid="ignore", under="ignore")(_passes)
               if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else _quiet_with)


def _needs_exact(program: Program, watched: np.ndarray) -> bool:
    """Whether the fast pass may have spread a NaN through padding: it has padding, and ``watched``
    holds a value that is not finite (one sum finds it; a sum that overflows also counts, harmlessly)."""
    return program.padded and not np.isfinite(watched.sum())  # ``exact`` is built on first use
