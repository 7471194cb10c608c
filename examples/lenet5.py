"""LeNet-5 in the lesson's style: built, summarised, predicted, traced and drawn.

Usage: python examples/lenet5.py [diagram folder, default out/lenet5]

The network is LeCun's, as Keras tutorials write it: a 28x28x1 image, two 5x5 convolutions (6 and
16 filters, relu) each followed by 2x2 average pooling (LeNet's subsampling), then dense layers
of 120, 84 and 10 (softmax). Its weights are Keras' initial ones from a seed (nngraph does not
train), and the sample is a hand-drawn "7"; what counts is that every neuron can be read.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

import nngraph
from nngraph.layers import AveragePooling2D, Conv2D, Dense, Flatten, Input
from nngraph.models import Sequential


def lenet5(seed: int = 0) -> Sequential:
    """LeNet-5 with valid padding: 44,426 parameters, as Keras counts them."""
    return Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(6, kernel_size=(5, 5), activation="relu"),
        AveragePooling2D(pool_size=(2, 2)),
        Conv2D(16, kernel_size=(5, 5), activation="relu"),
        AveragePooling2D(pool_size=(2, 2)),
        Flatten(),
        Dense(120, activation="relu"),
        Dense(84, activation="relu"),
        Dense(10, activation="softmax"),
    ], name="lenet5", seed=seed)


def seven() -> np.ndarray:
    """A 28x28x1 image of a hand-drawn "7": a bar across the top and a stroke down to the left."""
    image = np.zeros((28, 28, 1))
    image[5:8, 6:22, 0] = 1.0
    for row in range(7, 24):
        column = 21 - (row - 7) * 9 // 17
        image[row, column - 1:column + 2, 0] = 1.0
    return image


def main(folder: str = "out/lenet5") -> None:
    model = lenet5()
    model.summary()
    x = seven()[None]                       # a batch of one image: (1, 28, 28, 1)
    probabilities = model.predict(x)[0]
    print("\nclass probabilities:", " ".join(f"{digit}:{p:.3f}" for digit, p in enumerate(probabilities)))

    trace = model.trace(x)
    z = trace.layer_weighted_sums("conv2d")  # (1, 24, 24, 6): every neuron of the first feature maps
    print(f"\nconv2d weighted sums, filter 0, rows 0-4, columns 8-12:\n{z[0, :5, 8:13, 0].round(3)}")
    print(f"the neuron conv2d/2,10,0 alone: {trace.weighted_sum('conv2d/2,10,0')[0]:.3f}")
    print(f"pooled maps: {trace.layer_values('average_pooling2d_1').shape[1:]}, "
          f"flattened: {trace.layer_values('flatten').shape[1:]}")

    plan = nngraph.compile_network(model.graph)
    print(f"\n{plan}")

    suffix = ".svg" if shutil.which("dot") else ".dot"
    out = Path(folder)
    written = [
        nngraph.render(model.graph, out / f"lenet5_neurons{suffix}", trace=trace,
                       output_labels=[str(digit) for digit in range(10)]),
        nngraph.render(model, out / f"lenet5_layers{suffix}", kind="layers"),
        nngraph.render(plan, out / f"lenet5_plan{suffix}"),
    ]
    print("\nwrote " + ", ".join(str(path) for path in written))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/lenet5")
