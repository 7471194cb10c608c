"""Stage 4, passes: named plan-to-plan rewrites, each legal under a stated condition.

A pass is a pure function ``Plan -> Plan``; ``run_passes`` applies the named ones in order and
runs ``check_plan`` after each that changed the plan (one that returns every op and field as it was
leaves nothing new to check: the plan it was given has been checked). ``compile_network(G,
passes=())`` switches them all off.

- ``share_weights``: ops of one level that apply the same weights to shifted sources (a
  convolution, lowered one op per position) become one shared-weights op, where the cost model
  says it pays (``nngraph.compiler.share``). Runs first, before merging mixes them with others.
- ``merge_levels`` (horizontal fusion): the ops of one level with element-wise activations become
  one op, whose sources are the union of theirs (zeros where a source does not feed a target; the op
  keeps which entries are connections) and whose targets are theirs side by side, grouped by
  activation: each activation applies to its run of targets (a mixed op, ``FusedOp.activations``).
  Legal because ops of one level never read each other (``check_plan`` enforces it), and no level is
  folded into another, so every weighted sum stays observable. It pays where ops are small or share
  sources, as in NEAT-style genomes and pruned layers; large fully connected ops stay apart
  (``costs.keeps_apart``), since padding them with zeros would only add work. Group-wise ops
  (softmax, layer_norm) of one level merge only with ops of the same activation and group size, each
  group still normalised apart (the op's ``groups``): a softmax or LayerNormalization over a feature
  map's channels, one group per position, is one op. Aggregate ops, which are no matrix product, and
  shared-weights ops, which would lose their shared kernel, are never merged.
- ``choose_kinds``: an op is ``"sparse"`` when scipy's CSR kernel over its connections is expected
  to cost less per sample than the dense product, ``"dense"`` (with zeros) otherwise, by the cost
  model of ``nngraph.compiler.costs``. Legal because both kinds compute the same connections.
  Aggregate and shared-weights ops have one form, and keep it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence, Set

import numpy as np
from scipy import sparse

from nngraph.compiler.check import check_plan
from nngraph.compiler.costs import cheaper_kind, keeps_apart
from nngraph.errors import ArgumentError, CompileError, shown
from nngraph.compiler.share import share_weights
from nngraph.ir.plan import (DENSE, KINDS, SPARSE, AggregateOp, FusedOp, Op, Plan, Reduction, SharedOp,
                             aggregate_op, fused_op, layout, shared_op)

# Merged blocks larger than this are built sparse, whatever their density, to bound memory.
DENSE_BUILD_LIMIT = 1 << 24


def merge_levels(plan: Plan) -> Plan:
    """Merge the ops of one level whose activations are element-wise, or that share a group-wise
    activation and group size (see the module doc).

    Examples
    --------
    >>> import networkx as nx
    >>> from nngraph.compiler import build_plan
    >>> G = nx.DiGraph()
    >>> G.add_node("x0", role="input"); G.add_node("x1", role="input")
    >>> for y, x in (("y0", "x0"), ("y1", "x1")):
    ...     G.add_node(y, role="output", activation="tanh"); G.add_edge(x, y, weight=1.0)
    >>> len(build_plan(G, passes=()).ops), len(merge_levels(build_plan(G, passes=())).ops)
    (2, 1)
    """
    buckets: dict[tuple, list[FusedOp]] = {}
    for op in plan.ops:
        if not isinstance(op, FusedOp) or keeps_apart(op):
            key: tuple = ("alone", op.index)
        elif op.group_wise:
            key = ("groups", op.level, op.activation, len(op.targets) // op.groups)
        else:
            key = ("element-wise", op.level)
        buckets.setdefault(key, []).append(op)
    if len(buckets) == len(plan.ops):  # nothing to merge: every op stays as it is, where it is
        return plan
    merged = [members[0] if len(members) == 1 else _merge(members, plan.columns)
              for members in buckets.values()]
    return relayout(plan, merged)


def _merge(members: list[FusedOp], columns: Mapping[Hashable, int]) -> FusedOp:
    """One op of ``members``' targets: ops of one activation side by side, activations in order of
    first appearance (as ``lower_arrays`` orders them), each a run of the merged op's activations."""
    rank = {name: i for i, name in enumerate(dict.fromkeys(op.activation_runs()[0][0] for op in members))}
    members = sorted(members, key=lambda op: rank[op.activation_runs()[0][0]])
    sources = sorted(set().union(*(op.sources for op in members)), key=columns.__getitem__)
    row = {node: i for i, node in enumerate(sources)}
    rows, cols, values = [], [], []
    offset = 0
    for op in members:
        block = op.connection_matrix()
        source_rows = np.array([row[node] for node in op.sources], dtype=np.int64)
        rows.append(source_rows[block.row])
        cols.append(block.col + offset)
        values.append(block.data)
        offset += len(op.targets)
    shape = (len(sources), offset)
    coo = sparse.coo_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                           shape=shape)
    first = members[0]
    runs = [run for op in members for run in op.activation_counts()]
    group_wise = first.group_wise
    return fused_op(index=min(op.index for op in members), targets=[n for op in members for n in op.targets],
                    sources=sources, weights=coo, bias=np.concatenate([op.bias for op in members]),
                    activations=runs, level=first.level,
                    kind=SPARSE if shape[0] * shape[1] > DENSE_BUILD_LIMIT else DENSE,
                    groups=sum(op.groups for op in members) if group_wise else 1)


