"""The native kernel: one compiled call runs a whole small plan, when numba is installed.

Between the batches the scalar code serves and those where matrix products dominate, a plan's time
is the fixed cost of its numpy calls (a dozen for the lesson's network, hundreds for a NEAT-style
DAG). With numba (the ``native`` extra), ``run_native`` instead computes every op in one call of a
loop compiled once for all plans (and cached on disk): each neuron's weighted sum, its connections
one by one over the whole batch, then its value. The plan is handed over as data
(``native_arrays``): every op's connections as CSR rows indexed by buffer column, exactly those of
the sparse product (a stored weight of 0.0 included, so NaN propagates as in the reference), or, for
an aggregate op, its terms in their order; each row's aggregation and each op's activation (each
run's, for a mixed op) as a code; a dense op without padding also as its weight matrix, which for
one sample the kernel adds source by source to all its targets at once (a vectorised loop). No
source is generated, so nothing from a graph reaches compiled code. Aggregations with a native form:
sum (weighted-sum ops) and product (aggregate ops: the gates of a recurrent cell); activations:
linear, relu, leaky_relu, tanh, sigmoid, softmax, elu, selu, exponential, and every one of
neat-python's (``neat_sigmoid``, ``neat_sin``, ...: ``nngraph.core.neat_activations``), so that a
generation of genomes runs in one call; a plan with any other gets no native kernel. A whole
unrolled LSTM is then one call, where the numpy pass makes a few calls per op and time step.
Each activation is a loop over the op's values in place, which the compiler vectorises; a neat
activation first clamps its scaled argument there (``CLAMPED_FORMS``), rounded to the plan's
precision as the reference rounds it (in float32 too: the float64 product of a float32 and a scale of
a few bits is exact, so its rounding is the reference's float32 product), then applies its outer
function, in float64 from that argument, rounded once to the plan's precision where the reference
rounds each step: within 1e-5 of it in float32 (softplus apart, which rounds exp and 1 + exp as
the reference does: 1 + a small exp keeps few bits of it in float32). Those from exp (tanh,
sigmoid, softmax, elu, selu, exponential, neat's gauss and softplus) take their exps from one loop
of the kernel's own (a polynomial after reducing the argument by powers of two, within 2e-16 of exp), and neat's
sin from fdlibm's (within 1 ulp), since the C library's ``exp``, ``tanh`` and ``sin``, a call per
value, would take most of the kernel's time; log (neat's log and softplus) is the C library's.

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
from itertools import groupby

import numpy as np

from nngraph.compiler.rows import sparse_rows
from nngraph.core.activations import Activation, resolve_activation
from nngraph.core.neat_activations import CLAMPED_FORMS
from nngraph.ir.plan import AGGREGATE, DENSE, SPARSE, WEIGHTED_SUM, AggregateOp, Op, Plan

# numba is imported on the kernel's first run only: it takes about half a second to import, which
# every command-line call would pay otherwise.
NATIVE_AVAILABLE = importlib.util.find_spec("numba") is not None

# Activation codes the kernel understands, by the kind of a registry activation or the outer function
# of a neat activation (``CLAMPED_FORMS``). Codes 3 to 9 come from exp; elu and selu share a code
# (selu's scale is a parameter).
ACTIVATION_CODES = {"linear": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4, "softmax": 5,
                    "elu": 6, "selu": 6, "exponential": 7, "exp(-5 t**2)": 8, "0.2 log(1 + exp(t))": 9,
                    "sin(t)": 10, "1 / t, 0 at 0": 11, "log(t)": 12, "|t|": 13, "max(0, 1 - |t|)": 14,
                    "t**2": 15, "t**3": 16}
# A kernel op's parameters (``NativeArrays.params``): alpha (leaky_relu, elu, selu), scale (selu;
# 1.0 for elu), then the argument of a neat activation: scale * z clamped to [low, high].
PARAMETERS = ("alpha", "scale", "argument_scale", "low", "high")
# Aggregation codes: how a row combines its terms (weighted-sum ops sum; aggregate ops name theirs).
AGGREGATION_CODES = {"sum": 0, "product": 1}


@dataclass(frozen=True, eq=False)
class NativeArrays:
    """A plan as the kernel reads it, in kernel ops: one per op, or one per run of targets of one
    activation of a mixed op (``activation_runs``). Kernel op ``k`` writes columns ``first[k]`` to
    ``first[k] + rows[k + 1] - rows[k]``, from CSR rows ``rows[k]`` to ``rows[k + 1]`` of ``indptr``,
    ``indices`` (buffer columns) and ``weights``, combined by ``aggregation`` per row (a code of
    ``AGGREGATION_CODES``), plus ``bias`` per row; ``activation[k]`` is a code of
    ``ACTIVATION_CODES`` with parameters ``params[k]`` (``PARAMETERS``); ``outputs`` selects the rows of the output
    neurons (a slice where their columns are contiguous, as they usually are).

    A dense op every entry of which is a connection is also a block: ``block[k]`` is where its
    weights start in ``block_weights`` (``(sources, targets)``, row-major) and its sources are the
    columns ``block_columns[block_sources[k]:block_sources[k + 1]]``; ``block[k]`` is -1 for the
    other ops. For one sample the kernel adds a block's sources one by one to all its targets at
    once, which the compiler vectorises (each target still adds its terms in source order, as a row
    does); for several, it reads the rows, whose loop over the samples is vectorised instead.

    The named arrays are views of two: ``integers`` and ``reals``, which are what the kernel gets."""

    n_inputs: int
    outputs: slice | np.ndarray
    first: np.ndarray
    rows: np.ndarray
    activation: np.ndarray
    params: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    aggregation: np.ndarray
    block: np.ndarray
    block_sources: np.ndarray
    block_columns: np.ndarray
    block_weights: np.ndarray
    #: ``n_inputs``, then the offsets of ``INTEGER_PARTS`` within this array, then those arrays.
    integers: np.ndarray
    #: ``REAL_PARTS`` one after the other (offsets in ``integers``).
    reals: np.ndarray


# The kernel gets its arrays packed into one of integers and one of reals (and ``params``): numba
# unboxes each argument of a call, about 80 ns each, which a one-sample call would feel.
INTEGER_PARTS = ("first", "rows", "activation", "indptr", "indices", "aggregation", "block",
                 "block_sources", "block_columns")
REAL_PARTS = ("weights", "bias", "block_weights")


# The kernel's exp (for tanh, sigmoid, softmax, ...) and sin: math.exp, math.tanh and math.sin are
# calls of the C library per value, which the compiler cannot vectorise; these loops it can. The
# exp's arguments go through a chunk of scratch at a time, a few kilobytes whatever the batch.
_EXP_CHUNK = 256
_EXP_LOW, _EXP_HIGH = -746.0, 710.0  # exp is 0.0 below (half the least subnormal), inf above
_LOG2_E = 1.4426950408889634
_LN2_HIGH, _LN2_LOW = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # j * _LN2_HIGH is exact
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = (
    1.0 / math.factorial(power) for power in range(2, 14))
# x + _SHIFTER - _SHIFTER is x rounded to an integer j (|x| < 2**51), and the low bits of x + _SHIFTER
# are those of _SHIFTER plus j: no conversion to an integer, which the compiler would not vectorise.
_SHIFTER = 6755399441055744.0  # 1.5 * 2**52
_SHIFTER_BITS = int(np.array(_SHIFTER).view(np.int64))
# sin (fdlibm's): t less the nearest multiple k pi / 2, in three parts (the first two of 33 bits, so
# that k times them is exact for the |k| <= 39 of neat's |t| <= 60), then sin or cos of the rest,
# |r| <= pi / 4, by fdlibm's polynomials (within 1 ulp), by k mod 4.
_TWO_OVER_PI = 6.36619772367581382433e-01
_PIO2_1, _PIO2_2, _PIO2_2T = 1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624879595063154e-21
_S1, _S2, _S3, _S4, _S5, _S6 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
                                2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C1, _C2, _C3, _C4, _C5, _C6 = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
                                -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)


def has_native_form(plan: Plan) -> bool:
    """Whether the kernel can run ``plan``: every op a weighted sum, or an aggregate op whose
    aggregations have a native form (shared-weight ops have code of their own), whose activation
    has a native form, a softmax over all the op's neurons (not several groups)."""
    return all(_native_aggregations(op) and getattr(op, "groups", 1) == 1
               and all(_outer(resolve_activation(name)) in ACTIVATION_CODES
                       for name, _, _ in op.activation_runs()) for op in plan.ops)


