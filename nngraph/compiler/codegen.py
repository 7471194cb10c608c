"""Stage 5, codegen: write the Python source a plan runs, compile it, and choose the runner.

The fused numpy pass ``forward(X, Z, A)`` is straight-line code, a few numpy calls per op and no
loop: each op computes its block of weighted sums ``Z[start:stop]`` with one product, then its
values ``A[start:stop]`` in place (buffers neuron-major, see ``nngraph.plan``). How an op reads
its sources:

- contiguous columns: one slice of the buffer (or of the input), no copy;
- scattered columns of a dense op: one gather of exactly those rows plus the row of ones, so
  the bias rides along in the product;
- a sparse op: its CSR matrix over the span of columns its sources cover, a view.

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
    >>> import networkx as nx, nngraph
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="relu")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> "np.matmul(W0, X[0:1], out=z)" in nngraph.compile_network(G).code
    True
    """
    constants: dict[str, object] = {}
    forward_lines = _forward(plan, constants)
    numpy_calls = sum(1 for line in forward_lines if _counts_as_call(line))
    scalar_lines = scalar_source(plan)
    limit = scalar_batch_limit(plan, numpy_calls) if scalar_lines else 0
    lines = _header(plan, limit) + [""] + forward_lines
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
    program = Program(code=code, constants=MappingProxyType(constants), forward=namespace["forward"],
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
    skipped = ("#", "def ", '"""', "and value buffers", "if ", "return ", "z, a =")
    return bool(text) and not text.startswith(skipped)


def _header(plan: Plan, limit: int) -> list[str]:
    ones = plan.n_columns
    lines = [
        f"# nngraph plan: {len(plan.ops)} fused ops over {plan.n_columns} columns, {plan.dtype}.",
        "# Generated code: this is what the plan runs, line for line.",
        f"# A[c] holds column c (one neuron) for the whole batch; A[{ones}] is a row of ones.",
        "# Constants: W<k> is op k's weights transposed (targets x sources; bias appended as the",
        "# last column where op k gathers its sources, rows i<k>); b<k> is its bias as a column;",
        "# S<k> its sparse weights over the columns it spans; f<k> its activation function.",
        "import numpy as np",
    ]
    if limit:
        lines.append("from math import exp, tanh")
    return lines


def _forward(plan: Plan, constants: dict[str, object]) -> list[str]:
    n_inputs = len(plan.inputs)
    body: list[str] = []
    needs_inputs = False
    producer = producers(plan)
    for op in plan.ops:
        lines, reads_inputs_from_a = _op_lines(plan, op, constants)
        lines.insert(0, f"# {describe_op(op, producer)}")
        needs_inputs |= reads_inputs_from_a
        body += lines
    prologue = []
    if needs_inputs:
        prologue.append(f"A[0:{n_inputs}] = X  # some op reads inputs together with other columns")
    if any(f"i{op.index}" in constants for op in plan.ops):
        prologue.append(f"A[{plan.n_columns}] = 1.0  # the row of ones that gathered reads include")
    body = prologue + body + [_return_outputs(plan, constants)]
    if any(op.activation == "sigmoid" for op in plan.ops):
        body = ["with np.errstate(over='ignore'):  # exp(-z) of a sigmoid may overflow to inf"] + [
            "    " + line for line in body]
    signature = [
        "def forward(X, Z, A):",
        '    """Run a batch: X is the inputs neuron-major (n_inputs, batch); Z and A the weighted-sum',
        '    and value buffers (one buffer when not tracing). Returns the outputs block of A."""',
    ]
    return signature + ["    " + line for line in body]


def _op_lines(plan: Plan, op: FusedOp, constants: dict[str, object]) -> tuple[list[str], bool]:
    k = op.index
    start = plan.columns[op.targets[0]]
    stop = start + len(op.targets)
    columns = np.array([plan.columns[node] for node in op.sources], dtype=np.intp)
    n_inputs = len(plan.inputs)
    lines = [f"z, a = Z[{start}:{stop}], A[{start}:{stop}]"]
    reads_inputs_from_a = False
    if not len(columns):
        constants[f"b{k}"] = _column(op.bias)
        lines.append(f"z[...] = b{k}  # no connections: the weighted sum is the bias")
    elif op.kind == SPARSE:
        low, high = int(columns[0]), int(columns[-1]) + 1
        matrix = op.weights.T.tocsr()
        constants[f"S{k}"] = _span_matrix(matrix, columns - low, high - low)
        constants[f"b{k}"] = _column(op.bias)
        source, reads_inputs_from_a = _span(low, high, n_inputs)
        lines += [f"z[...] = S{k} @ {source}", f"z += b{k}"]
    elif columns[-1] - columns[0] + 1 == len(columns):
        low, high = int(columns[0]), int(columns[-1]) + 1
        constants[f"W{k}"] = np.ascontiguousarray(op.weights.T)
        constants[f"b{k}"] = _column(op.bias)
        source, reads_inputs_from_a = _span(low, high, n_inputs)
        lines += [f"np.matmul(W{k}, {source}, out=z)", f"z += b{k}"]
    else:
        constants[f"W{k}"] = np.ascontiguousarray(np.hstack([op.weights.T, _column(op.bias)]))
        constants[f"i{k}"] = np.append(columns, plan.n_columns)
        reads_inputs_from_a = bool(columns[0] < n_inputs)
        lines.append(f"np.matmul(W{k}, A.take(i{k}, axis=0), out=z)  # bias: the row of ones")
    lines += _activation_lines(op, constants)
    return lines, reads_inputs_from_a


def _column(vector: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vector.reshape(-1, 1))


def _span(low: int, high: int, n_inputs: int) -> tuple[str, bool]:
    """Where a read of the columns ``low:high`` comes from, and whether it needs inputs in ``A``."""
    if high <= n_inputs:
        return f"X[{low}:{high}]", False
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
