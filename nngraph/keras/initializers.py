"""Keras' weight initialisers by name, drawing from a numpy ``Generator`` so seeds reproduce weights."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nngraph.errors import LayerError

Initializer = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras' fan-in and fan-out of a weight of ``shape``: a kernel ``(..., inputs, outputs)`` counts
    its window too, so a Conv2D kernel ``(kh, kw, in, filters)`` has fan-in ``kh * kw * in``.

    Examples
    --------
    >>> fans((8, 6)), fans((5, 5, 1, 6)), fans((6,))
    ((8, 6), (25, 150), (6, 6))
    """
    if len(shape) == 1:
        return shape[0], shape[0]
    window = math.prod(shape[:-2])
    return shape[-2] * window, shape[-1] * window


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    # Keras truncates at two standard deviations and rescales so the spread stays `stddev`.
    scale = stddev / 0.87962566103423978
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values * scale


def _orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Keras' ``Orthogonal`` (gain 1): the Q of a normal matrix's QR, signs fixed by R's diagonal;
    the default of recurrent kernels."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (q.T if rows < cols else q).reshape(shape)


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def initialize(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        fan_in, fan_out = fans(shape)
        fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return rng.uniform(-limit, limit, size=shape)
        return _truncated_normal(rng, shape, math.sqrt(variance))
    return initialize


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "normal"),
    "orthogonal": _orthogonal,
    "zeros": lambda rng, shape: np.zeros(shape),
    "ones": lambda rng, shape: np.ones(shape),
}


def get_initializer(name: str, *, argument: str = "initializer") -> Initializer:
    """Return the initialiser called ``name``; ``argument`` names the parameter in the error."""
    if name not in INITIALIZERS:
        raise LayerError(f"{argument}: unknown initializer {name!r}; known: {', '.join(sorted(INITIALIZERS))}")
    return INITIALIZERS[name]
