"""The lesson's network, end to end: what ``make demo`` and ``nngraph demo`` show.

An 8-6-6-4 network (two hidden relu layers, softmax over cat, dog, llama and
lizard) is built with the Keras-style front end from a fixed seed; one sample
goes through it, and every neuron's weighted sum and value is printed, layer by layer.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nngraph.execute.compiled import compile_network
from nngraph.execute.trace import Trace
from nngraph.keras.layers import Dense
from nngraph.keras.sequential import Sequential
from nngraph.render import render

CLASS_NAMES = ("cat", "dog", "llama", "lizard")
SEED = 14
SAMPLE = np.array([0.9, 0.1, 0.4, 0.7, 0.2, 0.8, 0.3, 0.5])


def lesson_model(seed: int = SEED) -> Sequential:
    """The lesson's model, exactly as the lesson writes it, with reproducible weights."""
    layers = [
        Dense(units=6, input_shape=(8,), activation='relu'),
        Dense(units=6, activation='relu'),
        Dense(units=4, activation='softmax'),
    ]
    return Sequential(layers, seed=seed)


def probabilities_table(trace: Trace, labels: tuple[str, ...] = CLASS_NAMES, *, sample: int = 0) -> str:
    """The output probabilities, one labelled line each, most likely class marked."""
    values = trace.outputs[sample]
    best = int(np.argmax(values))
    return "\n".join(f"  {label:<8} {value:8.4f}{'   <- prediction' if index == best else ''}"
                     for index, (label, value) in enumerate(zip(labels, values)))


def write_diagrams(model: Sequential, trace: Trace, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the lesson's neuron diagram (plain and with the trace's values), layer and plan diagrams.

    SVG where Graphviz's ``dot`` is installed; DOT source otherwise, which needs no Graphviz.
    """
    folder = Path(folder)
    suffix = ".svg" if shutil.which("dot") else ".dot"
    return [
        render(model.graph, folder / f"lesson_neurons{suffix}", output_labels=CLASS_NAMES),
        render(model.graph, folder / f"lesson_neurons_values{suffix}", trace=trace, output_labels=CLASS_NAMES),
        render(model, folder / f"lesson_layers{suffix}", kind="layers"),
        render(compile_network(model.graph), folder / f"lesson_plan{suffix}"),
    ]


def run_demo(print_fn: Callable[[str], None] = print, *,
             diagram_folder: str | os.PathLike[str] | None = None) -> Trace:
    """Build the lesson's network, trace one sample through it and print what happens inside.

    With ``diagram_folder``, also write the lesson's diagrams there and say where.
    """
    model = lesson_model()
    print_fn(model.summary_text())
    print_fn("\nOne sample through the network: " + np.array2string(SAMPLE, separator=", "))
    trace = model.trace(SAMPLE)
    print_fn("Every neuron's weighted sum z = bias + sum(weight * input) and value a = activation(z):\n")
    print_fn(trace.table())
    print_fn("\nOutput probabilities (softmax):")
    print_fn(probabilities_table(trace))
    if diagram_folder is not None:
        paths = write_diagrams(model, trace, diagram_folder)
        print_fn(f"\nDiagrams written to {Path(diagram_folder)}/:")
        print_fn("\n".join(f"  {path.name}" for path in paths))
        if paths[0].suffix == ".dot":
            print_fn("  (DOT source: Graphviz's dot is not installed; apt-get install graphviz for SVG)")
    return trace
