"""Stage 5, codegen: write the Python source a plan runs, compile it, and choose the runner.

The result is a ``Program``, built from the plan and held apart from it: the plan stays data, and
the same plan always gives the same program (so a pickled plan regenerates its code on load).

The fused numpy pass ``forward(X, Z, A)`` is straight-line code, a few numpy calls per op and no
loop: each op computes its block of weighted sums ``Z[start:stop]`` with one product, then its
values ``A[start:stop]`` in place (buffers neuron-major, see ``nngraph.ir.plan``); how a product
reads its sources, and when ops of one level share it, is ``nngraph.compiler.products``; an
aggregate op's gather and reductions are ``nngraph.compiler.aggregate``.

Padding and non-finite values: a dense op with padding (``FusedOp.connected``), and a product that
several ops share, multiply zeros that are no connection, and ``0 * nan`` is NaN. Such a plan also
gets ``forward_exact``, the same pass with every product over real connections only (padded ops
as sparse products over their connections, no shared products). It is exact on any input: the
runner calls it when ``forward`` puts a NaN where it is watched. That is enough because the NaN of
padding cannot be lost on its way: every activation maps NaN to NaN, and a sum with a NaN or
infinite term is never finite, so a neuron whose padded result differs from the exact one holds
NaN, and so does everything computed from it. With finite values the check costs one sum.

Nothing taken from the graph is code: weights and biases are constants passed in (or, in the scalar
code, ``repr`` of finite floats), activations are canonical registry names, and names appear only
in comments, escaped to printable ASCII (``nngraph.ir.text.op_comment``). The whole source is
checked for that when it is written (on first use), before anything is compiled, so that no name
from an untrusted model file can end a comment line and run as Python.

Tiny float64 plans also get straight-line scalar code (``nngraph.compiler.scalar``): for a
handful of samples, Python float arithmetic beats a dozen numpy calls' fixed overhead. Where
numba is installed, small plans also get the native kernel (``nngraph.compiler.native``): one
compiled call instead of the numpy pass, for batches up to where the numpy pass gets cheaper. The
runners chosen are stated in ``plan.runner`` and ``print(plan)``. Which of these choices pay is
``nngraph.compiler.costs``; ``CodegenOptions`` switches each off by name.

The scalar code and the native kernel's arrays serve small batches only, and writing them costs
more than the rest of compiling a plan of a thousand connections (the scalar code's source is a
term per connection, and compiling it with Python's ``compile`` is the larger part); the exact pass
serves only a call whose fast pass gives NaN; and a small plan run only on small batches never
runs the numpy pass, whose ``compile`` alone is a tenth of compiling a plan of a thousand
connections. Even writing the numpy pass's source, and the choices made from it, cost as much as
the rest of compiling a plan of a few sparse ops. So ``generate`` does nothing but hold the plan:
each part is built on the first use that needs it, once, under a lock (threads asking at once
build it once, and every caller sees the finished result). The first is the numpy pass's source
(``Program.numpy_code``): its numpy calls are what the cost model weighs, its text is checked
(and refused, ``CompileError``, before anything runs), and with it are decided which other parts
the plan has and up to which batch each runner runs, from the plan alone (``has_scalar_form``,
``has_native_form``, whether a product multiplies padding, and the cost model): ``padded``, the
batch limits and ``runner``, which every call reads. Then ``Program.forward`` (the numpy pass
compiled), ``Program.scalar``, ``Program.native`` and ``Program.exact``. ``Program.code`` (and its
``constants``) hold them too, built when asked for: the source is what the plan runs. The arrays
the numpy pass names but its lines need not (a sparse product's CSR arrays, the level loop's
``LEVELS``) are given as ``nngraph.compiler.store.Later`` and built with the pass.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nngraph.compiler.aggregate import aggregate_lines
from nngraph.compiler.costs import (DEFAULT_OPTIONS, CodegenOptions, native_batch_limit, scalar_batch_limit,
                                    scalar_code_pays)
from nngraph.compiler.loop import level_loop_applies, level_loop_levels, level_loop_lines
from nngraph.compiler.native import NATIVE_AVAILABLE, NativeArrays, has_native_form, native_arrays
from nngraph.compiler.products import group_lines, product_groups, zero_row
from nngraph.compiler.scalar import has_scalar_form, scalar_source
from nngraph.compiler.store import Later, store_constants
from nngraph.errors import CompileError
from nngraph.ir.plan import AGGREGATE, SHARED, SPARSE, Plan, cached_attribute
from nngraph.ir.text import producers


class Source(NamedTuple):
    """The numpy pass's source and what is decided with it (``Program``'s first part)."""

    numpy_code: str
    padded: bool
    scalar_batch_limit: int
    native_batch_limit: int
    runner: str
    constants: dict[str, object]  # what numpy_code names, before ``_stored_constants`` builds them


@dataclass(frozen=True, eq=False)
class Program:
    """The code a plan runs: its generated source and the functions compiled from it.

    ``forward(X, Z, A)`` is the fused numpy pass (``X`` the inputs neuron-major, ``Z`` and ``A``
    the buffers of the column layout, with ``rows`` rows); it returns the outputs block of ``A``.
    ``exact`` (``None`` unless some product of ``forward`` multiplies padding, ``padded``) is the
    same pass over real connections only, which the runner calls when ``forward`` gives a NaN.
    ``scalar(sample)`` is straight-line float code for one sample (``None`` if the plan has
    none), used for batches of at most ``scalar_batch_limit`` samples. ``native`` holds the plan's
    arrays for the native kernel (``None`` if it has none), used for larger batches of at most
    ``native_batch_limit`` samples. ``runner`` says which. Each is built on first use (see the
    module doc): ``numpy_code`` with ``padded``, the limits and ``runner``; then ``forward``
    (compiled from ``numpy_code``), ``exact``, ``scalar`` and ``native``.
    ``constants`` are the arrays the code names (``W0``, ``b0``, ...): ``exec(code, dict(constants))``
    defines the same functions again (the runner calls them under
    ``np.errstate(over="ignore", under="ignore", invalid="ignore")``, which the code does not set itself).
    """

    plan: Plan = field(repr=False)
    options: CodegenOptions
    _built: dict[str, object] = field(default_factory=dict, init=False, repr=False)
    # Reentrant: building a part reads the parts it needs (the numpy pass its source), under the same lock.
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @cached_attribute
    def forward(self) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
        """The fused numpy pass's function (compiled on first use, under the lock of ``_part``;
        then an attribute: every numpy call reads it)."""
        return self._part("numpy")[0]

    @property
    def numpy_code(self) -> str:
        """The fused numpy pass's source (written on first use)."""
        return self._source.numpy_code

    # Read by every call: attributes once known (cached_attribute), as ``forward`` is.
    @cached_attribute
    def padded(self) -> bool:
        """Whether some product of ``forward`` multiplies padding (then ``exact`` exists)."""
        return self._source.padded

    @cached_attribute
    def scalar_batch_limit(self) -> int:
        """Up to how many samples the scalar code runs a call (0: the plan has none)."""
        return self._source.scalar_batch_limit

    @cached_attribute
    def native_batch_limit(self) -> int:
        """Up to how many samples the native kernel runs a call (0: the plan has none)."""
        return self._source.native_batch_limit

    @cached_attribute
    def rows(self) -> int:
        """The rows of the buffers: the columns, the row of ones, and the row of zeros if read."""
        return self.plan.n_columns + (1 if zero_row(self.plan) is None else 2)

    @property
    def runner(self) -> str:
        """What runs a call, by batch size, in words."""
        return self._source.runner

    @property
    def _source(self) -> Source:
        return self._part("source")

    @property
    def _constants(self) -> dict[str, object]:
        """What ``numpy_code`` names before ``_stored_constants`` (emptied once the pass is built)."""
        return self._source.constants

    @property
    def numpy_constants(self) -> Mapping[str, object]:
        """The constants ``numpy_code`` names, equal arrays stored once, read-only (on first use)."""
        return self._part("numpy")[1]

    @property
    def runners(self) -> tuple[str, ...]:
        """The runners this program has, as ``run_plan(..., runner=...)`` names them."""
        return ("numpy",) + ("scalar",) * (self.scalar_batch_limit > 0) + ("native",) * (self.native_batch_limit > 0)

    @property
    def scalar(self) -> Callable[[list[float]], list[float]] | None:
        """The scalar code's function (built on first use), or ``None``."""
        return self._part("scalar")[0] if self.scalar_batch_limit else None

    @property
    def native(self) -> NativeArrays | None:
        """The native kernel's arrays (built on first use), or ``None``."""
        return self._part("native") if self.native_batch_limit else None

    @property
    def exact(self) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None:
        """The pass over real connections only (built on first use), or ``None``."""
        return self._part("exact")[0] if self.padded else None

    @property
    def code(self) -> str:
        """The whole source: the numpy pass, its exact form and the scalar code where the plan has them."""
        code = self.numpy_code
        if self.padded:
            code += "\n\n" + self._part("exact")[1]
        if self.scalar_batch_limit:
            code += "\n\n" + self._part("scalar")[1]
        return code

    @property
    def constants(self) -> Mapping[str, object]:
        """The constants ``code`` names."""
        return self._part("exact")[2] if self.padded else self.numpy_constants

    def _part(self, name: str) -> object:
        """One part (``source``, ``numpy``, ``exact``, ``scalar`` or ``native``), built once, on first
        use: the first caller builds it under the lock, the others wait for it, then read."""
        built = self._built
        if name not in built:
            with self._lock:
                if name not in built:
                    built[name] = _BUILDERS[name](self)
        return built[name]


