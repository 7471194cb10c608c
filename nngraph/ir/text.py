"""How a plan reads as text: the table ``print(plan)`` shows, ``plan.explain(node)``, and comments.

Names are shown by ``nngraph.names``: ``printable`` in tables, ``quoted`` in sentences, and in the
comments of generated code ``ascii_printable``, so that no name can end a comment line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from nngraph.names import ascii_printable, printable, quoted

if TYPE_CHECKING:
    from nngraph.ir.plan import AggregateOp, Op, Plan

EXPLAIN_TERMS = 32
SOURCE_BLOCKS = 4
NAME_WIDTH = 24


def _short(node: Hashable, width: int = NAME_WIDTH) -> str:
    text = printable(node)
    return text if len(text) <= width else text[: width - 3] + "..."


def block_name(nodes: Sequence[Hashable]) -> str:
    """Name a block of neurons: ``a``, ``a, b``, or ``first .. last (n)``."""
    if len(nodes) <= 2:
        return ", ".join(_short(node) for node in nodes)
    return f"{_short(nodes[0])} .. {_short(nodes[-1])} ({len(nodes)})"


def producers(plan: Plan) -> dict[Hashable, str]:
    """Name the producer of every neuron: ``"inputs"`` or ``"op k"``."""
    producer = dict.fromkeys(plan.inputs, "inputs")
    for op in plan.ops:
        producer.update(dict.fromkeys(op.targets, f"op {op.index}"))
    return producer


def source_blocks(op: Op, producer: dict[Hashable, str]) -> str:
    """Where an op's sources come from, producer by producer: ``inputs (8) + op 0 (6)``."""
    counts = Counter(map(producer.__getitem__, op.sources))
    blocks = [f"{name} ({count})" for name, count in counts.items()]
    if len(blocks) > SOURCE_BLOCKS:
        rest = list(counts.values())[SOURCE_BLOCKS - 1:]
        blocks[SOURCE_BLOCKS - 1:] = [f"{len(rest)} more ops ({sum(rest)})"]
    return " + ".join(blocks) or "nothing"


def kind_name(op: Op) -> str:
    """An op's kind as tables say it: ``dense``, ``sparse``, or ``aggregate (max, mean)``."""
    aggregations = getattr(op, "aggregations", None)
    return f"{op.kind} ({', '.join(aggregations)})" if aggregations else op.kind


def weights_text(op: Op) -> str:
    """An op's weights in a few characters: ``8x6`` (sources x targets), or for a shared-weights op
    its kernel and how many positions use it, ``25x6 at 576``."""
    if op.kind == "shared":
        return f"{op.entries}x{op.filters} at {op.positions}"
    return f"{op.shape[0]}x{op.shape[1]}"


def stored_weights(op: Op) -> int:
    """The nonzero weights an op stores: a shared kernel once, however many positions use it."""
    if op.kind == "shared":
        return sum(1 for weight in op.kernel.flat if weight)
    return op.nonzeros


def multiply_adds(op: Op) -> int:
    """The multiply-adds an op makes per sample: every entry of a dense matrix, every connection of a
    sparse or aggregate op, every window entry of a shared-weights op for each filter."""
    if op.kind == "shared":
        return op.positions * op.entries * op.filters
    return op.shape[0] * op.shape[1] if op.kind == "dense" else op.connections


def _activation_text(op: Op) -> str:
    """An op's activation, and the groups it normalises apart when there are several."""
    groups = getattr(op, "groups", 1)
    return f"{op.activation} ({groups} groups)" if groups > 1 else activations_text(op)


def activations_text(op: Op) -> str:
    """An op's activation, or a mixed op's runs: ``relu 3, tanh 2`` (activation and targets)."""
    runs = op.activation_runs()
    if len(runs) == 1:
        return op.activation
    return ", ".join(f"{name} {stop - start}" for name, start, stop in runs)


def describe_op(op: Op, producer: dict[Hashable, str]) -> str:
    """One line about an op, for comments: ``op 0: relu over a .. f (6) <- inputs (8)  [dense 8x6, level 1]``."""
    return (f"op {op.index}: {activations_text(op)} over {block_name(op.targets)} <- "
            f"{source_blocks(op, producer)}  [{kind_name(op)} {weights_text(op)}, level {op.level}]")


def op_comment(op: Op, producer: dict[Hashable, str]) -> str:
    """``describe_op`` as a comment line of generated code, in printable ASCII alone."""
    return "# " + ascii_printable(describe_op(op, producer))


