"""The lesson's network built in real Keras, trained a little, saved, and imported into nngraph.

Usage: python examples/import_keras.py [folder, default out/keras] [--dot]

Builds the lesson's 8-6-6-4 network with the lesson's own Keras code, fits it for a few epochs to
random samples of four classes, saves it as ``lesson.keras``, and imports it twice: from the model
object and from the file, which is read without Keras. Both give the same nngraph network, which
predicts what Keras predicts. Prints the counts and nngraph's summary, one sample traced through
the network, and draws the neuron diagram (``keras_lesson_neurons.svg``, or ``.dot`` with ``--dot``,
which needs no Graphviz program). Keras runs on PyTorch here unless ``KERAS_BACKEND`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import networkx as nx
import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402 - the backend is chosen before Keras is imported
from keras.layers import Dense  # noqa: E402
from keras.models import Sequential  # noqa: E402

import nngraph  # noqa: E402
from nngraph.keras.summary import format_summary, layer_table  # noqa: E402

CLASSES = ["cat", "dog", "llama", "lizard"]


def lesson_model() -> keras.Model:
    """The lesson's code, as it is written there, fitted for a few epochs to random samples."""
    keras.utils.set_random_seed(14)
    layers = [
        Dense(units=6, input_shape=(8,), activation='relu'),
        Dense(units=6, activation='relu'),
        Dense(units=4, activation='softmax'),
    ]
    model = Sequential(layers)
    rng = np.random.default_rng(14)
    x = rng.uniform(size=(64, 8)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 4, size=64), 4)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model


def main(argv: list[str]) -> None:
    dot_only = "--dot" in argv
    folder = Path(next((arg for arg in argv if not arg.startswith("--")), "out/keras"))
    folder.mkdir(parents=True, exist_ok=True)
    model = lesson_model()
    path = folder / "lesson.keras"
    model.save(path)

    G = nngraph.from_keras(model)
    from_file = nngraph.from_keras(path)
    inputs = len(nngraph.inputs(G))
    print(f"{G.number_of_nodes()} neurons ({inputs} inputs), {G.number_of_edges()} connections, "
          f"{nngraph.count_params(G)} parameters")
    print(f"the same network from the object and from the file: {nx.utils.graphs_equal(G, from_file)}")
    table = layer_table(G)
    print(format_summary(model.name, table.rows, total=table.total, non_trainable=table.non_trainable))

    x = np.random.default_rng(0).uniform(size=(100, 8)).astype("float32")
    plan = nngraph.compile_network(G)
    difference = np.max(np.abs(plan(x) - model.predict(x, verbose=0)))
    print(f"largest difference from Keras' predictions: {difference:.1e}")
    trace = plan.trace(x[:1])
    for name, probability in zip(CLASSES, trace.outputs[0]):
        print(f"  {name:<7} {probability:.4f}")

    diagram = folder / ("keras_lesson_neurons.dot" if dot_only else "keras_lesson_neurons.svg")
    nngraph.render(G, diagram, trace=trace, output_labels=CLASSES)
    print(f"wrote {diagram}")


if __name__ == "__main__":
    main(sys.argv[1:])