def _exact_pass(program: Program) -> tuple[Callable, str, Mapping[str, object]]:
    """The pass over real connections only: its function, its source, and the constants the whole
    source names (the numpy pass's and its own, equal arrays stored once)."""
    added: dict[str, object] = {}
    # Only a padded plan has an exact pass, and a plan run as the level loop is never padded.
    exact_code = "\n".join(_forward(program.plan, added, program.options, exact=True, looped=False)[0]) + "\n"
    _check_source(exact_code)
    constants = _stored_constants({**program.numpy_constants, **added})
    namespace = dict(constants)
    whole = program.numpy_code + "\n\n" + exact_code  # the numpy pass's header imports what both use
    exec(compile(whole, f"<nngraph plan of {len(program.plan.ops)} ops>", "exec"), namespace)
    return namespace["forward_exact"], exact_code, constants


def _scalar_code(program: Program) -> tuple[Callable, str]:
    """The straight-line scalar code for one sample: its function and its source."""
    scalar_code = "\n".join(scalar_source(program.plan, options=program.options)) + "\n"
    _check_source(scalar_code)
    namespace = {"exp": math.exp, "tanh": math.tanh}
    exec(compile(scalar_code, f"<nngraph scalar code of {len(program.plan.ops)} ops>", "exec"), namespace)
    return namespace["forward_scalar"], scalar_code


