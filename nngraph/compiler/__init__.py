"""The compiler: a network -> an immutable ``Plan`` of fused ops (the IR) -> the program that runs it.

    schedule.py   each neuron's level: longest path from the inputs, softmax groups as one unit
    groups.py     neurons of one level, one activation, one predecessor set -> one group
    lower.py      groups -> dense fused ops over the column layout of ``nngraph.ir.plan``
    arrays.py     the array path instead of the three above: the graph read once into flat arrays,
    lower_arrays.py  and lowered in numpy calls, one op per level, an activation per run (sparse DAGs,
                  NEAT-style genomes, populations; the choice is ``costs.lowers_from_arrays``);
    lower_kernel.py  a plain network's layout in one loop (numba), once numba runs in the process
    passes.py     named rewrites (share_weights, from share.py; merge_levels, choose_kinds);
                  check.py's ``check_plan`` after each
    store.py      equal arrays of the plan stored once (tied weights: one matrix for every time step)
    costs.py      the cost model behind every choice made for speed, and ``CodegenOptions``
    codegen.py    the ``Program``: the source the plan runs (fused numpy; scalar.py's code for tiny
                  plans), compiled; products.py writes each product's lines, kernels.py is the
                  sparse kernel they call, gemm.py (gemm_kernels.py) the packed-weight product of
                  wide dense ops (numba); native.py the native kernel (numba) for small batches;
                  loop.py the level loop that runs plans of many small ops instead

``build_plan(G)`` runs the stages up to the passes, stores equal arrays once, and returns the IR;
``generate(plan)`` returns its ``Program``. ``nngraph.compile_network`` (in
``nngraph.execute.compiled``) does both and hands back a ``CompiledPlan`` that runs. The compiler
imports nothing from the executors.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from numpy.typing import DTypeLike

from nngraph.compiler.arrays import NetworkArrays, array_levels, graph_arrays
from nngraph.compiler.check import check_plan
from nngraph.compiler.codegen import Program, generate
from nngraph.compiler.costs import CodegenOptions, lowers_from_arrays, repeats_weights
from nngraph.compiler.groups import find_groups
from nngraph.compiler.lower import lower
from nngraph.compiler.lower_arrays import level_columns, lower_arrays, own_levels, units
from nngraph.compiler.passes import DEFAULT_PASSES, PASSES, run_passes
from nngraph.compiler.schedule import schedule
from nngraph.compiler.store import store_once
from nngraph.core.dtypes import check_dtype
from nngraph.core.network import LAYERS
from nngraph.errors import ArgumentError, CompileError, shown
from nngraph.core.structure import columns
from nngraph.core.validate import validate_parts, validate_paths
from nngraph.ir.plan import Plan

__all__ = ["DEFAULT_PASSES", "LOWERINGS", "PASSES", "CodegenOptions", "Program", "build_plan", "check_plan", "generate"]


LOWERINGS = ("graph", "arrays")


def build_plan(G: nx.DiGraph, *, dtype: DTypeLike = np.float64,
               passes: Sequence[str] = DEFAULT_PASSES, lowering: str | None = None) -> Plan:
    """Compile the network ``G`` into its ``Plan`` (the IR, no code); ``G`` itself is left untouched.

    Parameters
    ----------
    G : networkx.DiGraph
        A network following the graph contract (it is validated first).
    dtype : float64 (default) or float32
        The precision the plan computes in.
    passes : sequence of str
        The passes to run, in order (``nngraph.compiler.PASSES``); ``()`` switches them off.
    lowering : "graph", "arrays" or None
        How to lower: schedule -> groups -> lower over the graph, or ``graph_arrays`` ->
        ``lower_arrays``; by default the cost model's choice (``costs.lowers_from_arrays``). The
        array path makes one op per level (a run of neurons per activation), which is what ``merge_levels`` makes of
        the groups, so by default it is chosen only when the passes include ``merge_levels`` and
        ``choose_kinds``. The passes then run on its plan as on the graph path's: ``choose_kinds``
        picks each op's kind, ``merge_levels`` finds nothing left to merge, and ``share_weights``
        no per-position ops to share (graphs that need it, built layer by layer, keep the graph
        path by default).

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)
    >>> [(op.kind, op.activation, op.weights.shape) for op in plan.ops]
    [('dense', 'relu', (8, 6)), ('dense', 'relu', (6, 6)), ('dense', 'softmax', (6, 4))]
    >>> generate(plan).runner.startswith("straight-line scalar code")
    True
    """
    read = validate_parts(G)
    dtype = check_dtype(dtype)
    if lowering is None:
        from_arrays = lowers_from_arrays(connections=sum(map(len, read.predecessors)),
                                         neurons=len(read.computed),
                                         layered=bool(G.graph.get(LAYERS)), passes=passes)
    elif lowering in LOWERINGS:
        from_arrays = lowering == "arrays"
    else:
        raise ArgumentError(f"lowering must be 'graph', 'arrays' or None, got {shown(lowering)}")
    network = graph_arrays(G, read=read) if from_arrays else None
    by_layer = None not in read.layer  # every neuron names a layer: the trace shows layers, not levels
    del read  # its lists (the weights among them) are not needed past here: lowering runs without them
    if network is not None and (lowering == "arrays" or not repeats_weights(network.weights)):
        plan = _lower_from_arrays(G, network, dtype=dtype, any_kind="choose_kinds" in passes, by_layer=by_layer)
    else:
        base = validate_paths(G)  # the levels, found by its test for cycles
        plan = lower(G, find_groups(G, schedule(G, base)), dtype=dtype, display=columns(G, level=base))
    check_plan(plan, stage="lowering")
    return store_once(run_passes(plan, passes))


def _lower_from_arrays(G: nx.DiGraph, network: NetworkArrays, *, dtype: np.dtype, any_kind: bool,
                       by_layer: bool) -> Plan:
    """The array path: its levels stand for ``validate``'s test for cycles, which runs (and names
    the cycle) only when they find one. ``any_kind``: each op of the kind ``choose_kinds`` would
    give it, when that pass is to run (it then has nothing to do). ``by_layer``: every computed
    neuron names a layer, so that the trace's columns are ``columns``' layers, as on the graph path
    (otherwise its levels, which ``level_columns`` lays out alike from the arrays)."""
    level = array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets,
                         unit=units(network))
    if np.any(level < 0):
        validate_paths(G)  # raises the error naming the cycle
        raise CompileError("the connections form a cycle; a network must be a DAG")
    shown = own_levels(network, level)
    display = (columns(G, level=dict(zip(network.nodes.tolist(), shown.tolist()))) if by_layer else
               level_columns(network, shown))
    return lower_arrays(network, dtype=dtype, level=level, display=display, any_kind=any_kind)
