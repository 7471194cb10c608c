"""Loading and running models for the command line: with progress on big work, in memory-bounded chunks."""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np

from nngraph.cli.progress import Progress
from nngraph.execute.reference import run_reference
from nngraph.execute.trace import Trace
from nngraph.io import load

# Rows per chunk are chosen so that one chunk's trace holds about this many numbers per array.
_CELLS_PER_CHUNK = 1 << 20


def name_of(node: Hashable) -> str:
    """A neuron's name on the command line: its string form (``dense/0``, ``3``, ``('a', 1)``)."""
    return str(node)


def load_model(path: str, progress: Progress) -> nx.DiGraph:
    """``nngraph.load(path)``, with progress while a big file is read and checked."""
    with progress.task(f"loading {path}"):
        return load(path)


def forward(G: nx.DiGraph, batch: np.ndarray, *, dtype: str, progress: Progress) -> np.ndarray:
    """The outputs of ``G`` for every row of ``batch``, shape ``(batch, n_outputs)``, in ``dtype``.

    The batch is run in chunks, so that memory stays bounded for big inputs
    and progress can be shown between them.
    """
    rows = max(1, _CELLS_PER_CHUNK // max(1, G.number_of_nodes()))
    results = []
    with progress.task("running", unit="samples", total=len(batch)) as step:
        for start in range(0, len(batch), rows):
            chunk = batch[start:start + rows]
            results.append(run_reference(G, chunk, dtype=dtype).outputs)
            step(len(chunk))
    return np.concatenate(results)


def trace_sample(G: nx.DiGraph, sample: np.ndarray, *, dtype: str) -> Trace:
    """Every neuron's weighted sum and value for one sample (a trace with a batch of one)."""
    return run_reference(G, sample.reshape(1, -1), dtype=dtype)
