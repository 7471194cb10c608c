"""The lines of ``forward`` for each product: how a weighted-sum or shared-weights op, or a run of ops
of one level, computes.

``codegen`` walks the plan's ops in ``product_groups`` and asks ``group_lines`` for the lines of
each group: the product into the weighted sums ``Z[start:stop]``, then each op's activation into
its values ``A[start:stop]`` (for a mixed op, each run's activation into its rows of the block;
softmax, where numba is there, for the batches the cost model gives, in one compiled pass,
``nngraph.compiler.activation_kernels``). Three ways to read sources:

- dense, contiguous columns: one slice of the buffer (or of the input), no copy; where numba and
  AVX-512 or AVX2 are there and the op is wide, for the batches the cost model gives (the line tests the
  batch), the packed-weight product (``nngraph.compiler.gemm``) instead of ``np.matmul``, its
  weights packed on its first call, which adds the bias and applies relu as it writes its sums;
- dense, scattered columns: one gather of exactly those rows plus the row of ones, so the bias
  rides along in the product; for small batches the gathering ops of one level share one gather
  and one product (``nngraph.compiler.costs`` gives the batch limit), at the price of multiplying
  zeros;
- shared weights (``SharedOp``): one gather of every window (an ``(entries, positions)`` array of
  buffer rows, an entry without a source reading a row of zeros), then one product with the
  kernel writes all the filters at all the positions;
- sparse: the weighted sums are set to the bias, then scipy's CSR kernel
  (``nngraph.compiler.kernels``) adds the connections, reading the value buffer in place. The
  sparse ops of one level always share one kernel call: their rows are simply stacked, with no
  zero added. A sparse op alone whose targets each add as many connections, from runs of
  consecutive columns (a recurrent cell's ``cell = kept + written``), adds slices of the buffer
  instead (``nngraph.compiler.slices``).

In the exact pass (``exact=True``) padded dense ops are computed sparse and nothing shares a
gather, so that no product multiplies a zero that is no connection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nngraph.compiler.costs import (CodegenOptions, packed_batches, shared_product_batch_limit,
                                   softmax_kernel_batch_limit)
from nngraph.compiler.gemm import PACKED, pack_weights
from nngraph.compiler.native import NATIVE_AVAILABLE
from nngraph.compiler.rows import column, sparse_rows
from nngraph.compiler.slices import MAX_SLICE_CALLS, slice_lines, slice_runs
from nngraph.compiler.store import Later
from nngraph.core.activations import resolve_activation
from nngraph.ir.plan import DENSE, SHARED, SPARSE, AggregateOp, FusedOp, Plan, Reduction, SharedOp
from nngraph.ir.text import op_comment

# Activations with an in-place numpy form (``CodegenOptions.in_place_activations``); others call
# the registry's function.
IN_PLACE = {
    "relu": ["np.maximum({z}, 0.0, out={a})"],
    "tanh": ["np.tanh({z}, out={a})"],
    # (1 + tanh(z / 2)) / 2 equals 1 / (1 + exp(-z)) and never overflows; numpy's tanh is as
    # vectorised as its exp, and no reciprocal is needed (a quarter less time for the same calls).
    # Its error is absolute, within an ulp of 1: a value below that (z < -37 in float64) is 0.
    "sigmoid": ["np.multiply({z}, 0.5, out={a})", "np.tanh({a}, out={a})", "{a} *= 0.5", "{a} += 0.5"],
    "softmax": ["np.subtract({z}, {z}.max(axis=0), out={a})", "np.exp({a}, out={a})",
                "{a} /= {a}.sum(axis=0)"],
}  # each line a template over the views ``z`` and ``a``


@dataclass(frozen=True)
class GroupLines:
    """The lines of one product group; whether they read inputs from ``A`` (not ``X``), and whether
    a product among them multiplies padding."""

    lines: list[str]
    reads_inputs: bool
    padded: bool


def _either(test: str, then: list[str], otherwise: list[str], *, why: str = "") -> list[str]:
    """The lines running ``then`` if ``test`` holds, else ``otherwise``: a faster form for the
    batches (or the runs) where it pays, numpy's for the rest; ``why``, if given, the test's comment.

    Examples
    --------
    >>> for line in _either("X.shape[1] <= 8", ["fast(z)"], ["np.one(z)", "np.two(z)"], why="small"):
    ...     print(line)
    if X.shape[1] <= 8:  # small
        fast(z)
    else:
        np.one(z)
        np.two(z)
    """
    return [f"if {test}:{f'  # {why}' if why else ''}", *("    " + line for line in then),
            "else:", *("    " + line for line in otherwise)]


def sparse_in(op: FusedOp, *, exact: bool) -> bool:
    """Whether ``op`` is computed by the sparse kernel: sparse ops, and padded ones in the exact pass."""
    return op.kind == SPARSE or (exact and op.padded)


def gathers(plan: Plan, op: FusedOp, *, exact: bool) -> bool:
    """Whether ``op`` is computed dense and reads scattered columns, so that it gathers its sources."""
    return op.kind == DENSE and not sparse_in(op, exact=exact) and not plan.reads_slice(op)


def product_groups(plan: Plan, *, exact: bool) -> list[list[FusedOp]]:
    """Runs of consecutive ops of one level (which never read each other) that share a product:
    sparse ops, or (outside the exact pass) gathering ops; every other op (an aggregate op too) alone.

    Examples
    --------
    >>> import networkx as nx
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.compiler.passes import choose_kinds
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input")
    >>> G.add_node("h", role="hidden", activation="tanh"); G.add_node("g", role="hidden")
    >>> G.add_node("y", role="output")
    >>> G.add_weighted_edges_from([("x", "h", 1.0), ("x", "g", 1.0), ("h", "y", 1.0), ("g", "y", 1.0)])
    >>> plan = choose_kinds(build_plan(G, passes=()), kind="sparse")  # unmerged: an op per activation
    >>> [[op.index for op in ops] for ops in product_groups(plan, exact=False)]  # h and g: level 1
    [[0, 1], [2]]
    """
    groups: list[list[FusedOp]] = []
    for op in plan.ops:
        previous = groups[-1] if groups else []
        last = previous[-1] if previous else None
        joins = last is not None and last.level == op.level and (
            (sparse_in(op, exact=exact) and sparse_in(last, exact=exact))
            or (not exact and gathers(plan, op, exact=exact) and gathers(plan, last, exact=exact)))
        if joins:
            previous.append(op)
        else:
            groups.append([op])
    return groups


def group_lines(plan: Plan, ops: list[FusedOp], constants: dict[str, object],
                producer: dict, options: CodegenOptions, *, exact: bool) -> GroupLines:
    """The lines of one group of ``product_groups`` (constants they name go into ``constants``)."""
    if isinstance(ops[0], SharedOp):
        [op] = ops
        return _shared_lines(plan, op, constants, producer, options)
    if sparse_in(ops[0], exact=exact):
        sliced = _sliced_lines(plan, ops, constants, producer, options)
        return sliced or _sparse_lines(plan, ops, constants, producer, options)
    if gathers(plan, ops[0], exact=exact):
        return _gathered_lines(plan, ops, constants, producer, options)
    [op] = ops
    return _slice_lines(plan, op, constants, producer, options, exact=exact)


def _sparse_lines(plan: Plan, ops: list[FusedOp], constants: dict[str, object],
                  producer: dict, options: CodegenOptions) -> GroupLines:
    """Bias first, then one kernel call adds every connection of the ops; then each activation."""
    name = _name(ops)
    start, stop = plan.columns[ops[0].targets[0]], plan.columns[ops[-1].targets[-1]] + 1
    _sparse_constants(plan, ops, constants, name)
    connections = sum(op.connections for op in ops)
    lines = [f"# ops {ops[0].index}-{ops[-1].index}: one sparse product serves them all"] if len(ops) > 1 else []
    lines += [f"Z[{start}:{stop}] = b{name}",
              f"csr_accumulate({stop - start}, {plan.n_columns}, n, P{name}, J{name}, V{name}, "
              f"a_flat, z_flat[{start} * n:{stop} * n])  # {connections} connections"]
    for op in ops:
        lines += [op_comment(op, producer),
                  f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}"]
        lines += activation_lines(plan, op, constants, options)
    return GroupLines(lines, _first_read(plan, ops) < len(plan.inputs), padded=False)


def _sliced_lines(plan: Plan, ops: list[FusedOp], constants: dict[str, object], producer: dict,
                  options: CodegenOptions) -> GroupLines | None:
    """A sparse op alone whose targets each add ``K`` connections from runs of consecutive columns
    (a recurrent cell's ``cell = kept + written``), in the slice form (``nngraph.compiler.slices``);
    None when it does not take it."""
    if len(ops) > 1:
        return None
    [op] = ops
    terms, uneven = divmod(op.connections, len(op.targets))
    if uneven or not 0 < terms <= MAX_SLICE_CALLS:  # said without the arrays: no form (see slice_runs)
        return None
    columns = np.array([plan.columns[node] for node in op.sources], dtype=np.intp)
    read = columns[_read_rows(op)]
    if np.count_nonzero(np.diff(read) != 1) >= MAX_SLICE_CALLS:
        # The columns the form reads are at most MAX_SLICE_CALLS runs (one per run and term), so
        # sources in more runs than that rule it out, before the arrays it would need are made.
        return None
    rows, cols, values = op.connection_arrays()
    order = np.lexsort((rows, cols))  # target by target, each target's sources in row order
    counts = np.bincount(cols, minlength=len(op.targets))
    if not len(counts) or counts.min() != counts.max() or counts[0] == 0:
        return None
    terms = int(counts[0])
    reduction = Reduction("sum", 0, rows[order].reshape(-1, terms), values[order].reshape(-1, terms))
    runs = slice_runs(reduction, columns=columns)
    if runs is None:
        return None
    constants[f"b{op.index}"] = column(op.bias)
    lines = [op_comment(op, producer), f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}"]
    summed = slice_lines(reduction, runs=runs, columns=columns, bias=op.bias, name=str(op.index),
                         constants=constants)
    activation = activation_lines(plan, op, constants, options)
    copies = terms == 1 and len(runs) == 1 and (reduction.weights == 1.0).all() and not op.bias.any()
    if copies and _reads_z_once(activation):
        [comment, copy] = summed
        # A copy (one term of weight 1, no bias) into an activation that reads z once: when not
        # tracing, the weighted sum is not kept, so the activation reads the source itself.
        source = copy.split(" = ", 1)[1]
        in_place = activation[0].replace("(z, ", f"({source}, ", 1)
        lines += [comment, *_either("Z is A", [in_place], [copy, activation[0]],
                                    why="not tracing: the activation reads the copied columns in place"),
                  *activation[1:]]
    else:
        lines += summed + activation
    return GroupLines(lines, int(columns.min()) < len(plan.inputs), padded=False)


def _reads_z_once(activation: list[str]) -> bool:
    """Whether in-place activation lines read the weighted sums ``z`` in their first call only."""
    return (activation[0].startswith("np.") and "(z, " in activation[0] and activation[0].count("z") == 1
            and not any("z" in line for line in activation[1:]))


def _sparse_constants(plan: Plan, ops: list[FusedOp], constants: dict[str, object], name: str) -> None:
    """``P<name>``, ``J<name>``, ``V<name>``: the ops' ``sparse_rows``; ``b<name>`` their biases;
    built when the code is compiled (``Later``)."""
    rows = Later.shared(lambda: sparse_rows(plan, ops))
    for prefix, part in (("P", "indptr"), ("J", "columns"), ("V", "weights"), ("b", "bias")):
        constants[f"{prefix}{name}"] = Later(lambda part=part: getattr(rows(), part))


def _first_read(plan: Plan, ops: list[FusedOp]) -> float:
    """The lowest column the ops' connections read (infinity when they have none): a source's
    column where some connection reads it (a dense op's padding reads nothing)."""
    columns = [plan.columns[op.sources[int(np.argmax(read))]] for op in ops
               for read in [_read_rows(op)] if read.any()]
    return min(columns, default=math.inf)


def _read_rows(op: FusedOp) -> np.ndarray:
    """Which of an op's sources some connection reads (a dense op's padding reads nothing)."""
    return np.diff(op.stored_weights.indptr) > 0 if op.kind == SPARSE else op.connection_mask().any(axis=1)


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
                    producer: dict, options: CodegenOptions) -> GroupLines:
    """Each op gathers its sources (and the row of ones, for the bias) for one product, then
    applies its activation; for small batches, ops of one level share the gather and product."""
    product = "np.matmul(W{0}, A.take(i{0}, axis=0), out={1})  # bias: the row of ones"
    for op in ops:
        _gather_constants(plan, [op], constants, str(op.index))
    limit = shared_product_batch_limit(ops, options=options)
    lines: list[str] = []
    if limit:
        name = _name(ops)
        _gather_constants(plan, ops, constants, name)
        start = plan.columns[ops[0].targets[0]]
        stop = plan.columns[ops[-1].targets[-1]] + 1
        lines.append(f"# ops {ops[0].index}-{ops[-1].index}: for batches of up to {limit} samples, one "
                     "gather and one product serve them all")
        lines += _either(f"X.shape[1] <= {limit}", [product.format(name, f"Z[{start}:{stop}]")],
                         [product.format(op.index, _block("Z", plan, op)) for op in ops])
    for op in ops:
        lines += [op_comment(op, producer),
                  f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}"]
        if not limit:
            lines.append(product.format(op.index, "z"))
        lines += activation_lines(plan, op, constants, options)
    first_source = min(plan.columns[node] for op in ops for node in op.sources)
    union = {node for op in ops for node in op.sources}
    shared_padding = bool(limit) and any(len(op.sources) < len(union) for op in ops)
    return GroupLines(lines, first_source < len(plan.inputs),
                      padded=shared_padding or any(op.padded for op in ops))


def _slice_lines(plan: Plan, op: FusedOp, constants: dict[str, object], producer: dict,
                 options: CodegenOptions, *, exact: bool) -> GroupLines:
    """A dense op that reads one slice of columns (or nothing: its weighted sum is its bias); for
    the batches where the cost model expects it to pay, by the packed-weight product (``K<k>``:
    the weights, packed on first use, ``nngraph.compiler.gemm``), which adds the bias too, and
    applies a relu op's activation (not in the exact pass: it runs only when the fast pass gives
    NaN, which is rare)."""
    k = op.index
    lines = [op_comment(op, producer), f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}"]
    reads_inputs = False
    constants[f"b{k}"] = column(op.bias)
    if not op.sources:
        lines.append(f"z[...] = b{k}  # no connections: the weighted sum is the bias")
    else:
        low, high = plan.columns[op.sources[0]], plan.columns[op.sources[-1]] + 1
        constants[f"W{k}"] = np.ascontiguousarray(op.weights.T)
        source, reads_inputs = _span(low, high, len(plan.inputs))
        product = [f"np.matmul(W{k}, {source}, out=z)", f"z += b{k}"]
        batches = packed_batches(op, dtype=plan.dtype, options=options) if PACKED and not exact else range(0)
        if batches:
            constants[f"K{k}"] = pack_weights(constants[f"W{k}"])
            pays = (f"z.shape[1] <= {batches[-1]}" if batches[0] == 1 else
                    f"{batches[0]} <= z.shape[1] <= {batches[-1]}")
            # A relu op's product applies relu as its sums leave registers (into the values, which
            # are the weighted sums when not tracing): no pass over the block of its own.
            fused = op.activation == "relu"
            # The kernels read C- or F-contiguous values: the buffers' rows are, and all of X (the
            # inputs transposed), but not some of X's rows (each sample's sources are a part of a
            # run): those are copied, laid out as X is (sample by sample).
            values = source if source == "X" or not source.startswith("X[") else f"np.asfortranarray({source})"
            packed = [f"packed_sums(K{k}, {values}, b{k}, z, {'a, True' if fused else 'z, False'})"]
            why = f"the packed-weight product pays{', relu in it' if fused else ''}"
            if fused:
                lines += _either(pays, packed, product + activation_lines(plan, op, constants, options), why=why)
                return GroupLines(lines, reads_inputs, padded=op.padded)
            product = _either(pays, packed, product, why=why)
        lines += product
    lines += activation_lines(plan, op, constants, options)
    return GroupLines(lines, reads_inputs, padded=op.padded)


def zero_row(plan: Plan) -> int | None:
    """The buffer row of zeros that window entries without a source read (after the row of ones),
    or None when no shared-weights op has such an entry."""
    missing = any(op.kind == SHARED and (op.window < 0).any() for op in plan.ops)
    return plan.n_columns + 1 if missing else None


def _shared_lines(plan: Plan, op: SharedOp, constants: dict[str, object], producer: dict,
                  options: CodegenOptions) -> GroupLines:
    """One gather of every window (``G<k>``: entries x positions, buffer rows), one product with the
    kernel (``W<k>``: filters x entries) into the op's block, viewed filters x (positions * batch)."""
    k = op.index
    columns = np.array([plan.columns[node] for node in op.sources] + [zero_row(plan) or 0], dtype=np.intp)
    constants[f"G{k}"] = np.ascontiguousarray(columns[op.window].T)  # -1 picks the zero row, listed last
    constants[f"W{k}"] = np.ascontiguousarray(op.kernel.T)
    constants[f"b{k}"] = column(op.bias)
    lines = [op_comment(op, producer), f"z, a = {_block('Z', plan, op)}, {_block('A', plan, op)}",
             f"np.matmul(W{k}, A.take(G{k}, axis=0).reshape({op.entries}, -1), out=z.reshape({op.filters}, -1))"
             f"  # {op.positions} positions",
             f"z += b{k}"]
    lines += activation_lines(plan, op, constants, options)
    reads_inputs = min(plan.columns[node] for node in op.sources) < len(plan.inputs)
    return GroupLines(lines, reads_inputs, padded=False)


def _name(ops: list[FusedOp]) -> str:
    """The suffix of a group's constants: ``k`` for op k alone, ``k_m`` for ops k to m."""
    return str(ops[0].index) if len(ops) == 1 else f"{ops[0].index}_{ops[-1].index}"


def _block(buffer: str, plan: Plan, op: FusedOp) -> str:
    start = plan.columns[op.targets[0]]
    return f"{buffer}[{start}:{start + len(op.targets)}]"


def _span(low: int, high: int, n_inputs: int) -> tuple[str, bool]:
    """Where a read of the columns ``low:high`` comes from, and whether it needs inputs in ``A``."""
    if high <= n_inputs:
        return ("X" if (low, high) == (0, n_inputs) else f"X[{low}:{high}]"), False
    return f"A[{low}:{high}]", low < n_inputs


def activation_lines(plan: Plan, op: FusedOp | AggregateOp | SharedOp, constants: dict[str, object],
                     options: CodegenOptions) -> list[str]:
    """The lines computing an op's values ``a`` from its weighted sums ``z`` (views of its block);
    for a mixed op, each run of targets of one activation over its views ``zr, ar`` of the block."""
    runs = op.activation_runs()
    if len(runs) == 1:
        [(_, start, stop)] = runs
        return _one_activation(op, op.activation, str(op.index), constants, options, dtype=plan.dtype,
                               neurons=stop - start)
    lines = []
    for run, (name, start, stop) in enumerate(runs):
        lines.append(f"zr, ar = z[{start}:{stop}], a[{start}:{stop}]  # targets {start}-{stop - 1}: {name}")
        lines += _one_activation(op, name, f"{op.index}_{run}", constants, options, dtype=plan.dtype,
                                 neurons=stop - start, z="zr", a="ar")
    return lines


def _one_activation(op: FusedOp | AggregateOp | SharedOp, name: str, suffix: str, constants: dict[str, object],
                    options: CodegenOptions, *, dtype: np.dtype, neurons: int, z: str = "z",
                    a: str = "a") -> list[str]:
    """The lines applying the activation ``name`` to all of the views ``z`` into ``a`` (of
    ``neurons`` rows of ``dtype``, the plan's; its function, if called, the constant ``f<suffix>``)."""
    activation = resolve_activation(name)
    if name == "linear":
        return ["if Z is not A:  # linear: the value is the weighted sum", f"    {a}[...] = {z}"]
    groups = getattr(op, "groups", 1)
    if groups > 1:
        return _grouped_activation_lines(op, activation.function, groups, constants, options)
    if options.in_place_activations and name in IN_PLACE:
        lines = [line.format(z=z, a=a) for line in IN_PLACE[name]]
        limit = softmax_kernel_batch_limit(neurons, dtype=dtype, options=options) if (
            name == "softmax" and NATIVE_AVAILABLE) else 0
        if limit:  # small batches: one compiled pass instead of numpy's five calls
            constants["softmax_columns"] = Later(_softmax_kernel)
            lines = _either(f"{z}.shape[1] <= {limit}", [f"softmax_columns({z}, {a})"], lines,
                            why="softmax in one compiled pass")
        return lines
    constants[f"f{suffix}"] = activation.function
    if activation.group_wise:
        return [f"{a}[...] = f{suffix}({z}.T).T  # {name} over the op's neurons"]
    return [f"{a}[...] = f{suffix}({z})  # {name}"]


def _softmax_kernel() -> object:
    """The compiled softmax (imported when the numpy pass is built: it imports numba)."""
    from nngraph.compiler.activation_kernels import softmax_columns

    return softmax_columns


def _grouped_activation_lines(op: FusedOp, function: object, groups: int, constants: dict[str, object],
                              options: CodegenOptions) -> list[str]:
    """A group-wise activation over each of the op's ``groups`` runs of neurons: views of the block as
    (groups, neurons per group, batch)."""
    size = len(op.targets) // groups
    lines = [f"zg, ag = z.reshape({groups}, {size}, -1), a.reshape({groups}, {size}, -1)  "
             f"# {groups} groups of {size} neurons, each normalised apart"]
    if options.in_place_activations and op.activation == "softmax":
        return lines + ["np.subtract(zg, zg.max(axis=1, keepdims=True), out=ag)", "np.exp(ag, out=ag)",
                        "ag /= ag.sum(axis=1, keepdims=True)"]
    constants[f"f{op.index}"] = function
    return lines + [f"ag[...] = f{op.index}(zg.transpose(0, 2, 1)).transpose(0, 2, 1)  # {op.activation}"]
