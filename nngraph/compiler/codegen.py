"""Stage 5, codegen: write the Python source a plan runs, compile it, and choose the runner.

The fused numpy pass ``forward(X, Z, A)`` is straight-line code, a few numpy calls per op and no
loop: each op computes its block of weighted sums ``Z[start:stop]`` with one product, then its
values ``A[start:stop]`` in place (buffers neuron-major, see ``nngraph.plan``). How an op reads
its sources:

- contiguous columns: one slice of the buffer (or of the input), no copy;
- scattered columns of a dense op: one gather of exactly those rows plus the row of ones, so
  the bias rides along in the product;
- a sparse op: its CSR matrix over the span of columns its sources cover, a view.

Padding and non-finite values: a dense op with padding (``FusedOp.connected``), and a product that
several ops share, multiply zeros that are no connection, and ``0 * nan`` is NaN. Such a plan also
gets ``forward_exact``, the same pass with every product over real connections only (padded ops
as sparse products over their connections, no shared products). It is exact on any input: the
runner calls it when ``forward`` puts a NaN where it is watched. That is enough because the NaN of
padding cannot be lost on its way: every activation maps NaN to NaN, and a sum with a NaN or
infinite term is never finite, so a neuron whose padded result differs from the exact one holds
NaN, and so does everything computed from it. With finite values the check costs one sum.

Tiny float64 plans also get straight-line scalar code (``nngraph.compiler.scalar``): for a
handful of samples, Python float arithmetic beats a dozen numpy calls' fixed overhead. The
runner chosen is stated in ``plan.runner`` and ``print(plan)``.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
from scipy import sparse

from nngraph.activations import resolve_activation
from nngraph.compiler.scalar import scalar_batch_limit, scalar_source
from nngraph.plan import SPARSE, FusedOp, Plan, Program
from nngraph.plan_text import describe_op, producers

# The cost model behind shared products, in microseconds: a numpy call, a multiply-add.
NUMPY_CALL_US = 1.0
MULTIPLY_ADD_US = 1 / 20_000
MAX_SHARED_BATCH = 1024

# Element-wise activations with an in-place numpy form; others call the registry's function.
_IN_PLACE = {
    "relu": ["np.maximum(z, 0.0, out=a)"],
    "tanh": ["np.tanh(z, out=a)"],
    # 1 / (1 + exp(-z)): exp(-z) overflows to inf for very negative z, giving 0 as it should.
    "sigmoid": ["np.negative(z, out=a)", "np.exp(a, out=a)", "a += 1.0", "np.reciprocal(a, out=a)"],
    "softmax": ["np.subtract(z, z.max(axis=0), out=a)", "np.exp(a, out=a)", "a /= a.sum(axis=0)"],
}


def generate(plan: Plan) -> Plan:
    """Return ``plan`` with its ``Program``: the generated source and the functions compiled from it.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.compiler import compile_network
    >>> G = nngraph.new_network()
    >>> for node in ("a", "b"):
    ...     _ = nngraph.add_input(G, node)
    >>> _ = nngraph.add_neuron(G, nngraph.Neuron("y", role="output", activation="tanh"))
    >>> _ = nngraph.connect(G, "a", "y", 0.5); _ = nngraph.connect(G, "b", "y", -1.5)
    >>> plan = compile_network(G)
    >>> [line.strip() for line in plan.code.splitlines() if "np.matmul" in line]
    ['np.matmul(W0, X, out=z)']
    >>> plan.program.scalar_batch_limit > 0  # tiny: scalar code runs small batches
    True
    """
    constants: dict[str, object] = {}
    forward_lines, padded = _forward(plan, constants, exact=False)
    numpy_calls = sum(1 for line in forward_lines if _counts_as_call(line))
    scalar_lines = scalar_source(plan)
    limit = scalar_batch_limit(plan, numpy_calls) if scalar_lines else 0
    lines = _header(plan, limit, padded) + [""] + forward_lines
    if padded:
        lines += ["", ""] + _forward(plan, constants, exact=True)[0]
    if limit:
        lines += ["", ""] + scalar_lines
    code = "\n".join(lines) + "\n"
    for value in constants.values():
        _freeze(value)
    namespace = dict(constants)
    exec(compile(code, f"<nngraph plan of {len(plan.ops)} ops>", "exec"), namespace)
    if limit:
        runner = (f"straight-line scalar code for batches of up to {limit} sample"
                  f"{'s' if limit > 1 else ''}, fused numpy for larger ones")
    else:
        runner = "fused numpy"
    if padded:
        runner += " (run again over real connections only when NaN comes out of padding)"
    program = Program(code=code, constants=MappingProxyType(constants), forward=namespace["forward"],
                      exact=namespace["forward_exact"] if padded else None,
                      scalar=namespace["forward_scalar"] if limit else None,
                      scalar_batch_limit=limit, rows=plan.n_columns + 1, runner=runner)
    return dataclasses.replace(plan, program=program)


def _freeze(value: object) -> None:
    """Make a constant read-only, so that no call can change what the plan computes."""
    arrays = (value.data, value.indices, value.indptr) if sparse.issparse(value) else (value,)
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.flags.writeable = False


def _counts_as_call(line: str) -> bool:
    """Whether a line of ``forward`` is a numpy call (for the cost model), not a comment or view."""
    text = line.strip()
    skipped = ("#", "def ", '"""', "and value buffers", "connections only", "if ", "else:", "return ",
               "z, a =")
    return bool(text) and not text.startswith(skipped)


