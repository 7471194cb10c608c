"""Round trips: a model built in another library, imported, exported with ``to_onnx`` and run by
onnxruntime computes what the library computes (float32, 1e-5). One model per importer, with the layer
kinds each brings in. A dense network's ONNX file also reads back with ``from_onnx``; convolutions,
pooling and recurrent layers export through the plan's ops (gathers, reductions), which ``from_onnx``,
a reader of chains of layer ops, refuses by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import onnxruntime
import pytest
import torch
from sklearn.neural_network import MLPClassifier
from torch import nn

import nngraph

RTOL = ATOL = 1e-5


def keras_cnn() -> tuple[object, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((10, 10, 2)), keras.layers.Conv2D(3, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(4, 10, 10, 2)).astype(np.float32)
    return nngraph.from_keras(model), x.reshape(4, -1), model.predict(x, verbose=0)


def keras_lstm() -> tuple[object, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(8)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(2)])
    x = np.random.default_rng(1).normal(size=(3, 5, 3)).astype(np.float32)
    return nngraph.from_keras(model), x.reshape(3, -1), model.predict(x, verbose=0)


def torch_cnn() -> tuple[object, np.ndarray, np.ndarray]:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.AvgPool2d(2),
                           nn.Flatten(), nn.Linear(3 * 4 * 4, 4), nn.Softmax(dim=-1)).eval()
    x = np.random.default_rng(2).normal(size=(3, 2, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    return nngraph.from_torch(module, (2, 8, 8)), x.reshape(3, -1), expected


def torch_gru() -> tuple[object, np.ndarray, np.ndarray]:
    torch.manual_seed(1)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(3, 4, batch_first=True)
            self.out = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            sequence, _ = self.gru(x)
            return self.out(sequence[:, -1])

    module = Net().eval()
    x = np.random.default_rng(3).normal(size=(3, 6, 3)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    return nngraph.from_torch(module, (6, 3)), x.reshape(3, -1), expected


def sklearn_mlp() -> tuple[object, np.ndarray, np.ndarray]:
    x = np.random.default_rng(4).normal(size=(60, 5))
    y = np.argmax(x[:, :3], axis=1)
    clf = MLPClassifier(hidden_layer_sizes=(7,), activation="tanh", max_iter=300, random_state=0).fit(x, y)
    return nngraph.from_sklearn(clf), x[:8].astype(np.float32), clf.predict_proba(x[:8])


SOURCES: dict[str, Callable[[], tuple[object, np.ndarray, np.ndarray]]] = {
    "keras cnn": keras_cnn, "keras lstm": keras_lstm, "torch cnn": torch_cnn, "torch gru": torch_gru,
    "sklearn mlp": sklearn_mlp}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("source", SOURCES)
def test_import_export_run_and_import_again(source: str, tmp_path: Path) -> None:
    G, x, expected = SOURCES[source]()
    path = tmp_path / "model.onnx"
    nngraph.to_onnx(G, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, expected.reshape(len(x), -1), rtol=RTOL, atol=ATOL)
    if source == "sklearn mlp":  # Gemm and activations: a chain of layers that from_onnx reads back
        again = nngraph.from_onnx(path)
        np.testing.assert_allclose(nngraph.compile_network(again, dtype=np.float32)(x), got, rtol=RTOL, atol=ATOL)