def _outer(activation: Activation) -> str:
    """The function the kernel applies after a neat activation's clamp: its outer function, or the
    activation's kind (a key of ``ACTIVATION_CODES`` where the kernel has it)."""
    return CLAMPED_FORMS[activation.kind][0] if activation.kind in CLAMPED_FORMS else activation.kind


def _parameters(activation: Activation) -> tuple[float, ...]:
    """``activation``'s parameters as the kernel reads them (``PARAMETERS``)."""
    params = dict(activation.params)
    _, scale, low, high = CLAMPED_FORMS.get(activation.kind, ("", 1.0, -math.inf, math.inf))
    return params.get("alpha", 0.0), params.get("scale", 1.0), scale, low, high


@functools.lru_cache(maxsize=256)
def _code_and_parameters(name: str) -> tuple[int, tuple[float, ...]]:
    """The kernel's code (``ACTIVATION_CODES``) and parameters (``PARAMETERS``) of the activation
    ``name``: read once per name, as a generation's plan has dozens of runs of a few activations."""
    activation = resolve_activation(name)
    return ACTIVATION_CODES[_outer(activation)], _parameters(activation)


def _native_aggregations(op: Op) -> bool:
    if op.operation == AGGREGATE:
        return all(aggregation in AGGREGATION_CODES for aggregation in op.aggregations)
    return op.operation == WEIGHTED_SUM


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
    indptr, indices, weights, aggregation = [np.zeros(1, dtype=np.int64)], [], [], []
    block, block_sources, block_columns, block_weights = [], [0], [], []
    block_size = 0  # the numbers in block_weights so far
    first, counts_of, names = [], [], []
    source_columns = []  # each op's sources' columns (a sparse op's are read by sparse_rows)
    for op in plan.ops:
        source_columns.append(None if op.kind == SPARSE else
                              np.array([plan.columns[node] for node in op.sources], dtype=np.int64))
        start = plan.columns[op.targets[0]]
        is_block = _is_block(op)
        for name, low, high in op.activation_runs():  # one kernel op per run of one activation
            first.append(start + low)
            counts_of.append(high - low)
            names.append(name)
            if is_block:
                block.append(block_size)
                block_columns.append(source_columns[-1])
                block_weights.append(np.ascontiguousarray(op.weights[:, low:high]).reshape(-1))
                block_size += len(block_weights[-1])
                block_sources.append(block_sources[-1] + len(source_columns[-1]))
            else:
                block.append(-1)
                block_sources.append(block_sources[-1])
    # Each op's rows: those of consecutive sparse ops as one ``sparse_rows`` (one sort for them all,
    # not numpy calls per op); a dense op's, and an aggregate op's terms, op by op.
    for kind, group in groupby(zip(plan.ops, source_columns), key=lambda item: item[0].kind):
        for part in ([list(group)] if kind == SPARSE else [[item] for item in group]):
            if kind == SPARSE:
                connections = sparse_rows(plan, [op for op, _ in part])
                counts, columns, values = np.diff(connections.indptr), connections.columns, connections.weights
                codes = np.full(len(counts), AGGREGATION_CODES["sum"], dtype=np.int64)
            else:
                [(op, sources)] = part
                counts, rows, values, codes = _terms(op) if kind == AGGREGATE else _connections(op)
                columns = sources[rows]
            indptr.append(np.cumsum(counts, dtype=np.int64) + indptr[-1][-1])
            indices.append(columns.astype(np.int64, copy=False))
            weights.append(values)
            aggregation.append(codes)
    named = {
        "first": np.array(first, dtype=np.int64),
        "rows": np.cumsum([0] + counts_of, dtype=np.int64),
        "activation": np.array([_code_and_parameters(name)[0] for name in names], dtype=np.int64),
        "indptr": np.concatenate(indptr), "indices": np.concatenate(indices + [np.zeros(0, np.int64)]),
        "aggregation": np.concatenate(aggregation + [np.zeros(0, np.int64)]),
        "block": np.array(block, dtype=np.int64), "block_sources": np.array(block_sources, dtype=np.int64),
        "block_columns": np.concatenate(block_columns + [np.zeros(0, np.int64)]),
        "weights": np.concatenate(weights + [np.zeros(0)]),
        "bias": np.concatenate([op.bias for op in plan.ops]),
        "block_weights": np.concatenate(block_weights + [np.zeros(0)])}
    header = 1 + len(INTEGER_PARTS) + 1 + len(REAL_PARTS) + 1
    integer_bounds = np.cumsum([header] + [len(named[name]) for name in INTEGER_PARTS]).tolist()
    real_bounds = np.cumsum([0] + [len(named[name]) for name in REAL_PARTS]).tolist()
    integers = np.concatenate([np.array([len(plan.inputs)] + integer_bounds + real_bounds, dtype=np.int64)]
                              + [named[name] for name in INTEGER_PARTS])
    reals = np.concatenate([named[name] for name in REAL_PARTS]).astype(plan.dtype)
    views = {name: integers[integer_bounds[i]:integer_bounds[i + 1]] for i, name in enumerate(INTEGER_PARTS)}
    views.update({name: reals[real_bounds[i]:real_bounds[i + 1]] for i, name in enumerate(REAL_PARTS)})
    arrays = NativeArrays(
        n_inputs=len(plan.inputs),
        outputs=_rows(np.array([plan.columns[node] for node in plan.outputs], dtype=np.intp)),
        params=np.array([_code_and_parameters(name)[1] for name in names],
                        dtype=np.float64).reshape(-1, len(PARAMETERS)),
        integers=integers, reals=reals, **views)
    for value in vars(arrays).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return arrays