def _numpy_pass(program: Program) -> tuple[Callable, Mapping[str, object]]:
    """The fused numpy pass: its function, compiled from ``numpy_code``, and the constants it names."""
    constants = _stored_constants(program._constants)
    program._constants.clear()  # the stored constants replace them: keep each array once
    namespace = dict(constants)
    exec(compile(program.numpy_code, f"<nngraph plan of {len(program.plan.ops)} ops>", "exec"), namespace)
    return namespace["forward"], constants


def generate(plan: Plan, *, options: CodegenOptions = DEFAULT_OPTIONS) -> Program:
    """Return the ``Program`` that runs ``plan``: the generated source and the functions compiled
    from it, each built on first use (``options`` switch codegen's choices off by name).

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.compiler import build_plan
    >>> G = nngraph.new_network()
    >>> for node in ("a", "b"):
    ...     _ = nngraph.add_input(G, node)
    >>> _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output", activation="tanh"))
    >>> _ = nngraph.connect(G, "a", "y", 0.5); _ = nngraph.connect(G, "b", "y", -1.5)
    >>> program = generate(build_plan(G))
    >>> [line.strip() for line in program.code.splitlines() if "np.matmul" in line]
    ['np.matmul(W0, X, out=z)']
    >>> program.scalar_batch_limit > 0  # tiny: scalar code runs small batches
    True
    >>> generate(build_plan(G), options=CodegenOptions(scalar_code=False)).scalar is None
    True
    """
    return Program(plan=plan, options=options)


def _source(program: Program) -> Source:
    """The numpy pass's source, checked, and the choices made from it (see the module doc)."""
    plan, options = program.plan, program.options
    constants: dict[str, object] = {}
    looped = level_loop_applies(plan, options=options)  # decided once: the header says it too
    forward_lines, padded, numpy_calls = _forward(plan, constants, options, exact=False, looped=looped)
    native_limit = (native_batch_limit(plan, numpy_calls=numpy_calls, options=options)
                    if NATIVE_AVAILABLE and has_native_form(plan) else 0)
    scalar = has_scalar_form(plan, options=options) and scalar_code_pays(plan, native_kernel=native_limit > 0)
    limit = scalar_batch_limit(plan, numpy_calls=numpy_calls) if scalar else 0
    packed = any("packed_sums(" in line for line in forward_lines)
    lines = _header(plan, limit, padded, looped=looped, packed=packed) + [""] + forward_lines
    code = "\n".join(lines) + "\n"
    _check_source(code)
    native_limit = max(native_limit, limit) if native_limit else 0
    runner = _runner(limit, native_limit)
    if padded:
        runner += " (run again over real connections only when NaN comes out of padding)"
    return Source(numpy_code=code, padded=padded, scalar_batch_limit=limit, native_batch_limit=native_limit,
                  runner=runner, constants=constants)


