"""Every kind of nngraph diagram, written as SVG: python examples/diagrams.py [folder] (default out/diagrams).

- the lesson's 8-6-6-4 network: its neuron diagram, plain and with one sample's
  values, coloured by contribution; its layer diagram; its compiled plan;
- a NEAT-style genome (no layers, skip connections): neurons by level, and its
  fused groups as a layer diagram;
- a 784-512-512-10 network: wide columns folded into "+N more" nodes;
- the interactive HTML view of each of the three networks, traced on a few samples
  (``*_view.html``: open them in a browser and point at a neuron).
- a NEAT-style chain of 300 neurons over 291 levels (``neat_network.deep_genome``):
  its middle levels folded into one column, and its plan's middle ops into one box.

Without Graphviz's dot program, pass a folder and ``--dot`` to write DOT sources instead (and no pages).
"""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np

import nngraph
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential

sys.path.insert(0, str(Path(__file__).resolve().parent))
from neat_network import deep_genome  # noqa: E402


def neat_genome(seed: int = 3) -> nx.DiGraph:
    """A NEAT-style network: 4 inputs, 7 hidden neurons wired at random (with skips), 2 outputs."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    for index in range(4):
        nngraph.add_input(G, f"x{index}")
    hidden = [f"h{index}" for index in range(7)]
    for node in hidden:
        G.add_node(node, role="hidden", activation=str(rng.choice(["tanh", "relu", "sigmoid"])),
                   bias=float(rng.normal(scale=0.5)))
    for node in ("left", "right"):
        G.add_node(node, role="output", activation="sigmoid", bias=0.0)
    order = list(G.nodes)
    for position, node in enumerate(order[4:], start=4):
        for source in rng.choice(position, size=min(position, 3), replace=False):
            G.add_edge(order[source], node, weight=float(rng.normal()))
    return G


def write_all(folder: Path, *, suffix: str = ".svg") -> list[Path]:
    """Write every diagram into ``folder`` and return the paths."""
    model = lesson_model()
    trace = model.trace(SAMPLE)
    plan = nngraph.compile_network(model.graph)
    genome = neat_genome()
    deep = deep_genome()
    wide = Sequential([Dense(units=512, input_shape=(784,), activation="relu"),
                       Dense(units=512, activation="relu"), Dense(units=10, activation="softmax")], seed=0)
    jobs = [
        ("lesson_neurons", model.graph, {"output_labels": CLASS_NAMES}),
        ("lesson_neurons_values", model.graph, {"trace": trace, "output_labels": CLASS_NAMES}),
        ("lesson_contributions", model.graph, {"trace": trace, "output_labels": CLASS_NAMES,
                                               "connection_color": "contribution"}),
        ("lesson_layers", model, {"kind": "layers"}),
        ("lesson_plan", plan, {}),
        ("neat_neurons", genome, {"names": True, "output_labels": ["left", "right"],
                                  "trace": nngraph.run_reference(genome, [0.5, -1.0, 0.25, 1.0])}),
        ("neat_layers", genome, {"kind": "layers"}),
        ("wide_neurons", wide, {"output_labels": [str(digit) for digit in range(10)]}),
        ("deep_neurons", deep, {}),
        ("deep_plan", deep, {"kind": "plan"}),
    ]
    if suffix == ".svg":  # the pages draw their diagrams as SVG too
        rng = np.random.default_rng(0)
        samples = np.vstack([SAMPLE, rng.uniform(0.0, 1.0, size=(9, 8))])
        wide_trace = nngraph.compile_network(wide.graph).trace(rng.uniform(0.0, 1.0, size=(20, 784)))
        jobs += [
            ("lesson_view", model, {"trace": model.trace(samples), "output_labels": CLASS_NAMES}),
            ("neat_view", genome, {"trace": nngraph.run_reference(genome, rng.uniform(-1.0, 1.0, size=(10, 4))),
                                   "output_labels": ["left", "right"]}),
            ("wide_view", wide, {"trace": wide_trace, "output_labels": [str(digit) for digit in range(10)]}),
        ]
    return [nngraph.render(obj, folder / (name + (".html" if name.endswith("_view") else suffix)), **options)
            for name, obj, options in jobs]


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--dot"]
    target = Path(arguments[0] if arguments else "out/diagrams")
    for path in write_all(target, suffix=".dot" if "--dot" in sys.argv else ".svg"):
        print(f"wrote {path}")
