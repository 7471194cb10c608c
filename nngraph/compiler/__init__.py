"""The compiler: a network -> an immutable ``Plan`` of fused ops (the IR) -> the program that runs it.

    schedule.py   each neuron's level: longest path from the inputs, softmax groups as one unit
    groups.py     neurons of one level, one activation, one predecessor set -> one group
    lower.py      groups -> dense fused ops over the column layout of ``nngraph.ir.plan``
    passes.py     named rewrites (share_weights, from share.py; merge_levels, choose_kinds);
                  check.py's ``check_plan`` after each
    store.py      equal arrays of the plan stored once (tied weights: one matrix for every time step)
    costs.py      the cost model behind every choice made for speed, and ``CodegenOptions``
    codegen.py    the ``Program``: the source the plan runs (fused numpy; scalar.py's code for tiny
                  plans), compiled; products.py writes each product's lines, kernels.py is the
                  sparse kernel they call; native.py the native kernel (numba) for small batches;
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

from nngraph.compiler.check import check_plan
from nngraph.compiler.codegen import Program, generate
from nngraph.compiler.costs import CodegenOptions
from nngraph.compiler.groups import find_groups
from nngraph.compiler.lower import lower
from nngraph.compiler.passes import DEFAULT_PASSES, PASSES, run_passes
from nngraph.compiler.schedule import schedule
from nngraph.compiler.store import store_once
from nngraph.core.dtypes import check_dtype
from nngraph.core.structure import columns, levels
from nngraph.core.validate import validate
from nngraph.ir.plan import Plan

__all__ = ["DEFAULT_PASSES", "PASSES", "CodegenOptions", "Program", "build_plan", "check_plan", "generate"]


def build_plan(G: nx.DiGraph, *, dtype: DTypeLike = np.float64,
               passes: Sequence[str] = DEFAULT_PASSES) -> Plan:
    """Compile the network ``G`` into its ``Plan`` (the IR, no code); ``G`` itself is left untouched.

    Parameters
    ----------
    G : networkx.DiGraph
        A network following the graph contract (it is validated first).
    dtype : float64 (default) or float32
        The precision the plan computes in.
    passes : sequence of str
        The passes to run, in order (``nngraph.compiler.PASSES``); ``()`` switches them off.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)
    >>> [(op.kind, op.activation, op.weights.shape) for op in plan.ops]
    [('dense', 'relu', (8, 6)), ('dense', 'relu', (6, 6)), ('dense', 'softmax', (6, 4))]
    >>> generate(plan).runner.startswith("straight-line scalar code")
    True
    """
    validate(G)
    dtype = check_dtype(dtype)
    base = levels(G)
    plan = lower(G, find_groups(G, schedule(G, base)), dtype=dtype, display=columns(G, level=base))
    check_plan(plan, stage="lowering")
    return store_once(run_passes(plan, passes))
