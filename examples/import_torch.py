"""Import a PyTorch CNN into nngraph: python examples/import_torch.py [folder] (default out/torch).

Builds a small LeNet-like module in PyTorch (convolution, pooling, batch norm, flatten, dense
layers), trains it for a few steps on random data, imports it with ``nngraph.from_torch``, prints
its summary as Keras would, checks that the compiled plan predicts what PyTorch predicts on the
same arrays, prints the values of one layer for one sample, and draws the layer diagram and the
neuron diagram with that sample's values as ``torch_layers.svg`` and ``torch_neurons.svg``
(``.dot`` with ``--dot``, without Graphviz's dot program). The summary shows nngraph's shapes, channels last.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import nngraph
from nngraph.keras.summary import format_summary, layer_table


def cnn() -> nn.Module:
    """A LeNet-like CNN for 1 x 12 x 12 images and 4 classes, after a few training steps."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 8), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(8, 4), nn.Softmax(dim=-1))
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    images, labels = torch.randn(32, 1, 12, 12), torch.randint(0, 4, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        loss = nn.functional.nll_loss(torch.log(module(images)), labels)
        loss.backward()
        optimizer.step()
    return module.eval()


def main(argv: list[str]) -> None:
    dot_only = "--dot" in argv
    folder = Path(next((arg for arg in argv if not arg.startswith("--")), "out/torch"))
    folder.mkdir(parents=True, exist_ok=True)
    module = cnn()
    G = nngraph.from_torch(module, (1, 12, 12))  # one sample's shape, channels first, no batch axis
    table = layer_table(G)
    print(format_summary("cnn", table.rows, total=table.total, non_trainable=table.non_trainable))
    print(f"PyTorch's parameters: {sum(p.numel() for p in module.parameters())}, "
          "plus BatchNorm's running mean and variance: 12")

    x = np.random.default_rng(1).normal(size=(5, 1, 12, 12)).astype(np.float32)
    plan = nngraph.compile_network(G)
    ours = plan(x.reshape(len(x), -1))  # the same array, flattened: PyTorch's order
    with torch.no_grad():
        theirs = module(torch.from_numpy(x)).numpy()
    print(f"\nlargest difference from PyTorch over 5 images: {np.abs(ours - theirs).max():.1e}")
    print(f"predicted classes: {ours.argmax(axis=1).tolist()} (PyTorch: {theirs.argmax(axis=1).tolist()})")
    trace = plan.trace(x[:1].reshape(1, -1))
    hidden = trace.layer_values("8")[0]
    print(f"layer '8' (the first Linear, with its ReLU) for image 0: {np.round(hidden, 3).tolist()}")

    suffix = ".dot" if dot_only else ".svg"
    print()
    print(f"wrote {nngraph.render(G, folder / f'torch_layers{suffix}', kind='layers')}")
    print(f"wrote {nngraph.render(G, folder / f'torch_neurons{suffix}', trace=trace)}")  # image 0's values


if __name__ == "__main__":
    main(sys.argv[1:])