def _header(plan: Plan, limit: int, padded: bool) -> list[str]:
    ones = plan.n_columns
    lines = [
        f"# nngraph plan: {len(plan.ops)} fused ops over {plan.n_columns} columns, {plan.dtype}.",
        "# Generated code: this is what the plan runs, line for line.",
        f"# A[c] holds column c (one neuron) for the whole batch; A[{ones}] is a row of ones.",
        "# Constants: W<k> is op k's weights transposed (targets x sources); b<k> its bias as a",
        "# column; S<k> its sparse weights over the columns it spans; f<k> its activation.",
        "# Where an op gathers its sources (the columns i<k>, then the row of ones), W<k> holds",
        "# the bias as its last column; W<k>_<m> and i<k>_<m> serve ops k to m of a level at once.",
    ]
    if padded:
        lines.append("# forward multiplies zeros that are no connection; when it gives NaN, the runner runs")
        lines.append("# forward_exact, the same pass over real connections only.")
    lines.append("import numpy as np")
    if limit:
        lines.append("from math import exp, tanh")
    return lines


def _forward(plan: Plan, constants: dict[str, object], *, exact: bool) -> tuple[list[str], bool]:
    """The lines of ``forward`` (or, ``exact``, of ``forward_exact``), and whether any of its
    products multiplies padding."""
    n_inputs = len(plan.inputs)
    producer = producers(plan)
    body: list[str] = []
    needs_inputs = False
    padded = False
    for ops in _product_groups(plan, share=not exact):
        if _gathers(plan, ops[0], exact=exact):
            lines, reads_inputs_from_a, shared = _gathered_lines(plan, ops, constants, producer)
            padded |= shared or any(op.padded for op in ops)
        else:
            lines, reads_inputs_from_a = _op_lines(plan, ops[0], constants, exact=exact)
            lines.insert(0, f"# {describe_op(ops[0], producer)}")
            padded |= ops[0].padded and not exact
        needs_inputs |= reads_inputs_from_a
        body += lines
    prologue = []
    if needs_inputs:
        prologue.append(f"A[0:{n_inputs}] = X  # some op reads inputs together with other columns")
    if any(name.startswith("i") for name in constants):
        prologue.append(f"A[{plan.n_columns}] = 1.0  # the row of ones that gathered reads include")
    body = prologue + body + [_return_outputs(plan, constants)]
    ignored = {"over": "exp(-z) of a sigmoid may overflow to inf",
               "invalid": "0 * inf of padding gives NaN, which the runner catches"}
    if not any(op.activation == "sigmoid" for op in plan.ops):
        del ignored["over"]
    if not padded:
        del ignored["invalid"]
    if ignored:
        flags = ", ".join(f"{name}='ignore'" for name in ignored)
        body = [f"with np.errstate({flags}):  # {'; '.join(ignored.values())}"] + [
            "    " + line for line in body]
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
    return signature + ["    " + line for line in body], padded


