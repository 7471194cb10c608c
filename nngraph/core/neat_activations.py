"""neat-python's activation functions, vectorised, so that a NEAT genome is an nngraph network as it is.

neat-python scales and clamps the weighted sum inside several of its functions (its sigmoid is
``1 / (1 + exp(-5 z))`` with ``5 z`` clamped to ±60, its tanh is ``tanh(2.5 z)``), so they are not
Keras' functions. Those whose formula nngraph's registry lacks are registered under neat-python's
name with the prefix ``neat_`` and its exact formula; the others map to the registry's own
(``relu``, ``identity`` -> ``linear``, ``lelu`` -> ``leaky_relu(alpha=0.005)``, ``elu``, ``selu``).
``NEAT_ACTIVATIONS`` maps every neat-python name to the nngraph name that computes it.

One rule of nngraph's differs on purpose: a NaN weighted sum gives NaN (neat-python's clamps turn it
into a number), as every other activation does; on numbers the results are neat-python's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


# The same formulas as the native kernel (``nngraph.compiler.native``) computes them: each function is
# an outer function of its argument ``t``, ``scale * z`` clamped to ``[low, high]`` (NaN stays NaN):
# name -> (outer, scale, low, high). The outer function is the registry activation of that kind
# (``sigmoid``, ``tanh``, ``exponential``, ``linear``) where one computes it (so neat_sigmoid's
# argument is ``5 z``, and ``1 / (1 + exp(-t))`` its value: the bound is symmetric, so ``t`` is
# exactly the negation of the one its function below clamps), else neat-python's own, by its
# formula. The one source of the scales and bounds: the functions below read theirs here
# (``_argument``). tests/test_native.py checks each form against its function.
CLAMPED_FORMS: dict[str, tuple[str, float, float, float]] = {
    "neat_sigmoid": ("sigmoid", 5.0, -60.0, 60.0),
    "neat_tanh": ("tanh", 2.5, -60.0, 60.0),
    "neat_sin": ("sin(t)", 5.0, -60.0, 60.0),
    "neat_gauss": ("exp(-5 t**2)", 1.0, -3.4, 3.4),
    "neat_softplus": ("0.2 log(1 + exp(t))", 5.0, -60.0, 60.0),
    "neat_clamped": ("linear", 1.0, -1.0, 1.0),
    "neat_inv": ("1 / t, 0 at 0", 1.0, -math.inf, math.inf),
    "neat_log": ("log(t)", 1.0, 1e-7, math.inf),
    "neat_exp": ("exponential", 1.0, -60.0, 60.0),
    "neat_abs": ("|t|", 1.0, -math.inf, math.inf),
    "neat_hat": ("max(0, 1 - |t|)", 1.0, -math.inf, math.inf),
    "neat_square": ("t**2", 1.0, -math.inf, math.inf),
    "neat_cube": ("t**3", 1.0, -math.inf, math.inf),
}


def _argument(name: str, z: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """``sign * scale * z`` clamped to ``sign`` times ``[low, high]`` of ``CLAMPED_FORMS[name]`` (NaN
    stays NaN, as ``np.clip`` keeps it), in a new array the caller may compute in: one ufunc call a
    step the form has (no multiply for a scale of 1, no clamp for an infinite bound), without
    ``np.clip``'s Python-level wrapper. (A form without a scale or bound would return ``z`` itself:
    none calls it.)"""
    _, scale, low, high = CLAMPED_FORMS[name]
    low, high = (low, high) if sign > 0 else (-high, -low)
    t = np.asarray(z if sign * scale == 1.0 else np.multiply(z, sign * scale))  # an array even for a scalar
    if low > -math.inf:
        t = np.asarray(np.maximum(t, low, out=None if t is z else t))
    if high < math.inf:
        t = np.asarray(np.minimum(t, high, out=None if t is z else t))
    return t


# Each function computes its formula in one new array, in place: a level of a population runs
# dozens of these over small blocks, where a temporary per step costs as much as the step.
# In-place steps do the same floating-point operations as the formula, so results are unchanged.


def neat_sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-5 z))``, ``5 z`` clamped to ±60."""
    t = _argument("neat_sigmoid", z, sign=-1.0)  # -(5 z) clamped: the bound is symmetric
    np.exp(t, out=t)
    t += 1.0
    return np.divide(1.0, t, out=t)


def neat_tanh(z: np.ndarray) -> np.ndarray:
    """``tanh(2.5 z)``, ``2.5 z`` clamped to ±60."""
    t = _argument("neat_tanh", z)
    return np.tanh(t, out=t)


def neat_sin(z: np.ndarray) -> np.ndarray:
    """``sin(5 z)``, ``5 z`` clamped to ±60."""
    t = _argument("neat_sin", z)
    return np.sin(t, out=t)


def neat_gauss(z: np.ndarray) -> np.ndarray:
    """``exp(-5 z²)``, ``z`` clamped to ±3.4."""
    t = _argument("neat_gauss", z)
    np.square(t, out=t)
    t *= -5.0
    return np.exp(t, out=t)


def neat_softplus(z: np.ndarray) -> np.ndarray:
    """``0.2 log(1 + exp(5 z))``, ``5 z`` clamped to ±60."""
    t = _argument("neat_softplus", z)
    np.exp(t, out=t)
    t += 1.0
    np.log(t, out=t)
    t *= 0.2
    return t


def neat_clamped(z: np.ndarray) -> np.ndarray:
    """``z`` clamped to [-1, 1]."""
    return _argument("neat_clamped", z)


def neat_inv(z: np.ndarray) -> np.ndarray:
    """``1 / z``, and 0 where ``z`` is 0."""
    with np.errstate(divide="ignore"):
        return np.where(z == 0, np.zeros_like(z), 1.0 / z)


def neat_log(z: np.ndarray) -> np.ndarray:
    """``log(z)``, ``z`` at least 1e-7."""
    t = _argument("neat_log", z)
    return np.log(t, out=t)


def neat_exp(z: np.ndarray) -> np.ndarray:
    """``exp(z)``, ``z`` clamped to ±60."""
    t = _argument("neat_exp", z)
    return np.exp(t, out=t)


def neat_abs(z: np.ndarray) -> np.ndarray:
    """``|z|``."""
    return np.abs(z)


def neat_hat(z: np.ndarray) -> np.ndarray:
    """``max(0, 1 - |z|)``."""
    return np.maximum(1.0 - np.abs(z), 0.0)


def neat_square(z: np.ndarray) -> np.ndarray:
    """``z²``."""
    return z ** 2


def neat_cube(z: np.ndarray) -> np.ndarray:
    """``z³``."""
    return z ** 3


# nngraph name -> function, for the registry of ``nngraph.core.activations``.
REGISTERED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    function.__name__: function for function in (
        neat_sigmoid, neat_tanh, neat_sin, neat_gauss, neat_softplus, neat_clamped, neat_inv,
        neat_log, neat_exp, neat_abs, neat_hat, neat_square, neat_cube)
}

# neat-python's name -> the nngraph activation that computes it.
NEAT_ACTIVATIONS: dict[str, str] = {
    "sigmoid": "neat_sigmoid", "tanh": "neat_tanh", "sin": "neat_sin", "gauss": "neat_gauss",
    "relu": "relu", "elu": "elu", "lelu": "leaky_relu(alpha=0.005)", "selu": "selu",
    "softplus": "neat_softplus", "identity": "linear", "clamped": "neat_clamped", "inv": "neat_inv",
    "log": "neat_log", "exp": "neat_exp", "abs": "neat_abs", "hat": "neat_hat",
    "square": "neat_square", "cube": "neat_cube",
}
