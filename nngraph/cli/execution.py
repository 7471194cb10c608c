"""Loading, compiling and running models for the command line, with progress on big work."""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np

from nngraph.cli.progress import Progress
from nngraph.execute.compiled import CompiledPlan, compile_network
from nngraph.execute.trace import Trace
from nngraph.io import load
from nngraph.names import printable

# Rows per chunk are chosen so that one chunk's buffers hold about this many numbers.
_CELLS_PER_CHUNK = 1 << 20


def name_of(node: Hashable) -> str:
    """A neuron's (or layer's) name on the command line: its string form (``dense/0``, ``3``,
    ``('a', 1)``), with control characters escaped (``a\\r``), as ``nngraph.names.printable`` shows it."""
    return printable(node)


def load_model(path: str, progress: Progress) -> nx.DiGraph:
    """``nngraph.load(path)``, with progress while a big file is read and checked."""
    with progress.task(f"loading {path}"):
        return load(path)


def compile_model(G: nx.DiGraph, *, dtype: str, progress: Progress) -> CompiledPlan:
    """``nngraph.compile_network(G, dtype=dtype)``, with progress while a big network compiles."""
    with progress.task(f"compiling {G.number_of_nodes():,} neurons, {G.number_of_edges():,} connections"):
        return compile_network(G, dtype=dtype)


def forward(plan: CompiledPlan, batch: np.ndarray, *, progress: Progress) -> np.ndarray:
    """The plan's outputs for every row of ``batch``, shape ``(batch, n_outputs)``, in the plan's dtype.

    The batch runs in chunks, so that memory stays bounded for big inputs and
    progress can be shown between them.
    """
    rows = max(1, _CELLS_PER_CHUNK // max(1, plan.n_columns))
    results = []
    with progress.task("running", unit="samples", total=len(batch)) as step:
        for start in range(0, len(batch), rows):
            chunk = batch[start:start + rows]
            results.append(plan(chunk))
            step(len(chunk))
    return np.concatenate(results)


def trace_sample(plan: CompiledPlan, sample: np.ndarray) -> Trace:
    """Every neuron's weighted sum and value for one sample (a trace with a batch of one)."""
    return plan.trace(sample.reshape(1, -1))
