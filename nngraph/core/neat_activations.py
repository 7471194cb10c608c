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


def _clamped(z: np.ndarray, low: float, high: float, out: np.ndarray | None = None) -> np.ndarray:
    """``z`` clamped to ``[low, high]`` (NaN stays NaN, as ``np.clip`` keeps it), into ``out`` or a
    new array: two ufunc calls, without ``np.clip``'s Python-level wrapper."""
    out = np.asarray(np.maximum(z, low, out=out))  # an array even for a scalar ``z``
    return np.minimum(out, high, out=out)


def _clamped_times(z: np.ndarray, scale: float, bound: float = 60.0) -> np.ndarray:
    """``scale * z`` clamped to ±``bound``, in a new array the caller may compute in."""
    product = np.asarray(np.multiply(z, scale))  # an array even for a scalar ``z``: computed in place
    return _clamped(product, -bound, bound, out=product)


# Each function computes its formula in one new array, in place: a level of a population runs
# dozens of these over small blocks, where a temporary per step costs as much as the step.
# In-place steps do the same floating-point operations as the formula, so results are unchanged.


def neat_sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-5 z))``, ``5 z`` clamped to ±60."""
    t = _clamped_times(z, -5.0)  # -(5 z) clamped: the bound is symmetric
    np.exp(t, out=t)
    t += 1.0
    return np.divide(1.0, t, out=t)


def neat_tanh(z: np.ndarray) -> np.ndarray:
    """``tanh(2.5 z)``, ``2.5 z`` clamped to ±60."""
    t = _clamped_times(z, 2.5)
    return np.tanh(t, out=t)


def neat_sin(z: np.ndarray) -> np.ndarray:
    """``sin(5 z)``, ``5 z`` clamped to ±60."""
    t = _clamped_times(z, 5.0)
    return np.sin(t, out=t)


def neat_gauss(z: np.ndarray) -> np.ndarray:
    """``exp(-5 z²)``, ``z`` clamped to ±3.4."""
    t = _clamped(z, -3.4, 3.4)
    np.square(t, out=t)
    t *= -5.0
    return np.exp(t, out=t)


def neat_softplus(z: np.ndarray) -> np.ndarray:
    """``0.2 log(1 + exp(5 z))``, ``5 z`` clamped to ±60."""
    t = _clamped_times(z, 5.0)
    np.exp(t, out=t)
    t += 1.0
    np.log(t, out=t)
    t *= 0.2
    return t


def neat_clamped(z: np.ndarray) -> np.ndarray:
    """``z`` clamped to [-1, 1]."""
    return _clamped(z, -1.0, 1.0)


def neat_inv(z: np.ndarray) -> np.ndarray:
    """``1 / z``, and 0 where ``z`` is 0."""
    with np.errstate(divide="ignore"):
        return np.where(z == 0, np.zeros_like(z), 1.0 / z)


def neat_log(z: np.ndarray) -> np.ndarray:
    """``log(z)``, ``z`` at least 1e-7."""
    return np.log(np.maximum(z, 1e-7))


def neat_exp(z: np.ndarray) -> np.ndarray:
    """``exp(z)``, ``z`` clamped to ±60."""
    t = _clamped(z, -60.0, 60.0)
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

# The same formulas as the native kernel (``nngraph.compiler.native``) computes them: each function is
# an outer function of its argument ``t``, ``scale * z`` clamped to ``[low, high]`` (NaN stays NaN):
# name -> (outer, scale, low, high). The outer function is the registry activation of that kind
# (``sigmoid``, ``tanh``, ``exponential``, ``linear``) where one computes it (so neat_sigmoid's
# argument is ``5 z``, and ``1 / (1 + exp(-t))`` its value: the bound is symmetric, so ``t`` is
# exactly the negation of the one its function above clamps), else neat-python's own, by its
# formula. tests/test_native.py checks each against the function.
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

# neat-python's name -> the nngraph activation that computes it.
NEAT_ACTIVATIONS: dict[str, str] = {
    "sigmoid": "neat_sigmoid", "tanh": "neat_tanh", "sin": "neat_sin", "gauss": "neat_gauss",
    "relu": "relu", "elu": "elu", "lelu": "leaky_relu(alpha=0.005)", "selu": "selu",
    "softplus": "neat_softplus", "identity": "linear", "clamped": "neat_clamped", "inv": "neat_inv",
    "log": "neat_log", "exp": "neat_exp", "abs": "neat_abs", "hat": "neat_hat",
    "square": "neat_square", "cube": "neat_cube",
}
