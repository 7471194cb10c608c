"""Watch an LSTM's forget gate: python examples/lstm_gates.py [folder] (default out/lstm).

Builds a small LSTM (a sequence of 6 steps of 2 features, 3 units, then one Dense output), prints
its summary as Keras would, traces one sequence through the compiled plan, prints unit 0's forget
gate at every step (every gate of every step is a neuron of the unrolled network, named
``lstm/t<step>/<role>/<unit>``), and draws the unrolled network, one column per time step, as
``lstm_neurons.svg`` (or ``lstm_neurons.dot`` with ``--dot``, without Graphviz's dot program).
Nothing is trained: the weights are Keras' initial ones, drawn from a seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nngraph
from nngraph.layers import LSTM, Dense, Input
from nngraph.models import Sequential


def lstm_model() -> Sequential:
    """A 6-step, 2-feature sequence into LSTM(3), into one sigmoid output."""
    return Sequential([Input(shape=(6, 2)), LSTM(3, name="lstm"), Dense(1, activation="sigmoid", name="score")],
                      seed=7)


def main(argv: list[str]) -> None:
    dot_only = "--dot" in argv
    folder = Path(next((arg for arg in argv if not arg.startswith("--")), "out/lstm"))
    folder.mkdir(parents=True, exist_ok=True)
    model = lstm_model()
    model.summary()

    sequence = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [-0.5, 0.5], [-1.0, 0.0], [0.0, -1.0]])
    plan = nngraph.compile_network(model.graph)
    trace = plan.trace(sequence.reshape(1, -1))
    lstm = model.get_layer("lstm")
    forget = lstm.gate_values(trace, "forget")[0, :, 0]
    print(f"\nscore: {trace.layer_values('score')[0, 0]:.4f}")
    print("forget gate of unit 0 over time:")
    for step, (node, value) in enumerate(zip(lstm.gate_neurons("forget")[:, 0], forget)):
        print(f"  t{step}  {node:<18} {value:.4f}")

    path = folder / ("lstm_neurons.dot" if dot_only else "lstm_neurons.svg")
    nngraph.render(model.graph, path, output_labels=["score"])
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