def choose_kinds(plan: Plan, *, kind: str | None = None) -> Plan:
    """Apply the cost model's choice to every op (see the module doc), or make every op ``kind``.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> plan = build_plan(Sequential([Dense(units=4, input_shape=(3,))], seed=0).graph)
    >>> [op.kind for op in plan.ops], [op.kind for op in choose_kinds(plan, kind="sparse").ops]
    (['dense'], ['sparse'])
    """
    if kind not in (None, *KINDS):
        raise CompileError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    ops = []
    for op in plan.ops:
        if not isinstance(op, FusedOp):
            ops.append(op)
            continue
        chosen = kind or cheaper_kind(op, reads_slice=plan.reads_slice(op))
        ops.append(op if chosen == op.kind else _with(op, kind=chosen))
    if all(map(operator.is_, ops, plan.ops)):  # every op of the kind chosen already: the plan as it was
        return plan
    return dataclasses.replace(plan, ops=tuple(ops))


def relayout(plan: Plan, ops: Sequence[Op]) -> Plan:
    """Return ``plan`` with ``ops`` in this order: re-indexed, columns re-laid, sources re-sorted."""
    columns = layout(plan.inputs, (op.targets for op in ops))
    placed = []
    for index, op in enumerate(ops):
        order = sorted(range(len(op.sources)), key=lambda i: columns[op.sources[i]])
        if order == list(range(len(order))):
            placed.append(op if op.index == index else dataclasses.replace(op, index=index))
        elif isinstance(op, AggregateOp):
            placed.append(_resorted(op, order, index))
        elif isinstance(op, SharedOp):
            placed.append(_rewindowed(op, order, index))
        else:
            placed.append(_with(op, index=index, sources=[op.sources[i] for i in order],
                                weights=op.connection_matrix().tocsr()[order]))
    return _replace(plan, ops=tuple(placed), columns=columns)


def _resorted(op: AggregateOp, order: list[int], index: int) -> AggregateOp:
    """``op`` at ``index`` with its sources in ``order``: each term keeps its place, its row renumbered."""
    new_row = np.empty(len(order), dtype=np.intp)
    new_row[order] = np.arange(len(order))
    reductions = [Reduction(r.aggregation, r.start, new_row[r.rows], r.weights) for r in op.reductions]
    return aggregate_op(index=index, targets=op.targets, sources=[op.sources[i] for i in order], bias=op.bias,
                        activation=op.activation, level=op.level, reductions=reductions)