def _as_sparse(op: FusedOp, *, exact: bool) -> bool:
    """Whether ``op`` is computed by a sparse product: sparse ops, and padded ones in the exact pass."""
    return op.kind == SPARSE or (exact and op.padded)


def _gathers(plan: Plan, op: FusedOp, *, exact: bool = False) -> bool:
    """Whether ``op`` is computed dense and reads scattered columns, so that it gathers its sources."""
    if _as_sparse(op, exact=exact) or not op.sources:
        return False
    first, last = plan.columns[op.sources[0]], plan.columns[op.sources[-1]]
    return last - first + 1 != len(op.sources)


def _product_groups(plan: Plan, *, share: bool = True) -> list[list[FusedOp]]:
    """Runs of consecutive gathering ops of one level (ops of one level never read each other),
    which may share one gather and one product; each op alone unless ``share``."""
    groups: list[list[FusedOp]] = []
    for op in plan.ops:
        previous = groups[-1] if groups else []
        if share and previous and _gathers(plan, op) and _gathers(plan, previous[-1]) \
                and previous[-1].level == op.level:
            previous.append(op)
        else:
            groups.append([op])
    return groups


def _shared_product_batch_limit(ops: list[FusedOp]) -> int:
    """Up to which batch size one shared product beats a product per op: sharing saves numpy
    calls (a fixed cost) but multiplies more zeros (a cost per sample)."""
    if len(ops) < 2:
        return 0
    joint = (len({node for op in ops for node in op.sources}) + 1) * sum(len(op.targets) for op in ops)
    apart = sum((len(op.sources) + 1) * len(op.targets) for op in ops)
    saved = 2 * (len(ops) - 1) * NUMPY_CALL_US
    return min(MAX_SHARED_BATCH, int(saved / (max(joint - apart, 1) * MULTIPLY_ADD_US)))


def _gather_constants(plan: Plan, ops: list[FusedOp], constants: dict[str, object], name: str) -> None:
    """``W<name>``: the ops' weights over the union of their sources, bias last; ``i<name>``: the
    columns to gather (that union, then the row of ones)."""
    columns = np.array(sorted({plan.columns[node] for op in ops for node in op.sources}), dtype=np.intp)
    weights = np.zeros((sum(len(op.targets) for op in ops), len(columns) + 1), dtype=plan.dtype)
    row = 0
    for op in ops:
        rows = slice(row, row + len(op.targets))
        positions = np.searchsorted(columns, [plan.columns[node] for node in op.sources])
        weights[rows, positions] = op.dense_weights().T
        weights[rows, -1] = op.bias
        row += len(op.targets)
    constants[f"W{name}"] = weights
    constants[f"i{name}"] = np.append(columns, plan.n_columns)


def _gathered_lines(plan: Plan, ops: list[FusedOp], constants: dict[str, object],
                    producer: dict) -> tuple[list[str], bool, bool]:
    """Each op gathers its sources (and the row of ones, for the bias) for one product, then
    applies its activation; for small batches, ops of one level share the gather and product.
    Also says whether the lines read inputs from ``A``, and whether a shared product pads."""
    product = "np.matmul(W{0}, A.take(i{0}, axis=0), out={1})  # bias: the row of ones"
    for op in ops:
        _gather_constants(plan, [op], constants, str(op.index))
    limit = _shared_product_batch_limit(ops)
    lines: list[str] = []
    if limit:
        name = f"{ops[0].index}_{ops[-1].index}"
        _gather_constants(plan, ops, constants, name)
        start = plan.columns[ops[0].targets[0]]
        stop = plan.columns[ops[-1].targets[-1]] + 1
        lines += [f"# ops {ops[0].index}-{ops[-1].index}: for batches of up to {limit} samples, one "
                  "gather and one product serve them all",
                  f"if X.shape[1] <= {limit}:", "    " + product.format(name, f"Z[{start}:{stop}]"),
                  "else:"]
        lines += ["    " + product.format(op.index, _block("Z", plan, op)) for op in ops]
    for op in ops:
        lines += [f"# {describe_op(op, producer)}",
                  f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}"]
        if not limit:
            lines.append(product.format(op.index, "z"))
        lines += _activation_lines(op, constants)
    first_source = min(plan.columns[node] for op in ops for node in op.sources)
    union = {node for op in ops for node in op.sources}
    shared_padding = bool(limit) and any(len(op.sources) < len(union) for op in ops)
    return lines, first_source < len(plan.inputs), shared_padding


