"""Export nngraph networks to ONNX and run them in onnxruntime: python examples/export_onnx.py [folder].

Two networks go out (default folder out/onnx): the lesson's 8-6-6-4 network, which becomes one Gemm
and one activation per layer, and a small NEAT-style graph built neuron by neuron, with a skip
connection, a max-aggregating neuron and neat-python's own sigmoid, which exports through its
compiled plan's ops. Each ONNX file is checked with ``onnx.checker`` and run by onnxruntime on the
same samples as ``plan(x)``; the script prints the operators and the largest difference. Needs
the ``onnx`` extra (``pip install 'nngraph[onnx]'``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np
import onnx
import onnxruntime

import nngraph
from nngraph.layers import Dense
from nngraph.models import Sequential


def lesson() -> Sequential:
    """The lesson's network: 8 inputs, two hidden layers of 6 relu neurons, 4 softmax outputs."""
    return Sequential([Dense(units=6, input_shape=(8,), activation="relu"), Dense(units=6, activation="relu"),
                       Dense(units=4, activation="softmax")], seed=0)


def neat_style() -> nx.DiGraph:
    """Three inputs, two hidden neurons (one takes the max of its terms), one output that also reads
    an input directly (a skip connection)."""
    G = nngraph.new_network()
    for node in ("x0", "x1", "x2"):
        nngraph.add_input(G, node)
    nngraph.add_neuron(G, nngraph.Neuron("h0", role="hidden", bias=0.1, activation="tanh"))
    nngraph.add_neuron(G, nngraph.Neuron("h1", role="hidden", activation="relu", aggregation="max"))
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", bias=-0.2, activation="neat_sigmoid"))
    for source, target, weight in (("x0", "h0", 0.8), ("x1", "h0", -0.5), ("x1", "h1", 1.5), ("x2", "h1", -1.0),
                                   ("h0", "y", 1.2), ("h1", "y", -0.7), ("x2", "y", 0.3)):
        nngraph.connect(G, source, target, weight)
    return G


def export_and_compare(name: str, network: nx.DiGraph | Sequential, folder: Path) -> None:
    """Write ``network`` to ``folder/<name>.onnx``, run it in onnxruntime and compare with the plan."""
    path = folder / f"{name}.onnx"
    model = nngraph.to_onnx(network, path)
    onnx.checker.check_model(str(path), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    G = network.graph if isinstance(network, Sequential) else network
    x = np.random.default_rng(0).normal(size=(5, len(nngraph.inputs(G)))).astype(np.float32)
    difference = np.abs(session.run(None, {"input": x})[0] - nngraph.compile_network(G, dtype=np.float32)(x))
    print(f"{name}: wrote {path}")
    print(f"  operators: {' '.join(node.op_type for node in model.graph.node)}")
    print(f"  onnxruntime vs plan(x), 5 samples: largest difference {difference.max():.1e}")


def main(argv: list[str]) -> None:
    folder = Path(argv[0] if argv else "out/onnx")
    export_and_compare("lesson", lesson(), folder)
    export_and_compare("neat_style", neat_style(), folder)


if __name__ == "__main__":
    main(sys.argv[1:])