def _is_block(op: Op) -> bool:
    """Whether the kernel computes ``op`` as a block: dense, every entry a connection."""
    return op.operation == WEIGHTED_SUM and op.kind == DENSE and not op.padded and len(op.sources) > 0


def _connections(op: Op) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A dense op's rows: connections per target, their source rows and weights (sorted by source
    within a target), and the aggregation codes (all sums)."""
    codes = np.full(len(op.targets), AGGREGATION_CODES["sum"], dtype=np.int64)
    rows, cols, values = op.connection_arrays()  # row by row: a stable sort by target keeps them sorted
    by_target = np.argsort(cols, kind="stable")
    return np.bincount(cols, minlength=len(op.targets)), rows[by_target], values[by_target], codes


def _terms(op: AggregateOp) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An aggregate op's rows (counts, source rows, weights, aggregation codes): each target's terms
    in their order."""
    counts, rows, values, codes = [], [], [], []
    for reduction in op.reductions:
        targets, terms = reduction.rows.shape
        counts.append(np.full(targets, terms, dtype=np.int64))
        rows.append(reduction.rows.reshape(-1))
        values.append(reduction.weights.reshape(-1))
        codes.append(np.full(targets, AGGREGATION_CODES[reduction.aggregation], dtype=np.int64))
    empty = [np.zeros(0, dtype=np.int64)]
    return (np.concatenate(counts + empty), np.concatenate(rows + empty).astype(np.int64),
            np.concatenate(values + [np.zeros(0)]), np.concatenate(codes + empty))


