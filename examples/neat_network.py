"""A NEAT-style network, built neuron by neuron with plain networkx calls, then compiled.

Neuroevolution (NEAT) grows genomes that are not stacks of layers: neurons at many depths,
connections that skip levels, a different activation on every neuron. Frameworks cannot express
them, and node-by-node interpreters run them slowly. nngraph takes the genome as it is (a plain
``networkx.DiGraph``), compiles it into a few fused ops per level, and checks the result against
its reference pass. Run it: ``python examples/neat_network.py``.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

import nngraph


def neat_genome(*, n_inputs: int = 32, n_hidden: int = 512, n_outputs: int = 8,
                n_connections: int = 6000, depth: int = 40, seed: int = 0) -> nx.DiGraph:
    """Build a random NEAT-style genome with plain networkx calls.

    Node ids follow neat-python: inputs ``-1, -2, ...``, outputs ``0 .. n_outputs - 1``, hidden
    neurons from ``n_outputs`` on. Hidden neurons sit on ``depth`` levels: each is fed by one
    neuron of the level before (so the genome really is that deep) and, like every output, by
    random earlier neurons, inputs included (skip connections), until there are
    ``n_connections`` connections. Activations are tanh or sigmoid, at random.
    """
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    inputs = [-(i + 1) for i in range(n_inputs)]
    for node in inputs:
        G.add_node(node, role="input")
    for node in range(n_outputs):
        G.add_node(node, role="output", bias=float(rng.normal(0.0, 0.5)), activation="sigmoid")
    hidden = list(range(n_outputs, n_outputs + n_hidden))
    for node in rng.permutation(hidden).tolist():  # a genome lists its nodes in no particular order
        G.add_node(node, role="hidden", bias=float(rng.normal(0.0, 0.5)),
                   activation=str(rng.choice(["tanh", "sigmoid"])))

    levels = [inputs] + [chunk.tolist() for chunk in np.array_split(hidden, depth)]
    levels.append(list(range(n_outputs)))
    connections: set[tuple[int, int]] = set()
    for below, level in zip(levels, levels[1:]):
        for node in level:
            connections.add((below[rng.integers(len(below))], node))
    earlier = [node for level in levels[:-1] for node in level]
    first = {node: sum(len(level) for level in levels[:k]) for k, level in enumerate(levels)
             for node in level}
    targets = [node for level in levels[1:] for node in level]
    while len(connections) < n_connections:
        target = targets[rng.integers(len(targets))]
        connections.add((earlier[rng.integers(first[target])], target))
    for source, target in sorted(connections, key=lambda _: rng.random()):
        G.add_edge(source, target, weight=float(rng.normal(0.0, 1.0 / 3.0)))
    return G


def deep_genome(*, n_neurons: int = 300, n_levels: int = 291, n_inputs: int = 5, n_outputs: int = 5,
                n_connections: int | None = None, seed: int = 0) -> nx.DiGraph:
    """Build a NEAT-style genome that is mostly depth: ``n_neurons`` neurons over ``n_levels`` levels.

    Its hidden neurons spread over ``n_levels - 1`` levels (one each when there are
    as many levels as hidden neurons: a chain), and the outputs make the last level.
    Besides the chain, random skip connections (``n_connections`` in all, default
    two per neuron) join random earlier neurons, so most of them jump a long way:
    the kind of genome that long neuroevolution runs grow, and the hardest case for
    drawing. The defaults give a chain of 300 neurons over 291 levels.

    Examples
    --------
    >>> import nngraph
    >>> G = deep_genome()
    >>> len(G), G.number_of_edges(), max(nngraph.levels(G).values())
    (300, 600, 291)
    """
    n_hidden = n_neurons - n_inputs - n_outputs
    return neat_genome(n_inputs=n_inputs, n_hidden=n_hidden, n_outputs=n_outputs,
                       n_connections=2 * n_neurons if n_connections is None else n_connections,
                       depth=n_levels - 1, seed=seed)


def main() -> None:
    G = neat_genome(n_inputs=6, n_hidden=40, n_outputs=2, n_connections=220, depth=6, seed=1)
    print(f"genome: {G.number_of_nodes()} neurons, {G.number_of_edges()} connections, "
          f"{max(nngraph.levels(G).values())} levels")
    plan = nngraph.compile_network(G, verify=True)  # verify: checked against the reference pass
    print(plan)
    print()
    print(plan.code)
    print(plan.explain(0))
    print()

    x = np.random.default_rng(0).uniform(-1.0, 1.0, size=(256, len(plan.inputs)))
    trace, reference = plan.trace(x), nngraph.run_reference(G, x)
    worst = max(float(np.max(np.abs(trace.value(node) - reference.value(node)))) for node in G)
    print(f"every neuron of {len(x)} samples: largest difference from the reference {worst:.1e}")
    for name, run in (("plan(x)", lambda: plan(x)), ("run_reference", lambda: nngraph.run_reference(G, x))):
        start = time.perf_counter()
        run()
        print(f"{name:>14}: {1e3 * (time.perf_counter() - start):8.2f} ms for {len(x)} samples")


if __name__ == "__main__":
    main()
