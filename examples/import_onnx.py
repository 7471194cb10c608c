"""A small CNN exported by PyTorch to ONNX, imported into nngraph, checked against onnxruntime, drawn.

Usage: python examples/import_onnx.py [folder, default out/import_onnx]

PyTorch writes the network as an .onnx file (its TorchScript exporter, offline); ``nngraph.from_onnx``
reads the file (checked by onnx.checker, nothing in it executed) into a network of neurons built
layer by layer: Conv2D, MaxPooling2D, Flatten and Dense, with the convolution's kernel and the
Dense layer's rows moved from ONNX's channels-first order to nngraph's channels-last one. The
network reads and writes ONNX's order, so the compiled plan takes the image as onnxruntime does,
flattened.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch

import nngraph
from nngraph.keras.summary import describe


def export_cnn(path: Path) -> torch.nn.Module:
    """A CNN for 1 x 12 x 12 images with random weights, written to ``path`` as ONNX."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, kernel_size=3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, kernel_size=3), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(6 * 2 * 2, 3), torch.nn.Softmax(dim=-1)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch announces its newer exporter, which needs onnxscript
        torch.onnx.export(net, torch.zeros(1, 1, 12, 12), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    return net


def main(folder: str = "out/import_onnx") -> float:
    """Export, import, compare and draw; return the largest difference from onnxruntime."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cnn.onnx"
    export_cnn(path)
    G = nngraph.from_onnx(path)
    print(describe(G, title="from_onnx(cnn.onnx)"))

    x = np.random.default_rng(0).normal(size=(8, 1, 12, 12)).astype(np.float32)
    expected = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    plan = nngraph.compile_network(G)
    difference = float(np.abs(plan(x.reshape(len(x), -1)) - expected).max())
    print(f"\nlargest difference from onnxruntime on {len(x)} images: {difference:.1e}")
    print(plan)

    trace = plan.trace(x[:1].reshape(1, -1))
    suffix = ".svg" if shutil.which("dot") else ".dot"
    drawn = nngraph.render(G, out / f"onnx_cnn_neurons{suffix}", trace=trace)
    print(f"\nwrote {drawn}")
    return difference


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/import_onnx")