def _rows(columns: np.ndarray) -> slice | np.ndarray:
    """``columns`` as a slice if they are contiguous (a view, not a copy), else as they are."""
    if np.array_equal(columns, np.arange(columns[0], columns[0] + len(columns))):
        return slice(int(columns[0]), int(columns[-1]) + 1)
    return columns


def _forward(X, Z, A, integers, reals, params):
    """The kernel: inputs into ``A``, then each op's weighted sums into ``Z`` and values into ``A``
    (the inputs' rows of ``Z`` it leaves as they are), the plan unpacked from ``integers``
    and ``reals`` (``NativeArrays``). Written for numba; plain Python runs it too, slowly."""
    n_inputs = integers[0]
    at = integers[1:2 + len(INTEGER_PARTS)]  # where each of INTEGER_PARTS starts, and the last ends
    real_at = integers[2 + len(INTEGER_PARTS):3 + len(INTEGER_PARTS) + len(REAL_PARTS)]  # and REAL_PARTS'
    first, rows, activation = integers[at[0]:at[1]], integers[at[1]:at[2]], integers[at[2]:at[3]]
    indptr, indices, aggregation = integers[at[3]:at[4]], integers[at[4]:at[5]], integers[at[5]:at[6]]
    block, block_sources, block_columns = integers[at[6]:at[7]], integers[at[7]:at[8]], integers[at[8]:at[9]]
    weights, bias = reals[real_at[0]:real_at[1]], reals[real_at[1]:real_at[2]]
    block_weights = reals[real_at[2]:real_at[3]]
    n = X.shape[1]
    A[:n_inputs] = X
    tracing = Z.ctypes.data != A.ctypes.data  # the inputs' rows of Z are the caller's (trace_plan's)
    widest = 0
    for k in range(len(first)):
        widest = max(widest, rows[k + 1] - rows[k])
    weighted, values = Z.reshape(-1), A.reshape(-1)  # flat views: the buffers are C-contiguous
    # Scratch, in float64, one allocation: a row's products, a softmax's largest sums and norms
    # (per sample), a block's sums for one sample, and a chunk's exp arguments and powers of two.
    scratch = np.empty(3 * n + widest + 3 * _EXP_CHUNK, dtype=np.float64)
    total, top, norm = scratch[:n], scratch[n:2 * n], scratch[2 * n:3 * n]
    single = scratch[3 * n:3 * n + widest]
    reduced, powers = scratch[3 * n + widest:3 * n + widest + _EXP_CHUNK], scratch[3 * n + widest + _EXP_CHUNK:]
    power_bits = powers.view(np.int64)
    high_powers, high_bits = powers[_EXP_CHUNK:], power_bits[_EXP_CHUNK:]  # the second power of two
    for k in range(len(first)):
        start = first[k]
        count = rows[k + 1] - rows[k]
        offset, low, high = block[k], block_sources[k], block_sources[k + 1]
        by_rows = count
        if offset >= 0 and n == 1:  # a block, one sample: each source's row of weights to all targets
            for t in range(count):
                single[t] = bias[rows[k] + t]
            for i in range(high - low):
                value = A[block_columns[low + i], 0]
                base = offset + i * count
                for t in range(count):  # contiguous: vectorised
                    single[t] += block_weights[base + t] * value
            for t in range(count):
                Z[start + t, 0] = single[t]
            by_rows = 0  # done: its rows are for several samples
        for t in range(by_rows):
            row = rows[k] + t
            if n == 1:  # one sample: a scalar loop, in float64
                if aggregation[row] == 1:  # product: bias + the product of the terms (1.0 for none)
                    product = 1.0
                    for j in range(indptr[row], indptr[row + 1]):
                        product *= weights[j] * A[indices[j], 0]
                    Z[start + t, 0] = bias[row] + product
                else:
                    acc = float(bias[row])
                    for j in range(indptr[row], indptr[row + 1]):
                        acc += weights[j] * A[indices[j], 0]
                    Z[start + t, 0] = acc
                continue
            if aggregation[row] == 1:  # product: bias + the product of the terms (1.0 for none)
                for s in range(n):
                    total[s] = 1.0
                for j in range(indptr[row], indptr[row + 1]):
                    w = weights[j]
                    source = indices[j]
                    for s in range(n):
                        total[s] *= w * A[source, s]
                for s in range(n):
                    Z[start + t, s] = bias[row] + total[s]
                continue
            # Several samples: each connection adds its source's row to the target's row of sums,
            # in the plan's precision (as the reference's), four connections a pass, in their
            # order: one load and store of the sums per four.
            z_row = Z[start + t]
            for s in range(n):
                z_row[s] = bias[row]
            j, end = indptr[row], indptr[row + 1]
            while j + 4 <= end:
                w0, w1, w2, w3 = weights[j], weights[j + 1], weights[j + 2], weights[j + 3]
                r0, r1, r2, r3 = A[indices[j]], A[indices[j + 1]], A[indices[j + 2]], A[indices[j + 3]]
                for s in range(n):
                    z_row[s] = (((z_row[s] + w0 * r0[s]) + w1 * r1[s]) + w2 * r2[s]) + w3 * r3[s]
                j += 4
            for j in range(j, end):
                w, a_row = weights[j], A[indices[j]]
                for s in range(n):
                    z_row[s] += w * a_row[s]
        code = activation[k]
        # Element-wise: the op's block is one run of the flat (C-order) buffers. Each loop reads
        # and writes the values' block only (a copy of the sums' when tracing), in place: over
        # views indexed from 0, which the compiler vectorises (two views of one buffer it would
        # not: it cannot tell that they are the same).
        a_block = values[start * n:(start + count) * n]
        if tracing:
            sums = weighted[start * n:(start + count) * n]
            for e in range(len(a_block)):
                a_block[e] = sums[e]
        scale, least, most = params[k, 2], params[k, 3], params[k, 4]
        if scale != 1.0 or least > -math.inf or most < math.inf:  # a neat activation's argument, in place
            for e in range(len(a_block)):  # rounded to the plan's precision, as the reference's (module doc)
                v = a_block[e] * scale
                a_block[e] = least if v < least else (most if v > most else v)  # NaN stays NaN
        if code == 1:
            for e in range(len(a_block)):
                z = a_block[e]
                a_block[e] = 0.0 if z < 0.0 else z  # NaN stays NaN
        elif code == 2:
            slope = params[k, 0]
            for e in range(len(a_block)):
                z = a_block[e]
                a_block[e] = z if z > 0.0 else slope * z
        elif code == 10:  # sin, of neat's clamped t (see _TWO_OVER_PI); a NaN stays NaN
            for e in range(len(a_block)):
                v = a_block[e]
                multiple = (v * _TWO_OVER_PI + _SHIFTER) - _SHIFTER
                first_rest = v - multiple * _PIO2_1  # exact
                part = multiple * _PIO2_2  # exact
                r = first_rest - part
                r = r - (multiple * _PIO2_2T - ((first_rest - r) - part))  # (...) - part: what r rounded off
                z = r * r
                # r itself at ±0: sin(-0.0) is -0.0, where r + (-0.0 * a negative) would be +0.0
                sine = r if r == 0.0 else r + (z * r) * (
                    _S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
                halved = 0.5 * z
                rest = 1.0 - halved
                cosine = rest + (((1.0 - rest) - halved) + z * (z * (
                    _C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))))
                # np.floor, not math.floor: a float in plain Python and under numba alike, so a NaN
                # stays NaN (math.floor raises for it; numba's goes through an integer, undefined).
                quadrant = multiple - 4.0 * np.floor(multiple * 0.25)
                value = cosine if quadrant == 1.0 or quadrant == 3.0 else sine
                a_block[e] = -value if quadrant >= 2.0 else value
        elif code == 11:  # 1 / t, and 0 where t is 0
            for e in range(len(a_block)):
                v = a_block[e]
                a_block[e] = 0.0 if v == 0.0 else 1.0 / v
        elif code == 12:  # log(t): t is at least 1e-7, or NaN
            for e in range(len(a_block)):
                a_block[e] = math.log(a_block[e])
        elif code == 13:
            for e in range(len(a_block)):
                a_block[e] = abs(a_block[e])
        elif code == 14:  # max(0, 1 - |t|): NaN stays NaN
            for e in range(len(a_block)):
                v = 1.0 - abs(a_block[e])
                a_block[e] = 0.0 if v < 0.0 else v
        elif code == 15:
            for e in range(len(a_block)):
                v = a_block[e]
                a_block[e] = v * v
        elif code == 16:
            for e in range(len(a_block)):
                v = a_block[e]
                a_block[e] = (v * v) * v
        elif code != 0:  # from exp (codes 3 to 9), a chunk of the block at a time
            if code == 5:  # softmax over the op's neurons, per sample: z - the largest z, then exp
                top[:] = A[start]
                for t in range(1, count):
                    a_row = A[start + t]
                    for s in range(n):
                        z = a_row[s]
                        if z > top[s] or math.isnan(z):  # NaN, once met, stays the top: all NaN
                            top[s] = z
                for t in range(count):
                    a_row = A[start + t]
                    for s in range(n):  # in the plan's precision: the difference of two of its numbers
                        a_row[s] = a_row[s] - top[s]
            done = 0
            while done < len(a_block):
                size = min(_EXP_CHUNK, len(a_block) - done)
                chunk = a_block[done:done + size]  # indexed from 0: no wraparound test per index
                # The arguments: -2|z| (tanh), -|z| (sigmoid), min(z, 0) (elu, selu), -5 t**2
                # (gauss), z itself (softmax, where z is the sum - the top; exponential; softplus).
                if code == 3 or code == 4:
                    twice = 2.0 if code == 3 else 1.0
                    for i in range(size):
                        reduced[i] = -abs(chunk[i]) * twice
                elif code == 6:
                    for i in range(size):
                        z = chunk[i]
                        reduced[i] = 0.0 if z > 0.0 else z  # NaN stays NaN
                elif code == 8:
                    for i in range(size):
                        v = chunk[i]
                        # as the reference rounds it in float64; in float32 more exactly (the
                        # reference rounds t**2 and -5 t**2 to float32): within 2e-6 of it
                        reduced[i] = (v * v) * -5.0
                else:
                    for i in range(size):
                        reduced[i] = chunk[i]
                # exp(u) = 2**j * (1 + expm1(r)), u = j ln 2 + r, |r| <= ln(2) / 2, expm1(r) by its
                # Taylor series (to r**13 / 13!: within 2e-16); u clipped to where 2**j is zero or
                # infinite, 2**j as two powers of two whose bits are written as integers (each a
                # normal number, so that 2**j may be subnormal), j read from the bits of
                # u / ln 2 + _SHIFTER; a NaN stays NaN.
                for i in range(size):
                    u = reduced[i]
                    clipped = u if u > _EXP_LOW else _EXP_LOW  # NaN too: its j would be undefined
                    clipped = clipped if clipped < _EXP_HIGH else _EXP_HIGH
                    shifted = clipped * _LOG2_E + _SHIFTER
                    j = shifted - _SHIFTER
                    r = (clipped - j * _LN2_HIGH) - j * _LN2_LOW
                    expm1 = r * (1.0 + r * (_E2 + r * (_E3 + r * (_E4 + r * (_E5 + r * (_E6 + r * (
                        _E7 + r * (_E8 + r * (_E9 + r * (_E10 + r * (_E11 + r * (_E12 + r * _E13))))))))))))
                    reduced[i] = expm1 if u == u else u
                    powers[i] = shifted
                for i in range(size):
                    power = power_bits[i] - _SHIFTER_BITS
                    half = power >> 1
                    power_bits[i] = (half + 1023) << 52
                    high_bits[i] = (power - half + 1023) << 52
                if code == 4:  # 1 / (1 + exp(-z)), or exp(z) / (1 + exp(z)) for z < 0
                    for i in range(size):
                        exp = ((1.0 + reduced[i]) * powers[i]) * high_powers[i]
                        chunk[i] = (1.0 if chunk[i] >= 0.0 else exp) / (1.0 + exp)
                elif code == 3:  # tanh |z| = -expm1(-2|z|) / (2 + expm1(-2|z|)), exact near 0 too
                    for i in range(size):
                        two_to_j = powers[i] * high_powers[i]
                        expm1 = two_to_j * reduced[i] + (two_to_j - 1.0)
                        value = -expm1 / (2.0 + expm1)
                        chunk[i] = value if chunk[i] >= 0.0 else -value  # NaN: NaN
                elif code == 6:  # scale * (z if z > 0, else alpha * expm1(z)): elu, selu
                    slope, factor = params[k, 0], params[k, 1]
                    for i in range(size):
                        two_to_j = powers[i] * high_powers[i]
                        expm1 = two_to_j * reduced[i] + (two_to_j - 1.0)
                        z = chunk[i]
                        chunk[i] = factor * (z if z > 0.0 else slope * expm1)
                elif code == 9:  # 0.2 log(1 + exp(t)): the C library's log, a call per value
                    # exp, then 1 + exp, each stored in the plan's precision, as the reference rounds
                    # them: in float32, 1 + a small exp is 1 there, and the log 0. The one exception
                    # to 1e-12 (float64) or 1e-5 (float32) relative: where the kernel's exp and
                    # numpy's differ by an ulp (numpy's float32 exp is not correctly rounded) and
                    # that flips the rounding of 1 + exp, the result differs by 0.2 ulp of 1 (1e-17
                    # in float64: 1e-12 to 1e-9 relative, a few points in a million, t < -7).
                    for i in range(size):
                        chunk[i] = ((1.0 + reduced[i]) * powers[i]) * high_powers[i]
                        chunk[i] = 1.0 + chunk[i]
                        chunk[i] = math.log(chunk[i]) * 0.2
                else:  # exp itself: softmax, exponential, gauss
                    for i in range(size):
                        chunk[i] = ((1.0 + reduced[i]) * powers[i]) * high_powers[i]
                done += size
            if code == 5:  # the exps over their sum per sample (in float64)
                norm[:] = 0.0
                for t in range(count):
                    a_row = A[start + t]
                    for s in range(n):
                        norm[s] += a_row[s]
                for t in range(count):
                    a_row = A[start + t]
                    for s in range(n):
                        a_row[s] = a_row[s] / norm[s]

