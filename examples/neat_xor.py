"""neat-python's XOR evolution, start to finish, with every generation evaluated by nngraph.

neat-python evolves a population of 150 genomes; each generation, ``eval_genomes`` must set every
genome's fitness. Written as neat-python's example writes it, it builds a ``FeedForwardNetwork``
per genome and runs the four XOR samples through it one by one. ``nngraph.interop.neat``'s
``make_eval_genomes`` instead compiles the whole generation into one plan and runs all four samples
through all 150 genomes at once. The config is ``neat_xor.cfg``, beside this file (neat-python's
own XOR config); the seed is fixed, so the run is the same every time. Run it:
``python examples/neat_xor.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import neat
import numpy as np

from nngraph.interop.neat import make_eval_genomes

CONFIG = Path(__file__).resolve().parent / "neat_xor.cfg"
XOR_INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_OUTPUTS = [[0.0], [1.0], [1.0], [0.0]]
SEED = 3


def fitness(outputs: np.ndarray, targets: np.ndarray) -> float:
    """neat-python's XOR fitness: 4 minus the squared error over the four samples."""
    return 4.0 - float(np.sum((outputs - targets) ** 2))


def evolve(*, generations: int = 300, seed: int = SEED) -> tuple[object, int, neat.Config]:
    """Run the evolution until a genome reaches the config's fitness threshold; return the winner,
    how many generations it took, and the config."""
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, str(CONFIG))
    population = neat.Population(config, seed=seed)
    winner = population.run(make_eval_genomes(XOR_INPUTS, XOR_OUTPUTS, fitness), generations)
    return winner, population.generation, config


def main() -> None:
    start = time.perf_counter()
    winner, generations, config = evolve()
    seconds = time.perf_counter() - start
    print(f"fitness {winner.fitness:.4f} (threshold {config.fitness_threshold}) after {generations} "
          f"generations of {config.pop_size} genomes, in {seconds:.1f} s")
    # The winner, run by neat-python itself, gives the outputs nngraph computed for it.
    network = neat.nn.FeedForwardNetwork.create(winner, config)
    for sample, target in zip(XOR_INPUTS, XOR_OUTPUTS):
        print(f"  {sample} -> {network.activate(sample)[0]:.3f} (expected {target[0]})")


if __name__ == "__main__":
    main()