def plan_table(plan: Plan, *, runner: str | None = None) -> str:
    """One row per op (index, kind, level, sources -> targets, activation, weights, nonzeros,
    density) and a footer with totals, and with the ``runner`` of its program when given."""
    producer = producers(plan)
    header = ("op", "kind", "level", "sources -> targets", "activation", "weights", "nonzeros", "density")
    rows = [(str(op.index), kind_name(op), str(op.level),
             f"{source_blocks(op, producer)} -> {block_name(op.targets)}", _activation_text(op),
             weights_text(op), str(op.nonzeros), f"{op.density:.3f}") for op in plan.ops]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {0, 2, 6, 7}

    def line(row: Sequence[str]) -> str:
        cells = [cell.rjust(width) if i in right else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    weights = sum(stored_weights(op) for op in plan.ops)
    biases = sum(len(op.targets) for op in plan.ops)
    work = sum(multiply_adds(op) for op in plan.ops)
    passes = ", ".join(plan.passes) or "none"
    if plan.lowering != "graph":
        passes = f"{passes}; lowered from {plan.lowering}"
    lines = [f"plan: {len(plan.ops)} fused ops, {len(plan.inputs)} inputs -> {len(plan.outputs)} "
             f"outputs, {plan.dtype} (passes: {passes})", line(header)]
    lines += [line(row) for row in rows]
    lines.append(f"totals: {len(plan.ops)} ops, {weights + biases} parameters ({weights} nonzero "
                 f"weights + {biases} biases), {work} multiply-adds per sample")
    stored = _stored_once(plan)
    if stored:
        lines.append(stored)
    if runner is not None:
        lines.append(f"runner: {runner}")
    return "\n".join(lines)


def _stored_once(plan: Plan) -> str:
    """A line saying how many numbers the ops' weight arrays hold, each array counted once (ops
    with equal weights, such as the time steps of a recurrent layer, share one), or "" when no
    op shares its weights."""
    arrays = [array for op in plan.ops for array in _weight_arrays(op)]
    distinct = {id(array): array for array in arrays}
    if len(distinct) == len(arrays):
        return ""

    def numbers(array: object) -> int:
        return int(array.nnz) if hasattr(array, "nnz") else int(array.size)

    return (f"stored once: {len(arrays)} weight arrays are {len(distinct)} distinct ones, "
            f"{sum(map(numbers, distinct.values()))} numbers stored for {sum(map(numbers, arrays))}")


def _weight_arrays(op: Op) -> list[object]:
    """The arrays holding an op's weights."""
    if op.kind == "shared":
        return [op.kernel]
    if op.kind == "aggregate":
        return [reduction.weights for reduction in op.reductions]
    return [op.weights]


def explain_neuron(plan: Plan, node: Hashable) -> str:
    """Which op computes ``node``, from which neurons, with which weights (see ``Plan.explain``)."""
    op = plan.op_of(node)
    column = plan.columns[node]
    if op is None:
        readers = [str(other.index) for other in plan.ops if node in set(other.sources)]
        read = f"read by op{'s' if len(readers) > 1 else ''} {', '.join(readers)}" if readers else \
            "read by no op"
        return (f"neuron {quoted(node)} is input {column} (column {column}): its value is the feature "
                f"itself and it has no weighted sum; {read}")
    target = column - plan.columns[op.targets[0]]  # an op's targets hold contiguous columns
    activation = op.target_activations()[target]
    lines = [f"neuron {quoted(node)} (column {column}) is computed by op {op.index} "
             f"({kind_name(op)}, {activation}, level {op.level}):"]
    if op.kind == "aggregate":
        lines += _aggregate_terms(op, target)
    else:
        connections = op.connection_matrix().tocsc()[:, [target]].tocoo()
        weights = dict(zip(connections.row.tolist(), connections.data.tolist()))  # 0.0 weights included
        if op.kind == "shared":
            position, kernel = target % op.positions, target // op.positions
            lines.append(f"  (kernel column {kernel} of {op.filters}, at position {position} of the "
                         f"{op.positions} that share the {op.entries}x{op.filters} kernel)")
        lines.append(f"  weighted sum = {float(op.bias[target]):.6g} (bias)")
        terms = [(op.sources[row], weights[row]) for row in sorted(weights)]
        pad = " " * len("  weighted sum ")
        for source, weight in terms[:EXPLAIN_TERMS]:
            lines.append(f"{pad}{'-' if weight < 0 else '+'} {abs(weight):.6g} * {quoted(source)}")
        if len(terms) > EXPLAIN_TERMS:
            lines.append(f"{pad}+ ... {len(terms) - EXPLAIN_TERMS} more terms "
                         f"(op {op.index}'s weights, column {target})")
    groups = getattr(op, "groups", 1)
    if groups > 1:
        size = len(op.targets) // groups
        first = target - target % size
        lines.append(f"  value = {op.activation}(weighted sum) over its group of {size} neurons in op "
                     f"{op.index}: {block_name(op.targets[first:first + size])}")
    elif op.activation == "softmax":
        lines.append(f"  value = softmax(weighted sum) over op {op.index}'s {len(op.targets)} "
                     f"neurons: {block_name(op.targets)}")
    else:
        lines.append(f"  value = {activation}(weighted sum)")
    return "\n".join(lines)


def _aggregate_terms(op: AggregateOp, target: int) -> list[str]:
    """The weighted sum of an aggregate op's ``target``-th neuron: bias, aggregation, terms in order."""
    reduction, row = op.reduction_of(target)
    terms = list(zip(reduction.rows[row].tolist(), reduction.weights[row].tolist()))
    lines = [f"  weighted sum = {float(op.bias[target]):.6g} (bias) + {reduction.aggregation} of "
             f"{len(terms)} term{'s' if len(terms) != 1 else ''}{', in this order' if len(terms) > 1 else ''}"
             f"{':' if terms else ''}"]
    pad = " " * len("  weighted sum = ")
    lines += [f"{pad}{weight:.6g} * {quoted(op.sources[source])}" for source, weight in terms[:EXPLAIN_TERMS]]
    if len(terms) > EXPLAIN_TERMS:
        lines.append(f"{pad}... {len(terms) - EXPLAIN_TERMS} more terms (op {op.index}'s reductions)")
    return lines
