"""The lesson's network, end to end: what ``make demo`` and ``nngraph demo`` show.

An 8-6-6-4 network (two hidden relu layers, softmax over cat, dog, llama and
lizard) is built with the Keras-style front end from a fixed seed; one sample
goes through it, and every neuron's weighted sum and value is printed, layer by layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nngraph.execute.trace import Trace
from nngraph.layers import Dense
from nngraph.models import Sequential

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


def run_demo(print_fn: Callable[[str], None] = print) -> Trace:
    """Build the lesson's network, trace one sample through it and print what happens inside."""
    model = lesson_model()
    print_fn(model.summary_text())
    print_fn("\nOne sample through the network: " + np.array2string(SAMPLE, separator=", "))
    trace = model.trace(SAMPLE)
    print_fn("Every neuron's weighted sum z = bias + sum(weight * input) and value a = activation(z):\n")
    print_fn(trace.table())
    print_fn("\nOutput probabilities (softmax):")
    print_fn(probabilities_table(trace))
    return trace
