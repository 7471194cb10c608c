"""Independent numpy references for the recurrent cells, written step by step from the published
equations (Hochreiter & Schmidhuber's LSTM with a forget gate, Cho et al.'s GRU in both of Keras'
conventions, Elman's simple RNN), with Keras' weight layout: ``kernel (features, gates * units)``,
``recurrent_kernel (units, gates * units)``, gate order LSTM i, f, c, o and GRU z, r, h.

They share nothing with nngraph. Inputs are ``(batch, timesteps, features)``; each returns the
hidden states of every step ``(batch, timesteps, units)`` in the order the steps ran, and a dict of
each gate over time, ``(batch, timesteps, units)``.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _steps(x: np.ndarray, go_backwards: bool) -> np.ndarray:
    return x[:, ::-1] if go_backwards else x


def simple_rnn(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, *,
               go_backwards: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``h_t = tanh(x_t W + h_{t-1} U + b)``, ``h_{-1} = 0``."""
    h = np.zeros((x.shape[0], recurrent.shape[0]))
    states = []
    for x_t in _steps(x, go_backwards).transpose(1, 0, 2):
        h = np.tanh(x_t @ kernel + h @ recurrent + bias)
        states.append(h)
    hidden = np.stack(states, axis=1)
    return hidden, {"hidden": hidden}


def lstm(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, *,
         go_backwards: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``i, f, o = σ(.)``, ``g = tanh(.)``, ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    gates: dict[str, list[np.ndarray]] = {name: [] for name in ("input", "forget", "candidate", "output",
                                                                 "cell", "hidden")}
    w = {name: (kernel[:, k * units:(k + 1) * units], recurrent[:, k * units:(k + 1) * units],
                bias[k * units:(k + 1) * units]) for k, name in enumerate(("i", "f", "c", "o"))}
    for x_t in _steps(x, go_backwards).transpose(1, 0, 2):
        pre = {name: x_t @ W + h @ U + b for name, (W, U, b) in w.items()}
        i, f, g, o = sigmoid(pre["i"]), sigmoid(pre["f"]), np.tanh(pre["c"]), sigmoid(pre["o"])
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in zip(gates, (i, f, g, o, c, h)):
            gates[name].append(value)
    stacked = {name: np.stack(values, axis=1) for name, values in gates.items()}
    return stacked["hidden"], stacked


def gru(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, *,
        reset_after: bool = True, go_backwards: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``z, r = σ(.)``; ``h~ = tanh(x W_h + r ⊙ (h U_h + b'_h) + b_h)`` (reset after) or
    ``tanh(x W_h + (r ⊙ h) U_h + b_h)``; ``h_t = z h_{t-1} + (1 - z) h~``."""
    units = recurrent.shape[0]
    if reset_after:
        input_bias, recurrent_bias = bias
    else:
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    part = lambda array, k: array[..., k * units:(k + 1) * units]  # noqa: E731
    h = np.zeros((x.shape[0], units))
    gates: dict[str, list[np.ndarray]] = {"update": [], "reset": [], "candidate": [], "hidden": []}
    for x_t in _steps(x, go_backwards).transpose(1, 0, 2):
        z = sigmoid(x_t @ part(kernel, 0) + part(input_bias, 0) + h @ part(recurrent, 0) + part(recurrent_bias, 0))
        r = sigmoid(x_t @ part(kernel, 1) + part(input_bias, 1) + h @ part(recurrent, 1) + part(recurrent_bias, 1))
        if reset_after:
            inner = r * (h @ part(recurrent, 2) + part(recurrent_bias, 2))
        else:
            inner = (r * h) @ part(recurrent, 2)
        candidate = np.tanh(x_t @ part(kernel, 2) + part(input_bias, 2) + inner)
        h = z * h + (1.0 - z) * candidate
        for name, value in zip(gates, (z, r, candidate, h)):
            gates[name].append(value)
    stacked = {name: np.stack(values, axis=1) for name, values in gates.items()}
    return stacked["hidden"], stacked
