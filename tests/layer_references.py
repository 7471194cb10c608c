"""Independent numpy references for the layer kinds, written from their definitions.

They share nothing with nngraph: each pads its input explicitly (``numpy.pad``) the way Keras
(and TensorFlow) describe ``same`` padding, then walks the output positions one by one and
reads each window with plain slicing. Inputs are ``(batch, *spatial, channels)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def same_padding(size: int, window: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``SAME``: ``ceil(size / stride)`` outputs; the padding they need, split with the
    odd cell after."""
    out = math.ceil(size / stride)
    extent = (window - 1) * dilation + 1
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def _pads(spatial: tuple[int, ...], window: tuple[int, ...], strides: tuple[int, ...],
          dilation: tuple[int, ...], padding: str | tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    if not isinstance(padding, str):  # explicit (before, after) cells per axis, as PyTorch gives them
        return list(padding)
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, window, strides, dilation)]


def _outputs(padded: tuple[int, ...], window: tuple[int, ...], strides: tuple[int, ...],
             dilation: tuple[int, ...]) -> tuple[int, ...]:
    return tuple((n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(padded, window, strides, dilation))


def conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, *, strides: tuple[int, ...],
         padding: str | tuple[tuple[int, int], ...], dilation: tuple[int, ...]) -> np.ndarray:
    """Keras' Conv1D/2D (cross-correlation, channels last), before the activation."""
    rank = x.ndim - 2
    window = kernel.shape[:rank]
    pads = _pads(x.shape[1:-1], window, strides, dilation, padding)
    padded = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_shape = _outputs(padded.shape[1:-1], window, strides, dilation)
    out = np.zeros((x.shape[0], *out_shape, kernel.shape[-1]))
    for position in itertools.product(*map(range, out_shape)):
        cells = tuple(slice(p * s, p * s + (k - 1) * d + 1, d)
                      for p, s, k, d in zip(position, strides, window, dilation))
        patch = padded[(slice(None), *cells, slice(None))]  # (batch, *window, in)
        out[(slice(None), *position, slice(None))] = np.tensordot(patch, kernel, axes=rank + 1)
    return out if bias is None else out + bias


def pool(x: np.ndarray, *, size: tuple[int, ...], strides: tuple[int, ...],
         padding: str | tuple[tuple[int, int], ...], mode: str, count_include_pad: bool = False) -> np.ndarray:
    """Keras' Max/AveragePooling1D/2D: padding cells take no part in the max or the mean (unless
    ``count_include_pad``: zeros in the mean, as PyTorch's default)."""
    rank = x.ndim - 2
    pads = _pads(x.shape[1:-1], size, strides, (1,) * rank, padding)
    padded = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=0.0 if count_include_pad else np.nan)
    out_shape = _outputs(padded.shape[1:-1], size, strides, (1,) * rank)
    out = np.zeros((x.shape[0], *out_shape, x.shape[-1]))
    reduce = np.nanmax if mode == "max" else np.nanmean
    for position in itertools.product(*map(range, out_shape)):
        cells = tuple(slice(p * s, p * s + k) for p, s, k in zip(position, strides, size))
        patch = padded[(slice(None), *cells, slice(None))].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *position, slice(None))] = reduce(patch, axis=1)
    return out


def global_pool(x: np.ndarray, *, mode: str) -> np.ndarray:
    """Keras' GlobalMax/GlobalAveragePooling: over every spatial axis, channel by channel."""
    axes = tuple(range(1, x.ndim - 1))
    return x.max(axis=axes) if mode == "max" else x.mean(axis=axes)


def batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, variance: np.ndarray,
               epsilon: float) -> np.ndarray:
    """Inference BatchNormalization over the last axis."""
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float) -> np.ndarray:
    """LayerNormalization over the last axis."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": lambda z: np.exp(z - z.max(axis=-1, keepdims=True))
    / np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True),
}


def assert_close(got: np.ndarray, expected: np.ndarray, *, dtype: type = np.float64) -> None:
    """float64 within 1e-12 relative, float32 within 1e-5, with as much absolute slack for values
    near zero (which a different order of additions may leave at a tiny nonzero)."""
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
