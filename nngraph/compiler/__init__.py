"""The compiler: a network -> an immutable ``Plan`` of fused matrix ops, stage by stage.

    schedule.py   each neuron's level: longest path from the inputs, softmax groups as one unit
    groups.py     neurons of one level, one activation, one predecessor set -> one group
    lower.py      groups -> dense fused ops over the column layout of ``nngraph.ir.plan``
    passes.py     named rewrites (merge_levels, choose_kinds); check.py's ``check_plan`` after each
    codegen.py    the source the plan runs (fused numpy; scalar.py's code for tiny plans), compiled;
                  products.py writes each product's lines, kernels.py is the sparse kernel they call
    verify.py     on request, the plan against the reference pass on random inputs
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from numpy.typing import DTypeLike

from nngraph.compiler.check import check_plan
from nngraph.compiler.codegen import generate
from nngraph.compiler.groups import find_groups
from nngraph.compiler.lower import lower
from nngraph.compiler.passes import DEFAULT_PASSES, PASSES, run_passes
from nngraph.compiler.schedule import schedule
from nngraph.compiler.verify import verify_plan
from nngraph.execute.inputs import check_dtype
from nngraph.ir.plan import Plan
from nngraph.core.structure import columns, levels
from nngraph.core.validate import validate

__all__ = ["DEFAULT_PASSES", "PASSES", "check_plan", "compile_network"]


def compile_network(G: nx.DiGraph, *, dtype: DTypeLike = np.float64,
                    passes: Sequence[str] = DEFAULT_PASSES, verify: bool = False) -> Plan:
    """Compile the network ``G`` into a ``Plan`` of fused ops; ``G`` itself is left untouched.

    Parameters
    ----------
    G : networkx.DiGraph
        A network following the graph contract (it is validated first).
    dtype : float64 (default) or float32
        The precision the plan computes in.
    passes : sequence of str
        The passes to run, in order (``nngraph.compiler.PASSES``); ``()`` switches them off.
    verify : bool
        Also run the plan against ``run_reference`` on random inputs, and raise
        ``VerificationError`` naming the first neuron that differs.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> model = Sequential([Dense(units=6, input_shape=(8,), activation='relu'),
    ...                     Dense(units=6, activation='relu'),
    ...                     Dense(units=4, activation='softmax')], seed=0)
    >>> plan = nngraph.compile_network(model.graph, verify=True)
    >>> [(op.kind, op.activation, op.weights.shape) for op in plan.ops]
    [('dense', 'relu', (8, 6)), ('dense', 'relu', (6, 6)), ('dense', 'softmax', (6, 4))]
    >>> plan([0.0] * 8).shape
    (4,)
    """
    validate(G)
    dtype = check_dtype(dtype)
    base = levels(G)
    plan = lower(G, find_groups(G, schedule(G, base)), dtype=dtype, display=columns(G, level=base))
    check_plan(plan, stage="lowering")
    plan = generate(run_passes(plan, passes))
    if verify:
        verify_plan(plan, G)
    return plan
