"""How long ``compile_network`` takes against building the same graph with networkx, and the memory
it needs against the graph's own: python benchmarks/compile_bench.py.

Three kinds of network at 1e3 to 1e6 connections:

- dense: layered, fully connected (inputs, two hidden layers, outputs; relu, then linear outputs);
- sparse DAG: 16 levels of neurons, each fed by four neurons of earlier levels (one of the level
  just before it, the rest anywhere before: skip connections), tanh;
- NEAT-like: neurons in a random order, each fed by one to six random earlier neurons, with mixed
  activations (tanh, sigmoid, relu) and biases, as evolved genomes are.

Per cell: the seconds of one build with networkx (``add_nodes_from`` with attributes, one
``add_weighted_edges_from``: the connections are generated beforehand, untimed), the seconds of
``compile_network(G)``, their ratio (up to 1e5 connections the median of interleaved rounds,
``timing.compare``, ratios taken round by round, so that a busy spell of a shared machine hits
both alike; at 1e6 one run each), and peak memory by ``tracemalloc``: that of
building the graph (the graph's own) and that of compiling it. The target is a ratio of at most
1.5 with compile memory at most the graph's; the last column says whether both hold. The code
that runs a call (the compiled numpy pass, the scalar code, the native kernel's arrays) is built
on the first call that needs it, so the table also gives compiling plus that first call, of one
sample, against the build: the cost of a plan compiled to run once. The timings are taken once a
plan has run on the native kernel in the process (``warm_up``), as in any process that has run a
plan: compiling then finds the levels and the lowering's layout in numba's loops, where a process
that has not started numba takes numpy's calls. Prints one table. ``--max`` caps the sizes (1e6
takes minutes on a busy machine).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import networkx as nx
import numpy as np

import nngraph
from timing import compare

SIZES = (1_000, 10_000, 100_000, 1_000_000)
LEVELS = 16
TARGET = 1.5
ROUNDS = 21  # the median of 21 rounds: a 2x slow spell of a shared machine in a few of them moves it little
Nodes = list[tuple[str, dict]]
Edges = list[tuple[str, str, float]]


def dense(connections: int, rng: np.random.Generator) -> tuple[Nodes, Edges]:
    """A fully connected network inputs -> w -> w -> 10 outputs with about ``connections`` weights."""
    width = max(4, int(np.sqrt(connections / 3)))
    sizes = [width, width, width, 10]
    layers = [[f"l{k}_{i}" for i in range(size)] for k, size in enumerate(sizes)]
    nodes: Nodes = [(name, {"role": "input"}) for name in layers[0]]
    for k, layer in enumerate(layers[1:], start=1):
        role, activation = ("output", "linear") if k == len(layers) - 1 else ("hidden", "relu")
        nodes += [(name, {"role": role, "activation": activation, "bias": float(b)})
                  for name, b in zip(layer, rng.normal(size=len(layer)))]
    edges: Edges = []
    for before, after in zip(layers, layers[1:]):
        weights = rng.normal(size=len(before) * len(after)).tolist()
        edges += [(u, v, w) for (u, v), w in zip(((u, v) for v in after for u in before), weights)]
    return nodes, edges


def _random_dag(rng: np.random.Generator, *, fan_in: np.ndarray, level: np.ndarray,
                n_inputs: int, n_outputs: int, activations: tuple[str, ...]) -> tuple[Nodes, Edges]:
    """Neurons in level order, each fed by ``fan_in`` distinct neurons of lower levels."""
    n = len(level)
    names = [f"n{i}" for i in range(n)]
    roles = ["input"] * n_inputs + ["hidden"] * (n - n_inputs - n_outputs) + ["output"] * n_outputs
    bias = rng.normal(size=n).tolist()
    chosen = rng.integers(len(activations), size=n).tolist()
    nodes: Nodes = [(names[i], {"role": "input"} if i < n_inputs else
                     {"role": roles[i], "activation": activations[chosen[i]], "bias": bias[i]})
                    for i in range(n)]
    below = np.searchsorted(level, level, side="left")  # neurons before i's level: candidates
    edges: Edges = []
    weights = iter(rng.normal(size=int(fan_in.sum())).tolist())
    for i in range(n_inputs, n):
        k = min(int(fan_in[i]), int(below[i]))
        for u in set(rng.integers(below[i], size=k).tolist()):
            edges.append((names[u], names[i], next(weights)))
    return nodes, edges


def sparse_dag(connections: int, rng: np.random.Generator) -> tuple[Nodes, Edges]:
    """16 levels, four connections per neuron, most of them skipping levels."""
    n = connections // 4 + 16
    n_inputs, n_outputs = max(8, n // LEVELS), 8
    level = np.concatenate([np.zeros(n_inputs, int), np.sort(rng.integers(1, LEVELS, size=n - n_inputs - n_outputs)),
                            np.full(n_outputs, LEVELS)])
    return _random_dag(rng, fan_in=np.full(n, 4), level=level, n_inputs=n_inputs,
                       n_outputs=n_outputs, activations=("tanh",))


def neat_like(connections: int, rng: np.random.Generator) -> tuple[Nodes, Edges]:
    """A random order of neurons, each fed by 1 to 6 earlier ones, mixed activations."""
    n = connections * 2 // 7 + 16
    n_inputs, n_outputs = 16, 4
    level = np.concatenate([np.zeros(n_inputs, int), np.arange(1, n - n_inputs - n_outputs + 1),
                            np.full(n_outputs, n)])
    return _random_dag(rng, fan_in=rng.integers(1, 7, size=n), level=level,
                       n_inputs=n_inputs, n_outputs=n_outputs, activations=("tanh", "sigmoid", "relu"))


KINDS: dict[str, Callable[[int, np.random.Generator], tuple[Nodes, Edges]]] = {
    "dense": dense, "sparse DAG": sparse_dag, "NEAT-like": neat_like}


def build(nodes: Nodes, edges: Edges) -> nx.DiGraph:
    """The one networkx pass the compile time is measured against."""
    G = nx.DiGraph()
    G.add_nodes_from(nodes)
    G.add_weighted_edges_from(edges)
    return G


def best_seconds(work: Callable[[], object], *, repeat: int) -> float:
    """The fastest of ``repeat`` runs (garbage collection off while timing)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
        gc.enable()
    return best