def _block(buffer: str, plan: Plan, op: FusedOp) -> str:
    start = plan.columns[op.targets[0]]
    return f"{buffer}[{start}:{start + len(op.targets)}]"


def _op_lines(plan: Plan, op: FusedOp, constants: dict[str, object], *,
              exact: bool = False) -> tuple[list[str], bool]:
    """An op that reads a slice (or nothing, or a span through a sparse matrix of its connections)."""
    k = op.index
    start = plan.columns[op.targets[0]]
    stop = start + len(op.targets)
    columns = np.array([plan.columns[node] for node in op.sources], dtype=np.intp)
    n_inputs = len(plan.inputs)
    lines = [f"z, a = Z[{start}:{stop}], A[{start}:{stop}]"]
    reads_inputs_from_a = False
    constants[f"b{k}"] = _column(op.bias)
    if not len(columns):
        lines.append(f"z[...] = b{k}  # no connections: the weighted sum is the bias")
    elif _as_sparse(op, exact=exact):
        low, high = int(columns[0]), int(columns[-1]) + 1
        connections = op.connection_matrix().T.tocsr()
        constants[f"S{k}"] = _span_matrix(connections, columns - low, high - low)
        source, reads_inputs_from_a = _span(low, high, n_inputs)
        lines += [f"z[...] = S{k} @ {source}", f"z += b{k}"]
    else:
        low, high = int(columns[0]), int(columns[-1]) + 1
        constants[f"W{k}"] = np.ascontiguousarray(op.weights.T)
        source, reads_inputs_from_a = _span(low, high, n_inputs)
        lines += [f"np.matmul(W{k}, {source}, out=z)", f"z += b{k}"]
    lines += _activation_lines(op, constants)
    return lines, reads_inputs_from_a


def _column(vector: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vector.reshape(-1, 1))


def _span(low: int, high: int, n_inputs: int) -> tuple[str, bool]:
    """Where a read of the columns ``low:high`` comes from, and whether it needs inputs in ``A``."""
    if high <= n_inputs:
        return ("X" if (low, high) == (0, n_inputs) else f"X[{low}:{high}]"), False
    return f"A[{low}:{high}]", low < n_inputs


def _span_matrix(matrix: sparse.csr_array, offsets: np.ndarray, width: int) -> sparse.csr_array:
    """Re-index the CSR rows' columns from source positions to positions in the span."""
    result = sparse.csr_array((matrix.data, offsets[matrix.indices], matrix.indptr),
                              shape=(matrix.shape[0], width))
    result.sort_indices()
    return result


def _activation_lines(op: FusedOp, constants: dict[str, object]) -> list[str]:
    activation = resolve_activation(op.activation)
    if op.activation == "linear":
        return ["if Z is not A:  # linear: the value is the weighted sum", "    a[...] = z"]
    if op.activation in _IN_PLACE:
        return list(_IN_PLACE[op.activation])
    constants[f"f{op.index}"] = activation.function
    if activation.group_wise:
        return [f"a[...] = f{op.index}(z.T).T  # {op.activation} over the op's neurons"]
    return [f"a[...] = f{op.index}(z)  # {op.activation}"]


def _return_outputs(plan: Plan, constants: dict[str, object]) -> str:
    columns = [plan.columns[node] for node in plan.outputs]
    if columns == list(range(columns[0], columns[0] + len(columns))):
        return f"return A[{columns[0]}:{columns[-1] + 1}]"
    constants["OUTPUTS"] = np.array(columns, dtype=np.intp)
    return "return A[OUTPUTS]"
