"""Random neat-python genomes for the population benchmark: real ``neat.DefaultGenome`` objects.

Each genome has ``5 .. 40`` hidden neurons and ``20 .. 150`` connections by default (fewer when the
neurons cannot hold that many), a random activation per neuron among the config's options, and connections
from any earlier neuron (inputs included: skip connections) in a random order; one in twenty is
disabled, as mutation leaves some. Built gene by gene through neat-python's own API.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parent / "neat_population.cfg"


def neat_config(path: Path = CONFIG):  # noqa: ANN201 (neat.Config; neat is optional)
    import neat

    return neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                       neat.DefaultStagnation, str(path))


def random_genomes(config, n_genomes: int, *, seed: int = 0, hidden: tuple[int, int] = (5, 40),  # noqa: ANN001
                   connections: tuple[int, int] = (20, 150)) -> list[tuple[int, object]]:
    """``n_genomes`` ``(genome_id, genome)`` pairs, as neat-python hands them to ``eval_genomes``,
    with ``hidden`` and ``connections`` (lowest, highest) each."""
    import neat

    rng = np.random.default_rng(seed)
    genome_config = config.genome_config
    activations = genome_config.activation_options
    n_inputs, n_outputs = genome_config.num_inputs, genome_config.num_outputs
    pairs = []
    for key in range(n_genomes):
        genome = neat.DefaultGenome(key)
        genome.configure_new(genome_config)  # the output neurons (the config connects nothing)
        hidden_nodes = list(range(n_outputs, n_outputs + int(rng.integers(hidden[0], hidden[1] + 1))))
        for node in hidden_nodes:
            genome.nodes[node] = genome.create_node(genome_config, node)
        for gene in genome.nodes.values():
            gene.activation = str(rng.choice(activations))
            gene.bias = float(rng.normal())
        order = list(genome_config.input_keys) + [int(node) for node in rng.permutation(hidden_nodes)]
        order += list(genome_config.output_keys)
        # A neuron reads any neuron before it in ``order``; outputs feed nothing.
        sources_of = {node: min(position, len(order) - n_outputs) for position, node in enumerate(order)}
        room = sum(sources_of[node] for node in order[n_inputs:])
        wanted = min(int(rng.integers(connections[0], connections[1] + 1)), room)
        chosen: set[tuple[int, int]] = set()
        while len(chosen) < wanted:
            target = order[int(rng.integers(n_inputs, len(order)))]
            chosen.add((order[int(rng.integers(sources_of[target]))], target))
        for innovation, (source, target) in enumerate(sorted(chosen, key=lambda _: rng.random())):
            genome.add_connection(genome_config, source, target, float(rng.normal()),
                                  bool(rng.random() > 0.05), innovation=innovation)
        pairs.append((key, genome))
    return pairs