def peak_bytes(work: Callable[[], object]) -> int:
    """The peak memory ``work`` allocates while it runs (``tracemalloc``)."""
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(kind: str, connections: int) -> list[str]:
    """One row of the table: build and compile of one network."""
    nodes, edges = KINDS[kind](connections, np.random.default_rng(connections))
    G = build(nodes, edges)
    plan = nngraph.compile_network(G)
    x = np.random.default_rng(1).normal(size=(3, len(plan.inputs)))
    if len(edges) <= 100_000:  # interleaved rounds, ratios round by round: a busy spell hits all three
        timings = compare({"build": lambda: build(nodes, edges), "compile": lambda: nngraph.compile_network(G),
                           "first call": lambda: nngraph.compile_network(G)(x[:1])}, rounds=ROUNDS)
        built, compiled = timings.seconds("build"), timings.seconds("compile")
        ratio, first_ratio = timings.ratio("compile", "build"), timings.ratio("first call", "build")
    else:  # one run each: 1e6 connections take seconds
        built = best_seconds(lambda: build(nodes, edges), repeat=1)
        compiled = best_seconds(lambda: nngraph.compile_network(G), repeat=1)
        ratio = compiled / built
        first_ratio = best_seconds(lambda: nngraph.compile_network(G)(x[:1]), repeat=1) / built
    if len(edges) <= 10_000:  # the reference is slow on large graphs; the property tests cover them
        np.testing.assert_allclose(plan(x), nngraph.run_reference(G, x).outputs, rtol=1e-9, atol=1e-12)
    graph_memory = peak_bytes(lambda: build(nodes, edges))
    compile_memory = peak_bytes(lambda: nngraph.compile_network(G))
    held = ratio <= TARGET and compile_memory <= graph_memory
    return [kind, f"{len(edges):,}", str(len(plan.ops)), f"{built * 1e6 / len(edges):.2f}",
            f"{compiled * 1e6 / len(edges):.2f}", f"{ratio:.2f}x", f"{first_ratio:.2f}x",
            f"{graph_memory / 2**20:.1f}", f"{compile_memory / 2**20:.1f}", "yes" if held else "**no**"]


HEADER = ["network", "connections", "ops", "build µs/conn", "compile µs/conn", "compile/build",
          "compile + first call (batch 1)/build", "graph MB", "compile MB", "target met"]


def warm_up() -> None:
    """Load the native kernel (numba's import and its cache on disk) before any timing: a cost once
    per process, not per plan. Once numba runs, compiling takes numba's loops (the levels, the
    lowering's layout): one more compile loads them from the cache."""
    nodes, edges = neat_like(300, np.random.default_rng(0))
    plan = nngraph.compile_network(build(nodes, edges))
    for batch in (1, 2, 8):
        plan(np.zeros((batch, len(plan.inputs))))
    nngraph.compile_network(build(nodes, edges))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=float, default=1e6, help="the largest number of connections")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    args = parser.parse_args(argv)
    warm_up()
    print(f"Compile time against one networkx build (target: at most {TARGET}x, memory at most the graph's)")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for kind in args.kinds:
        for size in SIZES:
            if size <= args.max:
                print("| " + " | ".join(measure(kind, size)) + " |", flush=True)


if __name__ == "__main__":
    main()
