"""A NEAT genome evolved by neat-python, exported as JSON, read back by nngraph, checked and drawn.

Usage: python examples/import_neat.py [output folder, default out/import_neat]

neat-python evolves XOR (``neat_xor.py``, beside this file) and writes the winner with its own
JSON export, ``neat.export.export_network_json``. ``nngraph.from_neat_json`` reads that file
without neat-python, node ids kept (inputs -1, -2; output 0), and gives the graph that
``nngraph.from_neat(winner, config)`` gives; its compiled plan computes what neat-python's
``FeedForwardNetwork.activate`` computes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import neat
import numpy as np
from neat.export import export_network_json

import nngraph
from neat_xor import XOR_INPUTS, evolve


def main(folder: str = "out/import_neat") -> None:
    winner, generations, config = evolve()
    network = neat.nn.FeedForwardNetwork.create(winner, config)
    path = Path(folder) / "xor_winner.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    export_network_json(network, filepath=str(path), metadata={"fitness": winner.fitness, "generation": generations})
    print(f"neat-python wrote {path} (fitness {winner.fitness:.4f} after {generations} generations)")

    G = nngraph.from_neat_json(path)
    same = nx_equal(G, nngraph.from_neat(winner, config))
    print(f"from_neat_json: {G.number_of_nodes()} neurons, {G.number_of_edges()} connections; "
          f"the graph of from_neat(winner, config): {same}")

    plan = nngraph.compile_network(G)
    x = np.array(XOR_INPUTS)
    expected = np.array([network.activate(sample) for sample in XOR_INPUTS])
    print(f"largest difference from neat-python's activate: {np.abs(plan(x) - expected).max():.1e}")
    print(f"\n{plan}")
    trace = plan.trace(x)
    for i, sample in enumerate(XOR_INPUTS):
        print(f"  {sample} -> {trace.value(0)[i]:.3f}")

    suffix = ".svg" if shutil.which("dot") else ".dot"
    written = nngraph.render(G, Path(folder) / f"xor_neurons{suffix}", trace=trace, sample=1,
                             input_labels=["x1", "x2"], output_labels=["xor"])
    print(f"\nwrote {written}")


def nx_equal(a: object, b: object) -> bool:
    """Same neurons, connections and attributes, inputs and outputs in the same order."""
    return (nngraph.inputs(a), nngraph.outputs(a), dict(a.nodes(data=True)), sorted(a.edges(data="weight"))) == \
        (nngraph.inputs(b), nngraph.outputs(b), dict(b.nodes(data=True)), sorted(b.edges(data="weight")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/import_neat")