# Contraction only: a multiply and an add may become one fused multiply-add, rounded once (as BLAS
# does in the numpy pass), which shortens the exp's polynomial and the sums. No other fast-math
# flag: those assume no NaN or inf, or reorder sums, and the kernel must keep the reference's.
_FAST_MATH = {"contract"}


@functools.cache
def _kernel() -> Callable[..., None]:
    """The compiled kernel (compiled on first use, a few seconds, then loaded from numba's cache on
    disk), or the plain Python loop where numba is missing. numpy's error model: a float division
    by zero gives inf or NaN, as numpy's, where Python's would test every divisor and raise, which
    keeps loops with a division from being vectorised. Of the fast-math flags, only contraction
    (``_FAST_MATH``)."""
    if not NATIVE_AVAILABLE:
        return _forward
    return compiled(_forward, error_model="numpy", fastmath=_FAST_MATH)


_COMPILED: list[str] = []  # the names of the functions ``compiled`` has made in this process


def compiled(function: Callable, **options: object) -> Callable:
    """``function`` compiled by numba (``njit`` with ``options``, releasing the GIL) on its first
    call, and cached on disk where it can be; numba must be installed."""
    import numba

    try:
        made = numba.njit(cache=True, nogil=True, **options)(function)
    except RuntimeError:  # no writable place for the cache: compile in every process instead
        made = numba.njit(nogil=True, **options)(function)
    _COMPILED.append(function.__name__)
    return made


def numba_in_use() -> bool:
    """Whether nngraph has had numba compile a function in this process (``compiled``: the native
    kernel, a population's walks): numba's import and start-up, half a second, are paid then, and
    one more function loads from numba's cache in milliseconds. Importing numba alone pays only
    the first part."""
    return bool(_COMPILED)


def run_native(arrays: NativeArrays, X: np.ndarray, Z: np.ndarray, A: np.ndarray) -> None:
    """Run the plan of ``arrays`` on ``X`` (inputs neuron-major) into the buffers ``Z`` and ``A``
    (the column layout of ``nngraph.ir.plan``; one buffer when not tracing). The inputs' rows of
    ``Z`` are left as they are: a trace fills them (``trace_plan``).

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
    _kernel()(X, Z, A, arrays.integers, arrays.reals, arrays.params)
