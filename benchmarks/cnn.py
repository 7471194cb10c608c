"""The convolutional networks of the benchmarks, and their PyTorch twins.

``lenet5`` is ``examples/lenet5.py``'s; ``cifar_cnn`` is a small CIFAR-style network of about
50,000 neurons and 4.5 million connections. ``torch_twin`` builds the same network in PyTorch
(the ``bench`` extra) with the same weights: Keras' channels-last layout is turned into PyTorch's
channels-first at the input and back before ``Flatten``, so that the dense layers read the
features in Keras' order. ``onnx_twin`` exports that twin to onnxruntime, where installed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from lenet5 import lenet5

from nngraph.layers import AveragePooling2D, Conv2D, Dense, Flatten, Input, MaxPooling2D
from nngraph.models import Sequential

__all__ = ["cifar_cnn", "lenet5", "onnx_twin", "torch_twin"]


def cifar_cnn(seed: int = 0) -> Sequential:
    """32x32x3 -> Conv2D 32@3x3 -> pool -> Conv2D 64@3x3 -> pool -> Dense 256 -> Dense 10."""
    return Sequential([
        Input(shape=(32, 32, 3)),
        Conv2D(32, 3, activation="relu"), AveragePooling2D(2),
        Conv2D(64, 3, activation="relu"), AveragePooling2D(2),
        Flatten(), Dense(256, activation="relu"), Dense(10, activation="softmax"),
    ], name="cifar_cnn", seed=seed)


def torch_twin(model: Sequential, dtype: type = np.float32) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model in PyTorch eager mode with the same weights, taking and giving numpy arrays of
    Keras' shapes; ``None`` without torch. Knows Conv2D, Max/AveragePooling2D, Flatten and Dense."""
    try:
        import torch
    except ImportError:
        return None
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64

    def tensor(array: np.ndarray) -> object:
        return torch.tensor(np.ascontiguousarray(array), dtype=torch_dtype)

    class ChannelsFirst(torch.nn.Module):
        def forward(self, x: object) -> object:
            return x.permute(0, 3, 1, 2)  # type: ignore[attr-defined]

    class ChannelsLast(torch.nn.Module):
        def forward(self, x: object) -> object:
            return x.permute(0, 2, 3, 1)  # type: ignore[attr-defined]

    modules: list[object] = [ChannelsFirst()]
    activations = {"relu": torch.nn.ReLU, "softmax": lambda: torch.nn.Softmax(dim=1), "linear": torch.nn.Identity}
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            kernel, bias = layer.get_weights()
            conv = torch.nn.Conv2d(kernel.shape[2], layer.filters, layer.kernel_size, stride=layer.strides,
                                   dtype=torch_dtype)
            conv.weight.data, conv.bias.data = tensor(kernel.transpose(3, 2, 0, 1)), tensor(bias)
            modules += [conv, activations[layer.activation]()]
        elif isinstance(layer, (AveragePooling2D, MaxPooling2D)):
            pool = torch.nn.AvgPool2d if isinstance(layer, AveragePooling2D) else torch.nn.MaxPool2d
            modules.append(pool(layer.pool_size, stride=layer.strides))
        elif isinstance(layer, Flatten):
            modules += [ChannelsLast(), torch.nn.Flatten()]
        elif isinstance(layer, Dense):
            kernel, bias = layer.get_weights()
            linear = torch.nn.Linear(*kernel.shape, dtype=torch_dtype)
            linear.weight.data, linear.bias.data = tensor(kernel.T), tensor(bias)
            modules += [linear, activations[layer.activation]()]
        else:
            raise TypeError(f"no PyTorch twin for {layer.kind}")
    net = torch.nn.Sequential(*modules).eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    run.module = net  # type: ignore[attr-defined]
    return run


def onnx_twin(model: Sequential, *, threads: int) -> Callable[[np.ndarray], np.ndarray] | None:
    """The PyTorch twin exported to ONNX and run by onnxruntime (float32); ``None`` when torch,
    onnx or onnxruntime is missing, or the export fails."""
    twin = torch_twin(model)
    try:
        import io

        import onnxruntime
        import torch
    except ImportError:
        return None
    if twin is None:
        return None
    example = torch.zeros((1, *model.input_shape[1:]), dtype=torch.float32)
    buffer = io.BytesIO()
    try:
        torch.onnx.export(twin.module, (example,), buffer, input_names=["x"], output_names=["y"],  # type: ignore[attr-defined]
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
    except Exception:  # noqa: BLE001 - an exporter that cannot run here only drops a column
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"x": x})[0]

    return run