_BUILDERS: dict[str, Callable[[Program], object]] = {
    "source": _source, "numpy": _numpy_pass, "exact": _exact_pass, "scalar": _scalar_code,
    "native": lambda program: native_arrays(program.plan)}


def _runner(scalar_limit: int, native_limit: int) -> str:
    """What runs a call, by batch size, in words."""
    parts = []
    if scalar_limit:
        parts.append(f"straight-line scalar code for batches of up to {scalar_limit} sample"
                     f"{'s' if scalar_limit > 1 else ''}")
    if native_limit > scalar_limit:
        parts.append(f"the native kernel for batches of up to {native_limit} sample{'s' if native_limit > 1 else ''}")
    if not parts:
        return "fused numpy"
    return ", ".join(parts) + ", fused numpy for larger ones"


def _check_source(code: str) -> None:
    """Refuse source with a character other than printable ASCII and newline before it runs: it
    would be text from the graph that escaped escaping, and could end a comment and become code."""
    if code.isascii() and code.replace("\n", "").isprintable():
        return
    number = next(number for number, line in enumerate(code.split("\n"), start=1)
                  if not (line.isascii() and line.isprintable()))
    raise CompileError(f"generated code line {number} holds a character other than printable ASCII; "
                       "nngraph writes no text from a graph into code, so this is a bug in nngraph: "
                       "please report it")


def _stored_constants(constants: dict[str, object]) -> Mapping[str, object]:
    """The constants with equal arrays stored once (``store_constants``), read-only."""
    stored = store_constants(constants)
    for value in stored.values():
        _freeze(value)
    return MappingProxyType(stored)


