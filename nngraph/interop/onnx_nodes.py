"""ONNX nodes for nngraph's activations and aggregations, and the small graph builder that holds them.

``OnnxGraph`` collects nodes and initializers under names it generates itself (``matmul_3``,
``w_0``, ...): no name from a network reaches the ONNX graph, where names must be identifiers.
``activation_nodes`` computes every activation of ``nngraph.core.activations`` (neat-python's
included) and ``aggregation_nodes`` every aggregation of ``nngraph.core.aggregations``, each from
the same formula as the registry's numpy function, written with basic operators (``Exp``,
``Where``, ``Clip``, ``ReduceMax``, ...) that onnxruntime runs in float32 and float64 alike, so that
both agree with the plan as closely as its dtype allows (onnxruntime has no float64 ``Erf``, for
one: ``_erf`` says what replaces it). A function with no formula here is refused by name
(``InteropError``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy import special

from nngraph.core.activations import resolve_activation
from nngraph.core.neat_activations import CLAMPED_FORMS
from nngraph.errors import InteropError

REDUCE_AXES_AS_INPUT = 18  # the opset from which every Reduce* takes its axes as an input (ReduceSum: 13)


class OnnxGraph:
    """The nodes and initializers of one ONNX graph, in ``dtype``, for ``opset``; ``onnx`` the module.

    ``add`` appends a node and returns the name of its (first) output; ``constant`` adds an
    initializer (scalars of one value are stored once).
    """

    def __init__(self, onnx: Any, *, dtype: np.dtype, opset: int) -> None:
        self.onnx = onnx
        self.dtype = dtype
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: dict[str, int] = {}
        self._scalars: dict[tuple[str, bytes], str] = {}

    def fresh(self, stem: str) -> str:
        """A name not used yet in the graph: ``stem`` and a number."""
        number = self._used.get(stem, 0)
        self._used[stem] = number + 1
        return f"{stem}_{number}"

    def constant(self, value: Any, *, stem: str = "c", dtype: Any = None) -> str:
        """An initializer holding ``value`` (in the graph's dtype unless ``dtype`` says otherwise)."""
        array = np.ascontiguousarray(np.asarray(value, dtype=self.dtype if dtype is None else dtype))
        key = (array.dtype.str, array.tobytes()) if array.ndim == 0 else None
        if key is not None and key in self._scalars:
            return self._scalars[key]
        name = self.fresh(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        if key is not None:
            self._scalars[key] = name
        return name

    def indices(self, value: Any, *, stem: str = "i") -> str:
        """An int64 initializer, for gathers, shapes and axes."""
        return self.constant(value, stem=stem, dtype=np.int64)

    def add(self, op_type: str, inputs: Sequence[str], *, output: str | None = None, unused_outputs: int = 0,
            **attributes: Any) -> str:
        """Append an ``op_type`` node reading ``inputs``; return its (first) output's name.
        ``unused_outputs`` more outputs are named for operators that must have them (TopK's indices)."""
        name = output or self.fresh(op_type.lower())
        outputs = [name] + [self.fresh(f"{name}_unused") for _ in range(unused_outputs)]
        node = self.onnx.helper.make_node(op_type, list(inputs), outputs, name=name, **attributes)
        self.nodes.append(node)
        return name

    def reduce(self, op_type: str, x: str, *, axis: int, keepdims: bool = False) -> str:
        """``op_type`` (``ReduceSum``, ``ReduceMax``, ...) over one axis, in the opset's own form."""
        if self.opset >= REDUCE_AXES_AS_INPUT or op_type == "ReduceSum":
            return self.add(op_type, [x, self.indices([axis])], keepdims=int(keepdims))
        return self.add(op_type, [x], axes=[axis], keepdims=int(keepdims))

    # Element-wise arithmetic, with Python numbers as scalar constants.
    def binary(self, op_type: str, left: str | float, right: str | float) -> str:
        """``op_type`` (``Add``, ``Mul``, ...) of two tensors or numbers (numbers become constants)."""
        return self.add(op_type, [self._tensor(left), self._tensor(right)])

    def clip(self, x: str, low: float, high: float) -> str:
        """``x`` clamped to ``[low, high]``."""
        return self.add("Clip", [x, self.constant(low), self.constant(high)])

    def _tensor(self, value: str | float) -> str:
        return value if isinstance(value, str) else self.constant(value)


Formula = Callable[..., str]


def _elu(g: OnnxGraph, z: str, alpha: float) -> str:
    # z where z > 0, alpha * (exp(min(z, 0)) - 1) elsewhere, as the registry's _elu.
    negative = g.binary("Sub", g.add("Exp", [g.binary("Min", z, 0.0)]), 1.0)
    return g.add("Where", [g.binary("Greater", z, 0.0), z, g.binary("Mul", negative, alpha)])


def _softplus(g: OnnxGraph, z: str, beta: float = 1.0, threshold: float = math.inf) -> str:
    # log(1 + exp(u)) = max(u, 0) + log(1 + exp(-|u|)) for u = beta z: never overflows, as numpy's
    # logaddexp; divided by beta, and z itself where beta z > threshold (PyTorch's Softplus).
    u = z if beta == 1.0 else g.binary("Mul", z, beta)
    tail = g.add("Log", [g.binary("Add", g.add("Exp", [g.add("Neg", [g.add("Abs", [u])])]), 1.0)])
    value = g.binary("Add", g.binary("Max", u, 0.0), tail)
    if beta != 1.0:
        value = g.binary("Div", value, beta)
    if math.isinf(threshold):
        return value
    return g.add("Where", [g.binary("Greater", u, threshold), z, value])


ERF_REACH = 6.0  # erf(6) is 1 - 2e-17: 1.0 in float64
ERF_PIECE = 1.0  # the width of each piece of [-6, 6] that a polynomial covers
ERF_DEGREE = 18  # of each piece's polynomial: within 1e-14 of scipy's erf


def erf_pieces() -> tuple[np.ndarray, np.ndarray]:
    """The pieces' centres and the coefficients of their polynomials in ``s = (x - centre) / half
    width`` (``(pieces, ERF_DEGREE + 1)``, lowest power first), Chebyshev interpolants of scipy's erf.

    Examples
    --------
    >>> centres, coefficients = erf_pieces()
    >>> centres[:2].tolist(), coefficients.shape
    ([-5.5, -4.5], (12, 19))
    """
    half = ERF_PIECE / 2
    centres = -ERF_REACH + half + ERF_PIECE * np.arange(round(2 * ERF_REACH / ERF_PIECE))
    coefficients = np.array([chebyshev.cheb2poly(chebyshev.chebinterpolate(
        lambda s, centre=centre: special.erf(centre + half * s), ERF_DEGREE)) for centre in centres])
    return centres, coefficients


def _erf(g: OnnxGraph, x: str) -> str:
    """``erf(x)``: the ``Erf`` operator in float32. In float64, for which onnxruntime has no ``Erf``,
    piecewise polynomials over ``[-6, 6]`` (``x`` clamped there; ``erf_pieces``): each ``x`` gathers
    its piece's centre and coefficients, and one ``Pow`` and one sum evaluate the polynomial."""
    if g.dtype == np.float32:
        return g.add("Erf", [x])
    centres, coefficients = erf_pieces()
    clamped = g.clip(x, -ERF_REACH, ERF_REACH)
    piece = g.add("Cast", [g.add("Floor", [g.binary("Div", g.binary("Add", clamped, ERF_REACH), ERF_PIECE)])],
                  to=g.onnx.TensorProto.INT64)
    piece = g.add("Clip", [piece, g.indices(0), g.indices(len(centres) - 1)])  # x = 6 is the last piece's
    local = g.binary("Div", g.binary("Sub", clamped, g.add("Gather", [g.constant(centres), piece])), ERF_PIECE / 2)
    powers = g.add("Pow", [g.add("Unsqueeze", [local, g.indices([-1])]),
                           g.constant(np.arange(ERF_DEGREE + 1, dtype=float))])
    terms = g.binary("Mul", powers, g.add("Gather", [g.constant(coefficients, stem="erf"), piece]))
    return g.reduce("ReduceSum", terms, axis=-1)


def _group_norm(g: OnnxGraph, z: str, epsilon: float) -> str:
    # Two passes, as the registry's _layer_norm: the mean, then the mean square about it.
    centered = g.binary("Sub", z, g.reduce("ReduceMean", z, axis=-1, keepdims=True))
    variance = g.reduce("ReduceMean", g.binary("Mul", centered, centered), axis=-1, keepdims=True)
    return g.binary("Div", centered, g.add("Sqrt", [g.binary("Add", variance, epsilon)]))


def _neat_argument(g: OnnxGraph, z: str, name: str) -> str:
    """neat-python's scaled and clamped argument of activation ``name``, from ``CLAMPED_FORMS`` (the
    one source of its scale and bounds, shared with the numpy functions and the native kernel)."""
    _, scale, low, high = CLAMPED_FORMS[name]
    t = z if scale == 1.0 else g.binary("Mul", z, scale)
    if low > -math.inf and high < math.inf:
        return g.clip(t, low, high)
    if low > -math.inf:
        return g.binary("Max", t, low)
    return t if high == math.inf else g.binary("Min", t, high)


def _neat_gauss(g: OnnxGraph, z: str) -> str:
    clamped = _neat_argument(g, z, "neat_gauss")
    return g.add("Exp", [g.binary("Mul", g.binary("Mul", clamped, clamped), -5.0)])


FORMULAS: dict[str, Formula] = {
    "linear": lambda g, z: z,
    "relu": lambda g, z: g.add("Relu", [z]),
    "leaky_relu": lambda g, z, alpha: g.add("Where", [g.binary("Greater", z, 0.0), z, g.binary("Mul", z, alpha)]),
    "elu": _elu,
    "selu": lambda g, z, alpha, scale: g.binary("Mul", _elu(g, z, alpha), scale),
    "sigmoid": lambda g, z: g.add("Sigmoid", [z]),
    "hard_sigmoid": lambda g, z, alpha, beta: g.clip(g.binary("Add", g.binary("Mul", z, alpha), beta), 0.0, 1.0),
    "tanh": lambda g, z: g.add("Tanh", [z]),
    "softplus": _softplus,
    "exponential": lambda g, z: g.add("Exp", [z]),
    "softsign": lambda g, z: g.binary("Div", z, g.binary("Add", g.add("Abs", [z]), 1.0)),
    "gelu": lambda g, z: g.binary("Mul", g.binary("Mul", z, 0.5), g.binary(
        "Add", _erf(g, g.binary("Div", z, math.sqrt(2))), 1.0)),
    "swish": lambda g, z: g.binary("Mul", z, g.add("Sigmoid", [z])),
    "softmax": lambda g, z: g.add("Softmax", [z], axis=-1),
    "layer_norm": _group_norm,
    "neat_sigmoid": lambda g, z: g.add("Reciprocal", [g.binary(
        "Add", g.add("Exp", [g.add("Neg", [_neat_argument(g, z, "neat_sigmoid")])]), 1.0)]),
    "neat_tanh": lambda g, z: g.add("Tanh", [_neat_argument(g, z, "neat_tanh")]),
    "neat_sin": lambda g, z: g.add("Sin", [_neat_argument(g, z, "neat_sin")]),
    "neat_gauss": _neat_gauss,
    "neat_softplus": lambda g, z: g.binary("Mul", g.add("Log", [g.binary(
        "Add", g.add("Exp", [_neat_argument(g, z, "neat_softplus")]), 1.0)]), 0.2),
    "neat_clamped": lambda g, z: _neat_argument(g, z, "neat_clamped"),
    "neat_inv": lambda g, z: g.add("Where", [g.binary("Equal", z, 0.0), g.constant(0.0),
                                             g.add("Reciprocal", [z])]),
    "neat_log": lambda g, z: g.add("Log", [_neat_argument(g, z, "neat_log")]),
    "neat_exp": lambda g, z: g.add("Exp", [_neat_argument(g, z, "neat_exp")]),
    "neat_abs": lambda g, z: g.add("Abs", [z]),
    "neat_hat": lambda g, z: g.binary("Max", g.binary("Sub", 1.0, g.add("Abs", [z])), 0.0),
    "neat_square": lambda g, z: g.binary("Mul", z, z),
    "neat_cube": lambda g, z: g.binary("Mul", g.binary("Mul", z, z), z),
}


def activation_nodes(g: OnnxGraph, z: str, activation: str, *, groups: int = 1, width: int, op: int) -> str:
    """The nodes computing ``activation`` of the weighted sums ``z`` (``(batch, width)``) of op ``op``.

    A group-wise activation (softmax, layer_norm) works over each of ``groups`` runs of
    ``width // groups`` neurons: ``z`` is viewed as ``(batch, groups, size)`` for it.
    """
    resolved = resolve_activation(activation)
    formula = FORMULAS.get(resolved.kind)
    if formula is None:
        raise InteropError(f"op {op}: activation {activation!r} has no ONNX form in nngraph's exporter; "
                           f"exportable: {', '.join(sorted(FORMULAS))}", part=op)
    params = dict(resolved.params)
    if not resolved.group_wise or groups == 1:
        return formula(g, z, **params)
    grouped = g.add("Reshape", [z, g.indices([0, groups, width // groups])])
    return g.add("Reshape", [formula(g, grouped, **params), g.indices([0, width])])


def _median(g: OnnxGraph, terms: str, count: int) -> str:
    # Sorted terms, then the middle one (odd count) or the mean of the middle two, as numpy's median.
    ordered = g.add("TopK", [terms, g.indices([count])], axis=2, largest=0, sorted=1, unused_outputs=1)
    middle = [count // 2] if count % 2 else [count // 2 - 1, count // 2]
    return g.reduce("ReduceMean", g.add("Gather", [ordered, g.indices(middle)], axis=2), axis=2)


def _maxabs(g: OnnxGraph, terms: str, count: int) -> str:
    # The term of largest magnitude, the first of equal ones (ArgMax's first index), sign kept.
    where = g.add("ArgMax", [g.add("Abs", [terms])], axis=2, keepdims=1, select_last_index=0)
    return g.add("Squeeze", [g.add("GatherElements", [terms, where], axis=2), g.indices([2])])


REDUCTIONS: dict[str, Formula] = {
    "sum": lambda g, terms, count: g.reduce("ReduceSum", terms, axis=2),
    "product": lambda g, terms, count: g.reduce("ReduceProd", terms, axis=2),
    "max": lambda g, terms, count: g.reduce("ReduceMax", terms, axis=2),
    "min": lambda g, terms, count: g.reduce("ReduceMin", terms, axis=2),
    "mean": lambda g, terms, count: g.reduce("ReduceMean", terms, axis=2),
    "median": _median,
    "maxabs": _maxabs,
}


def aggregation_nodes(g: OnnxGraph, terms: str, aggregation: str, *, count: int, op: int) -> str:
    """The nodes reducing ``terms`` (``(batch, targets, count)``) over their last axis by ``aggregation``.

    With no terms, every aggregation gives what the registry's does on none: 1.0 for a product,
    0.0 for the others (an empty ``ReduceProd`` or ``ReduceSum``).
    """
    if aggregation not in REDUCTIONS:
        raise InteropError(f"op {op}: aggregation {aggregation!r} has no ONNX form in nngraph's exporter; "
                           f"exportable: {', '.join(REDUCTIONS)}", part=op)
    if count == 0:
        return REDUCTIONS["product" if aggregation == "product" else "sum"](g, terms, count)
    return REDUCTIONS[aggregation](g, terms, count)
