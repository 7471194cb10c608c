"""The activation registry: a neuron stores a name, and both executors look the function up here.

Names follow Keras (``relu``, ``sigmoid``, ``softmax``, ...); common aliases are
accepted (``identity``, ``logistic``, ``silu``, ``leaky-relu``, ``exp``, any case). neat-python's own
functions, which scale and clamp their argument, are there too, prefixed ``neat_``
(``neat_sigmoid``, ``neat_gauss``, ...; see ``nngraph.core.neat_activations``).
A parameter is written in the name: ``"leaky_relu(alpha=0.1)"``, ``"elu(alpha=0.5)"``,
``"hard_sigmoid(alpha=0.2)"`` (``clip(alpha * z + beta, 0, 1)``, Keras 3's ``alpha=1/6, beta=0.5`` by
default), ``"selu(alpha=1.6732632, scale=1.050701)"``, ``"softplus(beta=2.0, threshold=20.0)"``
(PyTorch's ``Softplus``: linear where ``beta z > threshold``; plain ``softplus`` has no threshold, as Keras').

Every function is vectorised and keeps the dtype of its argument. Element-wise
functions accept any shape. Group-wise functions normalise over the last axis,
which holds the weighted sums of the neurons of one group (their ``layer``):
``softmax``, and ``layer_norm``, ``(z - mean) / sqrt(variance + epsilon)`` over
the group (Keras' LayerNormalization before its scale and shift; ``epsilon``
defaults to Keras' 1e-3).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from nngraph.core.neat_activations import REGISTERED as NEAT_REGISTERED
from nngraph.errors import UnknownActivationError

ArrayFunction = Callable[[np.ndarray], np.ndarray]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class Activation:
    """A resolved activation: its canonical ``name`` (parameters included) and its function."""

    name: str
    kind: str
    function: ArrayFunction = field(repr=False, compare=False)
    group_wise: bool = False
    params: tuple[tuple[str, float], ...] = ()

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.function(z)


def _linear(z: np.ndarray) -> np.ndarray:
    return z


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def _leaky_relu(z: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(z > 0, z, alpha * z)


def _elu(z: np.ndarray, alpha: float) -> np.ndarray:
    # expm1 on the clipped sum only: the positive branch never overflows.
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def _selu(z: np.ndarray, alpha: float, scale: float) -> np.ndarray:
    # Parameters for ONNX's Selu, whose attributes hold the constants rounded to float32.
    return scale * _elu(z, alpha)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return special.expit(z)


def _hard_sigmoid(z: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    # Keras 3's definition, relu6(x + 3) / 6, with its slope and offset as parameters: ONNX's
    # HardSigmoid (and Keras 2's) is alpha=0.2, beta=0.5.
    return np.clip(alpha * z + beta, 0, 1)


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def _softplus(z: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    # PyTorch's form: log(1 + exp(beta z)) / beta, and z itself where beta z > threshold; the
    # defaults (beta 1, no threshold) are Keras' softplus.
    with np.errstate(invalid="ignore"):  # NaN inputs propagate quietly, as in every other activation
        if beta == 1.0 and math.isinf(threshold):
            return np.logaddexp(0, z)
        scaled = beta * z
        return np.where(scaled > threshold, z, np.logaddexp(0, scaled) / beta)


def _exponential(z: np.ndarray) -> np.ndarray:
    # Unbounded by nature (a Poisson regressor's output): past about 709 it overflows to inf, quietly,
    # as IEEE arithmetic does everywhere else in nngraph.
    with np.errstate(over="ignore"):
        return np.exp(z)


def _softsign(z: np.ndarray) -> np.ndarray:
    return z / (1 + np.abs(z))


def _gelu(z: np.ndarray) -> np.ndarray:
    # The exact form (Keras' default, approximate=False).
    return 0.5 * z * (1 + special.erf(z / math.sqrt(2)))


def _swish(z: np.ndarray) -> np.ndarray:
    return z * special.expit(z)


def _softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def _layer_norm(z: np.ndarray, epsilon: float) -> np.ndarray:
    # Two passes (mean, then the mean square about it), which stay accurate when the mean is large.
    centered = z - np.mean(z, axis=-1, keepdims=True)
    variance = np.mean(centered * centered, axis=-1, keepdims=True)
    return centered / np.sqrt(variance + epsilon)


# canonical name -> (function taking z and the parameters, default parameters, group-wise)
_REGISTRY: dict[str, tuple[Callable[..., np.ndarray], dict[str, float], bool]] = {
    "linear": (_linear, {}, False),
    "relu": (_relu, {}, False),
    "leaky_relu": (_leaky_relu, {"alpha": 0.2}, False),
    "elu": (_elu, {"alpha": 1.0}, False),
    "selu": (_selu, {"alpha": SELU_ALPHA, "scale": SELU_SCALE}, False),
    "sigmoid": (_sigmoid, {}, False),
    "hard_sigmoid": (_hard_sigmoid, {"alpha": 1 / 6, "beta": 0.5}, False),
    "tanh": (_tanh, {}, False),
    "softplus": (_softplus, {"beta": 1.0, "threshold": math.inf}, False),
    "softsign": (_softsign, {}, False),
    "exponential": (_exponential, {}, False),
    "gelu": (_gelu, {}, False),
    "swish": (_swish, {}, False),
    "softmax": (_softmax, {}, True),
    "layer_norm": (_layer_norm, {"epsilon": 1e-3}, True),
}
# neat-python's functions that the names above do not compute (``nngraph.core.neat_activations``).
_REGISTRY.update({name: (function, {}, False) for name, function in NEAT_REGISTERED.items()})

ALIASES = {
    "identity": "linear",
    "none": "linear",
    "logistic": "sigmoid",
    "silu": "swish",
    "leakyrelu": "leaky_relu",
    "lrelu": "leaky_relu",
    "hardsigmoid": "hard_sigmoid",
    "exp": "exponential",
}

_SPEC = re.compile(r"^\s*([A-Za-z_][\w\-]*)\s*(?:\((.*)\))?\s*$")


def known_activations() -> list[str]:
    """Return the canonical activation names, sorted."""
    return sorted(_REGISTRY)


def _unknown(spec: object, node: Hashable | None, why: str = "unknown activation") -> UnknownActivationError:
    where = f"neuron {node!r}: " if node is not None else ""
    known = known_activations()
    return UnknownActivationError(
        f"{where}{why} {spec!r}; known: {', '.join(known)} "
        "(parameters as in 'leaky_relu(alpha=0.1)')",
        activation=spec, known=known, node=node)


def _parse_params(spec: str, text: str | None, defaults: dict[str, float],
                  node: Hashable | None) -> dict[str, float]:
    params = dict(defaults)
    if not text or not text.strip():
        return params
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in defaults:
            raise _unknown(spec, node, f"bad parameter {item.strip()!r} in activation")
        try:
            number = float(value)
        except ValueError:
            raise _unknown(spec, node, f"non-numeric parameter {item.strip()!r} in activation") from None
        if not math.isfinite(number):
            raise _unknown(spec, node, f"non-finite parameter {item.strip()!r} in activation")
        params[key] = number
    return params


@functools.lru_cache(maxsize=256)
def _resolve(spec: str) -> Activation:
    match = _SPEC.match(spec)
    if match is None:
        raise _unknown(spec, None)
    base = match.group(1).lower().replace("-", "_")
    base = ALIASES.get(base.replace("_", ""), ALIASES.get(base, base))
    if base not in _REGISTRY:
        raise _unknown(spec, None)
    function, defaults, group_wise = _REGISTRY[base]
    params = _parse_params(spec, match.group(2), defaults, None)
    if params.get("beta", 1.0) <= 0:  # softplus divides by it
        raise _unknown(spec, None, "beta must be positive in activation")
    changed = [(key, value) for key, value in params.items() if value != defaults[key]]
    name = base + ("(" + ", ".join(f"{k}={v!r}" for k, v in changed) + ")" if changed else "")
    bound = functools.partial(function, **params) if params else function
    return Activation(name=name, kind=base, function=bound, group_wise=group_wise,
                      params=tuple(sorted(params.items())))


def resolve_activation(spec: object, *, node: Hashable | None = None) -> Activation:
    """Return the ``Activation`` that ``spec`` names, or raise ``UnknownActivationError``.

    ``node`` only serves the error message, which names the neuron at fault.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_activation("ReLU")(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> resolve_activation("leaky_relu(alpha=0.1)").name
    'leaky_relu(alpha=0.1)'
    """
    if not isinstance(spec, str):
        raise _unknown(spec, node, "activation must be a name (str), got")
    try:
        return _resolve(spec)
    except UnknownActivationError as error:
        if node is None:
            raise
        raise UnknownActivationError(f"neuron {node!r}: {error}", activation=spec,
                                     known=error.known, node=node) from None


def canonical_activation(spec: object) -> str:
    """Return the canonical name of ``spec`` (``"ReLU"`` -> ``"relu"``), so equal functions compare equal."""
    return resolve_activation(spec).name