def _freeze(value: object) -> None:
    """Make a constant read-only, so that no call can change what the plan computes."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False


def _numpy_calls(line: str) -> int:
    """How many numpy calls a line of ``forward`` makes (for the cost model): none for a comment or
    a view, else one, plus one per call nested in it along an axis (the reduction ``z.max(axis=0)``
    of a softmax, the gather ``A.take(i0, axis=0)``)."""
    text = line.strip()
    skipped = ("#", "if ", "else:", "return ", "z, a =", "zg, ag =", "zr, ar =", "n = ", "a_flat, z_flat =")
    if not text or text.startswith(skipped):
        return 0
    return 1 + text.count("axis=")


def _header(plan: Plan, limit: int, padded: bool, *, looped: bool, packed: bool) -> list[str]:
    ones = plan.n_columns
    lines = [
        f"# nngraph plan: {len(plan.ops)} fused ops over {plan.n_columns} columns, {plan.dtype}.",
        "# Generated code: this is what the plan runs, line for line.",
        f"# A[c] holds column c (one neuron) for the whole batch; A[{ones}] is a row of ones.",
    ]
    if looped:
        lines += [
            "# The level loop (nngraph.compiler.loop): LEVELS holds, level by level, the block of weighted",
            "# sums start:stop, its connections as CSR arrays P, J, V (targets x columns of A), its biases b,",
            "# and each op's (or activation run's) block low:high of values with its activation f (None: linear).",
            "import numpy as np",
            "from nngraph.compiler.kernels import csr_accumulate",
        ]
        return lines + ["from math import exp, tanh"] * bool(limit)
    lines += [
        "# Constants: W<k> is op k's weights transposed (targets x sources); b<k> its bias as a",
        "# column; P<k>, J<k>, V<k> its connections as CSR arrays (targets x columns of A);",
        "# f<k> its activation (f<k>_<r> that of run r of a mixed op, over its views zr, ar of the block).",
        "# Where an op gathers its sources (the columns i<k>, then the row of ones), W<k> holds",
        "# the bias as its last column. Suffixed <k>_<m>, a constant serves ops k to m of a level at once.",
    ]
    if any(op.kind == AGGREGATE for op in plan.ops):
        lines.append("# I<k>_<r>, w<k>_<r>, R<k>_<r>: the terms' columns and weights (targets x terms), and the")
        lines.append("# aggregation, of aggregate op k's r-th reduction.")
    if any(op.kind == SHARED for op in plan.ops):
        lines.append("# A shared-weights op k gathers its windows through G<k> (entries x positions) and")
        lines.append("# multiplies them by its kernel W<k> (filters x entries); its block holds filter by filter.")
    if packed:
        lines.append("# K<k>: op k's weights packed for the packed-weight product (nngraph.compiler.gemm),")
        lines.append("# which computes its weighted sums, bias included, for the batches its line tests.")
    if padded:
        lines.append("# forward multiplies zeros that are no connection; when it gives NaN, the runner runs")
        lines.append("# forward_exact, the same pass over real connections only.")
    lines.append("import numpy as np")
    if any(op.kind == SPARSE or op.padded for op in plan.ops):
        lines.append("from nngraph.compiler.kernels import csr_accumulate")
    if packed:
        lines.append("from nngraph.compiler.gemm import packed_sums")
    if limit:
        lines.append("from math import exp, tanh")
    return lines


def _forward(plan: Plan, constants: dict[str, object], options: CodegenOptions, *,
             exact: bool, looped: bool) -> tuple[list[str], bool, int]:
    """The lines of ``forward`` (or, ``exact``, of ``forward_exact``), whether any of its
    products multiplies padding, and how many numpy calls its body makes (for the cost model)."""
    if looped:  # the level loop (``level_loop_applies``), never padded: no exact pass asks for it
        body, numpy_calls = level_loop_lines(plan)
        constants["LEVELS"] = Later(lambda: level_loop_levels(plan))
        body, padded = body + [_return_outputs(plan, constants)], False
    else:
        body, padded = _straight_lines(plan, constants, options, exact=exact)
        numpy_calls = None
    # No ``np.errstate`` here: the runner (``nngraph.execute.compiled``) sets it once around every
    # call, for every plan, covering the NaN of padding and an aggregate op's overflows too.
    if numpy_calls is None:
        numpy_calls = sum(_numpy_calls(line) for line in body)
    if exact:
        signature = [
            "def forward_exact(X, Z, A):",
            '    """forward, with every product over real connections only: exact when a value is NaN',
            '    or infinite (no zero that is no connection multiplies it)."""',
        ]
    else:
        signature = [
            "def forward(X, Z, A):",
            '    """Run a batch: X is the inputs neuron-major (n_inputs, batch); Z and A the weighted-sum',
            '    and value buffers (one buffer when not tracing). Returns the outputs block of A."""',
        ]
    return signature + ["    " + line for line in body], padded, numpy_calls


def _straight_lines(plan: Plan, constants: dict[str, object], options: CodegenOptions, *,
                    exact: bool) -> tuple[list[str], bool]:
    """The straight-line body of ``forward`` (or ``forward_exact``): a few lines per op, and whether
    any of its products multiplies padding."""
    producer = producers(plan)
    groups = [aggregate_lines(plan, ops[0], constants, producer, options) if ops[0].kind == AGGREGATE
              else group_lines(plan, ops, constants, producer, options, exact=exact)
              for ops in product_groups(plan, exact=exact)]
    body = [line for group in groups for line in group.lines]
    prologue = []
    if any(group.reads_inputs for group in groups):
        prologue.append(f"A[0:{len(plan.inputs)}] = X  # some op reads inputs together with other columns")
    if any("A.take(i" in line for line in body):  # dense gathers (i<k>) read the row of ones
        prologue.append(f"A[{plan.n_columns}] = 1.0  # the row of ones that gathered reads include")
    zeros = zero_row(plan)
    if zeros is not None:
        prologue.append(f"A[{zeros}] = 0.0  # the row of zeros that window entries without a source read")
    if any("csr_accumulate(" in line for line in body):
        prologue += ["n = X.shape[1]",
                     "a_flat, z_flat = A.reshape(-1), Z.reshape(-1)  # views: the buffers are C-contiguous"]
    return prologue + body + [_return_outputs(plan, constants)], any(group.padded for group in groups)


def _return_outputs(plan: Plan, constants: dict[str, object]) -> str:
    columns = [plan.columns[node] for node in plan.outputs]
    if columns == list(range(columns[0], columns[0] + len(columns))):
        return f"return A[{columns[0]}:{columns[-1] + 1}]"
    constants["OUTPUTS"] = np.array(columns, dtype=np.intp)
    return "return A[OUTPUTS]"
