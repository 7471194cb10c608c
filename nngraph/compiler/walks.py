"""Compiled forms of the walks of ``nngraph.compiler.arrays`` over a network's connections (numba).

Reading a generation of genomes (``nngraph.interop.neat``) walks its connections twice: which
neurons the outputs need (``arrays.reaching``) and each neuron's level (``arrays.array_levels``).
In numpy both go a frontier at a time, a dozen calls per level of the deepest genome: over a
millisecond for a generation of 150 genomes, a tenth of its whole evaluation. A loop compiled by
numba visits each connection once, in about a tenth of that. ``array_levels`` and ``reaching`` take
these loops when asked (``compiled=True``) and numba is installed (the ``native`` extra), else their
own; the results are the same (tests). Populations ask, since they run the native kernel anyway;
``array_levels`` takes its loop by default once nngraph has had numba compile in the process (the
native kernel has run: ``native.numba_in_use``). A plain ``compile_network`` (and so every
command-line call) never starts numba, as that takes half a second. Each function here calls no other, so that each compiles alone, once, then loads
from numba's cache on disk.

Before those walks, the reading numbers the connection ends' keys as neurons: ``_numbered`` does it
for int keys with a table per genome (``neat._numbered_by_table``), where the reading otherwise
looks each key up in a dict, as it does without numba.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from nngraph.compiler.native import NATIVE_AVAILABLE, compiled


def compiled_walk(name: str) -> Callable[..., np.ndarray] | None:
    """The loop ``name`` (``"levels"``, ``"reached"`` or ``"numbered"``) compiled by numba, or ``None``
    without numba."""
    return _compiled(name) if NATIVE_AVAILABLE else None


@functools.cache
def _compiled(name: str) -> Callable[..., np.ndarray]:
    return compiled(globals()[f"_{name}"])


def _levels(n_inputs: int, sources: np.ndarray, targets: np.ndarray, stands: np.ndarray) -> np.ndarray:
    """``arrays.array_levels`` over the connections ``sources[k] -> targets[k]`` (``stands``: the
    neurons that stand for their unit): the levels, -1 on a cycle or fed through one. Its own pass
    over the connections counts each neuron's predecessors and groups the connections by source
    (a counting sort: the rows ``array_levels`` builds in numpy calls, a few microseconds each);
    then the rounds, the twin of ``arrays._rounds_in_python`` over arrays instead of lists (keep
    the two in step), and the test for cycles of ``array_levels``."""
    n_neurons = len(stands)
    n_connections = len(sources)
    indegree = np.zeros(n_neurons, dtype=np.int64)
    starts = np.zeros(n_neurons + 1, dtype=np.int64)
    for k in range(n_connections):
        indegree[targets[k]] += 1
        starts[sources[k] + 1] += 1
    for neuron in range(n_neurons):
        starts[neuron + 1] += starts[neuron]
    filled = starts[:-1].copy()
    heads = np.empty(n_connections, dtype=np.int64)
    for k in range(n_connections):
        heads[filled[sources[k]]] = targets[k]
        filled[sources[k]] += 1
    parentless = np.empty(n_neurons, dtype=np.int64)  # they join in round 1, their level
    n_parentless = 0
    for neuron in range(n_inputs, n_neurons):
        if indegree[neuron] == 0 and stands[neuron]:
            parentless[n_parentless] = neuron
            n_parentless += 1
    level = np.full(n_neurons, -1, dtype=np.int64)
    frontier = np.empty(n_neurons + n_connections, dtype=np.int64)
    taken = np.empty(n_neurons + n_connections, dtype=np.int64)
    size = 0
    for neuron in range(n_inputs):
        level[neuron] = 0
        frontier[size] = neuron
        size += 1
    depth = 0
    while size or depth == 0:
        depth += 1
        n_taken = 0
        for j in range(size):
            neuron = frontier[j]
            for k in range(starts[neuron], starts[neuron + 1]):
                head = heads[k]
                indegree[head] -= 1
                if indegree[head] == 0:  # reached by its last connection now
                    taken[n_taken] = head
                    n_taken += 1
        # Those that went on below zero in this round (only where a cycle runs through an input)
        # are not taken, as in numpy's rounds.
        size = 0
        for j in range(n_taken):
            if indegree[taken[j]] == 0:
                frontier[size] = taken[j]
                size += 1
        if depth == 1:
            for j in range(n_parentless):
                frontier[size] = parentless[j]
                size += 1
        for j in range(size):
            level[frontier[j]] = depth
    for neuron in range(n_neurons):
        if stands[neuron] and indegree[neuron] > 0:  # on a cycle, or fed through one
            level[neuron] = -1
    return level


def _reached(starts: np.ndarray, tails: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``arrays.reaching``: depth first, backwards from the seeds over each neuron's sources
    (``tails``, CSR rows by ``starts``), each connection followed at most once."""
    n_neurons = len(starts) - 1
    found = np.zeros(n_neurons, dtype=np.bool_)
    stack = np.empty(n_neurons, dtype=np.int64)
    top = 0
    for seed in seeds:
        if not found[seed]:
            found[seed] = True
            stack[top] = seed
            top += 1
    while top:
        top -= 1
        neuron = stack[top]
        for k in range(starts[neuron], starts[neuron + 1]):
            tail = tails[k]
            if not found[tail]:
                found[tail] = True
                stack[top] = tail
                top += 1
    return found


def _numbered(input_keys: np.ndarray, node_keys: np.ndarray, sizes: np.ndarray, ends: np.ndarray,
              stops: np.ndarray, output_keys: np.ndarray, low: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """``neat._numbered_by_dict``'s numbering of int keys (``neat._numbered_by_table``): genome ``g`` has
    the nodes ``node_keys`` of the next ``sizes[g]`` neurons after the inputs and those of the genomes
    before it, and the connection ends ``ends`` up to ``stops[g]``. Each genome's inputs, then its
    nodes (a node wins over an input of its key, as in a dict) go into a table indexed by key -
    ``low`` (``span`` entries), cleared after it. Returns the ends and every genome's outputs as
    neuron numbers, -1 for a key that is neither an input nor one of the genome's nodes."""
    n_inputs = len(input_keys)
    n_outputs = len(output_keys)
    table = np.full(span, -1, dtype=np.int64)
    neurons = np.empty(len(ends), dtype=np.int64)
    outputs = np.empty(len(sizes) * n_outputs, dtype=np.int64)
    first = 0  # the genome's first node, among every genome's
    start = 0  # and its first connection end
    for genome in range(len(sizes)):
        for i in range(n_inputs):
            table[input_keys[i] - low] = i
        for j in range(first, first + sizes[genome]):
            table[node_keys[j] - low] = n_inputs + j
        for k in range(start, stops[genome]):
            neurons[k] = table[ends[k] - low]
        for i in range(n_outputs):
            outputs[genome * n_outputs + i] = table[output_keys[i] - low]
        for i in range(n_inputs):
            table[input_keys[i] - low] = -1
        for j in range(first, first + sizes[genome]):
            table[node_keys[j] - low] = -1
        first += sizes[genome]
        start = stops[genome]
    return neurons, outputs