def _rewindowed(op: SharedOp, order: list[int], index: int) -> SharedOp:
    """``op`` at ``index`` with its sources in ``order``: each window entry keeps its source, its row
    renumbered."""
    new_row = np.empty(len(order), dtype=np.int64)
    new_row[order] = np.arange(len(order))
    return shared_op(index=index, targets=op.targets, sources=[op.sources[i] for i in order],
                     window=np.where(op.window >= 0, new_row[op.window], -1), kernel=op.kernel, bias=op.bias,
                     activation=op.activation, level=op.level)


def _replace(plan: Plan, **changes: object) -> Plan:
    """A new plan with ``changes``: its fields copied, as ``dataclasses.replace`` would, without
    setting each through the frozen dataclass's ``__init__`` (which costs more than a pass that
    finds nothing to do). A plan has no ``__post_init__`` to run."""
    assert changes.keys() <= set(_PLAN_FIELDS), f"a Plan has no field {set(changes) - set(_PLAN_FIELDS)}"
    held = vars(plan)
    new = object.__new__(Plan)
    new.__dict__.update({name: held[name] for name in _PLAN_FIELDS}, **changes)
    return new


_PLAN_FIELDS = tuple(field.name for field in dataclasses.fields(Plan))
assert not hasattr(Plan, "__post_init__"), "_replace copies a Plan without running its __post_init__"


def _with(op: FusedOp, **changes: object) -> FusedOp:
    """A new op with ``changes``; new ``weights`` must be sparse, their stored entries the connections."""
    fields = {"index": op.index, "targets": op.targets, "sources": op.sources,
              "weights": op.connection_matrix(), "bias": op.bias,
              "activations": op.activation_counts(),
              "level": op.level, "kind": op.kind, "groups": op.groups}
    fields.update(changes)
    return fused_op(**fields)


PASSES: Mapping[str, Callable[[Plan], Plan]] = {
    "share_weights": share_weights,
    "merge_levels": merge_levels,
    "choose_kinds": choose_kinds,
}
DEFAULT_PASSES: tuple[str, ...] = tuple(PASSES)


def run_passes(plan: Plan, names: Sequence[str]) -> Plan:
    """Apply the passes ``names`` in order, checking the plan after each; return the new plan.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> plan = build_plan(Sequential([Dense(units=4, input_shape=(3,))], seed=0).graph, passes=())
    >>> run_passes(plan, ["merge_levels"]).passes
    ('merge_levels',)
    """
    if isinstance(names, str):
        raise ArgumentError(f"passes must be a sequence of pass names, got the string {names!r}; "
                            f"write ({names!r},)")
    if not isinstance(names, (Sequence, Set)):
        raise ArgumentError(f"passes must be a sequence of pass names (() for none), got {shown(names)}")
    unknown = [name for name in names if not isinstance(name, str) or name not in PASSES]
    if unknown:
        raise CompileError(f"unknown pass {shown(unknown[0])}; known passes: {', '.join(PASSES)}")
    if not names:
        return plan
    for name in names:
        result = PASSES[name](plan)
        changed = result is not plan and not _unchanged(plan, result)
        plan = result  # no pass reads ``passes``: the names are written once, at the end
        if changed:
            check_plan(plan, stage=f"pass {name!r}")
    return _replace(plan, passes=plan.passes + tuple(names))


def _unchanged(before: Plan, after: Plan) -> bool:
    """Whether a pass returned ``before`` as it was: every field but ``passes`` the same objects (the
    ops the same ops, in order), so that ``check_plan`` has nothing new to find."""
    return all(getattr(before, name) is getattr(after, name) or name == "ops" and before.ops == after.ops
               for name in _CHECKED_FIELDS)


# The fields of a plan a pass may change, the names of passes run aside (``_unchanged``).
_CHECKED_FIELDS = tuple(field.name for field in dataclasses.fields(Plan) if field.name != "passes")
