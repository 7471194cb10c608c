"""The native kernel: one compiled call runs a whole small plan, when numba is installed.

Between the batches the scalar code serves and those where matrix products dominate, a plan's time
is the fixed cost of its numpy calls (a dozen for the lesson's network, hundreds for a NEAT-style
DAG). With numba (the ``native`` extra), ``run_native`` instead computes every op in one call of
a loop compiled once for all plans (and cached on disk): each neuron's weighted sum, the bias
first, then its connections one by one over the whole batch, then its value. The plan is handed
over as data (``native_arrays``): every op's connections as CSR rows indexed by buffer column,
exactly those of the sparse product (a stored weight of 0.0 included, so NaN propagates as in the
reference), its activation as a code. No source is generated, so nothing from a graph reaches
compiled code. Activations with a native form: linear, relu, leaky_relu, tanh, sigmoid and
softmax; a plan with any other gets no native kernel.

Without numba, ``NATIVE_AVAILABLE`` is false and codegen never chooses the kernel: the fused numpy
pass stays the reference of speed and correctness. Which batches the kernel runs is
``nngraph.compiler.costs.native_batch_limit``.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.ir.plan import WEIGHTED_SUM, Plan

# numba is imported on the kernel's first run only: it takes about half a second to import, which
# every command-line call would pay otherwise.
NATIVE_AVAILABLE = importlib.util.find_spec("numba") is not None

# Activation codes the kernel understands.
ACTIVATION_CODES = {"linear": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4, "softmax": 5}


@dataclass(frozen=True, eq=False)
class NativeArrays:
    """A plan as the kernel reads it: op ``k`` writes columns ``first[k]`` to ``first[k] +
    rows[k + 1] - rows[k]``, from CSR rows ``rows[k]`` to ``rows[k + 1]`` of ``indptr``,
    ``indices`` (buffer columns) and ``weights``, plus ``bias`` per row; ``activation[k]`` is a
    code of ``ACTIVATION_CODES`` with parameter ``alpha[k]``; ``outputs`` selects the rows of
    the output neurons (a slice where their columns are contiguous, as they usually are)."""

    n_inputs: int
    outputs: slice | np.ndarray
    first: np.ndarray
    rows: np.ndarray
    activation: np.ndarray
    alpha: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    bias: np.ndarray


def has_native_form(plan: Plan) -> bool:
    """Whether the kernel can run ``plan``: every op a weighted sum (the kernel sums its connections;
    aggregate and shared-weight ops have code of their own) whose activation has a native form."""
    return all(op.operation == WEIGHTED_SUM and resolve_activation(op.activation).kind in ACTIVATION_CODES
               for op in plan.ops)


def native_arrays(plan: Plan) -> NativeArrays:
    """The arrays the kernel runs ``plan`` from (the plan must have a native form).

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> arrays = native_arrays(build_plan(lesson_model().graph))
    >>> arrays.first.tolist(), arrays.rows.tolist(), arrays.activation.tolist(), len(arrays.weights)
    ([8, 14, 20], [0, 6, 12, 16], [1, 1, 5], 108)
    """
    indptr, indices, weights = [np.zeros(1, dtype=np.int64)], [], []
    for op in plan.ops:
        matrix = op.connection_matrix().T.tocsr()
        matrix.sort_indices()
        sources = np.array([plan.columns[node] for node in op.sources], dtype=np.int64)
        indptr.append(matrix.indptr[1:].astype(np.int64) + indptr[-1][-1])
        indices.append(sources[matrix.indices])
        weights.append(matrix.data)
    activations = [resolve_activation(op.activation) for op in plan.ops]
    arrays = NativeArrays(
        n_inputs=len(plan.inputs),
        outputs=_rows(np.array([plan.columns[node] for node in plan.outputs], dtype=np.intp)),
        first=np.array([plan.columns[op.targets[0]] for op in plan.ops], dtype=np.int64),
        rows=np.cumsum([0] + [len(op.targets) for op in plan.ops], dtype=np.int64),
        activation=np.array([ACTIVATION_CODES[a.kind] for a in activations], dtype=np.int64),
        alpha=np.array([dict(a.params).get("alpha", 0.0) for a in activations], dtype=np.float64),
        indptr=np.concatenate(indptr), indices=np.concatenate(indices + [np.zeros(0, np.int64)]),
        weights=np.concatenate(weights + [np.zeros(0)]).astype(plan.dtype),
        bias=np.concatenate([op.bias for op in plan.ops]).astype(plan.dtype))
    for value in vars(arrays).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return arrays


def _rows(columns: np.ndarray) -> slice | np.ndarray:
    """``columns`` as a slice if they are contiguous (a view, not a copy), else as they are."""
    if np.array_equal(columns, np.arange(columns[0], columns[0] + len(columns))):
        return slice(int(columns[0]), int(columns[-1]) + 1)
    return columns


def _forward(X, Z, A, n_inputs, first, rows, activation, alpha, indptr, indices, weights, bias):
    """The kernel: inputs into ``A``, then each op's weighted sums into ``Z`` and values into ``A``
    (``Z`` may be ``A``). Written for numba; plain Python runs it too, slowly."""
    n = X.shape[1]
    A[:n_inputs] = X
    total = np.empty(n, dtype=np.float64)
    for k in range(len(first)):
        start = first[k]
        count = rows[k + 1] - rows[k]
        for t in range(count):
            row = rows[k] + t
            for s in range(n):
                total[s] = bias[row]
            for j in range(indptr[row], indptr[row + 1]):
                w = weights[j]
                source = A[indices[j]]
                for s in range(n):
                    total[s] += w * source[s]
            for s in range(n):
                Z[start + t, s] = total[s]
        code = activation[k]
        if code == 5:  # softmax over the op's neurons, per sample
            for s in range(n):
                top = Z[start, s]
                for t in range(1, count):
                    z = Z[start + t, s]
                    if z > top or math.isnan(z):  # NaN, once met, stays the top: all NaN
                        top = z
                norm = 0.0
                for t in range(count):
                    e = math.exp(Z[start + t, s] - top)
                    A[start + t, s] = e
                    norm += e
                for t in range(count):
                    A[start + t, s] = A[start + t, s] / norm
            continue
        for t in range(count):
            for s in range(n):
                z = Z[start + t, s]
                if code == 1:
                    a = 0.0 if z < 0.0 else z  # NaN stays NaN
                elif code == 2:
                    a = z if z > 0.0 else alpha[k] * z
                elif code == 3:
                    a = math.tanh(z)
                elif code == 4:
                    if z >= 0.0:
                        a = 1.0 / (1.0 + math.exp(-z))
                    else:  # also NaN: exp(NaN) is NaN
                        e = math.exp(z)
                        a = e / (1.0 + e)
                else:
                    a = z
                A[start + t, s] = a


@functools.cache
def _kernel() -> Callable[..., None]:
    """The compiled kernel (compiled on first use, a few seconds, then loaded from numba's cache on
    disk), or the plain Python loop where numba is missing."""
    if not NATIVE_AVAILABLE:
        return _forward
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(_forward)
    except RuntimeError:  # no writable place for the cache: compile in every process instead
        return numba.njit(nogil=True)(_forward)


def run_native(arrays: NativeArrays, X: np.ndarray, Z: np.ndarray, A: np.ndarray) -> None:
    """Run the plan of ``arrays`` on ``X`` (inputs neuron-major) into the buffers ``Z`` and ``A``
    (the column layout of ``nngraph.ir.plan``; one buffer when not tracing).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)
    >>> A = np.empty((plan.n_columns, 2))
    >>> run_native(native_arrays(plan), np.zeros((8, 2)), A, A)
    >>> A[-4:].sum(axis=0)  # softmax outputs
    array([1., 1.])
    """
    _kernel()(X, Z, A, arrays.n_inputs, arrays.first, arrays.rows, arrays.activation, arrays.alpha,
              arrays.indptr, arrays.indices, arrays.weights, arrays.bias)
