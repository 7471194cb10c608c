"""The aggregation registry: how a neuron combines its weighted inputs, by name, for both executors.

A neuron's weighted sum is ``z = bias + AGG(weight_u * a_u for u in predecessors)``, where ``AGG``
is named by its ``aggregation`` (default ``"sum"``). The names are exactly neat-python's seven,
with neat-python 2.0's results: ``sum``, ``product``, ``max``, ``min``, ``maxabs`` (the term of
largest magnitude, keeping its sign; the first of equal magnitudes), ``mean`` and ``median`` (the
mean of the two middle terms for an even count). A neuron without connections gets ``sum`` 0.0,
``product`` 1.0, and 0.0 from every other.

Every function takes the terms stacked along one axis (``axis``, default the last) and reduces
it; terms are taken in the order of the neuron's predecessors (which decides ``maxabs`` ties). A
NaN term gives NaN, whatever the aggregation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from nngraph.errors import UnknownAggregationError

Reduction = Callable[[np.ndarray, int], np.ndarray]


def _maxabs(terms: np.ndarray, axis: int) -> np.ndarray:
    # argmax returns the first of equal magnitudes, and the first NaN if there is one.
    where = np.argmax(np.abs(terms), axis=axis)
    return np.take_along_axis(terms, np.expand_dims(where, axis), axis=axis).squeeze(axis)


@dataclass(frozen=True)
class Aggregation:
    """A registered aggregation: its ``name``, its reduction, and its result on no terms (``empty``).

    Examples
    --------
    >>> import numpy as np
    >>> resolve_aggregation("maxabs")(np.array([[1.0, -3.0, 3.0]]))
    array([-3.])
    >>> resolve_aggregation("product")(np.empty((2, 0)))
    array([1., 1.])
    """

    name: str
    reduce: Reduction = field(repr=False, compare=False)
    empty: float = 0.0

    def __call__(self, terms: np.ndarray, axis: int = -1) -> np.ndarray:
        """Reduce ``terms`` along ``axis``; with no terms, ``empty`` in the shape that remains."""
        if terms.shape[axis] == 0:
            return np.full(np.delete(terms.shape, axis), self.empty, dtype=terms.dtype)
        return self.reduce(terms, axis)


_REGISTRY = {
    aggregation.name: aggregation for aggregation in (
        Aggregation("sum", lambda terms, axis: np.sum(terms, axis=axis)),
        Aggregation("product", lambda terms, axis: np.prod(terms, axis=axis), empty=1.0),
        Aggregation("max", lambda terms, axis: np.max(terms, axis=axis)),
        Aggregation("min", lambda terms, axis: np.min(terms, axis=axis)),
        Aggregation("maxabs", _maxabs),
        Aggregation("mean", lambda terms, axis: np.mean(terms, axis=axis)),
        Aggregation("median", lambda terms, axis: np.median(terms, axis=axis)),
    )
}


def known_aggregations() -> list[str]:
    """Return the aggregation names, in neat-python's order with ``sum`` (the default) first.

    Examples
    --------
    >>> known_aggregations()
    ['sum', 'product', 'max', 'min', 'maxabs', 'mean', 'median']
    """
    return list(_REGISTRY)


def resolve_aggregation(name: object, *, node: Hashable | None = None) -> Aggregation:
    """Return the ``Aggregation`` called ``name``, or raise ``UnknownAggregationError``.

    ``node`` only serves the error message, which names the neuron at fault.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_aggregation("median")(np.array([4.0, 1.0, 3.0, 2.0]))
    np.float64(2.5)
    >>> resolve_aggregation("avg", node="h1")
    Traceback (most recent call last):
    ...
    nngraph.errors.UnknownAggregationError: neuron 'h1': unknown aggregation 'avg'; known: sum, ...
    """
    aggregation = _REGISTRY.get(name) if isinstance(name, str) else None
    if aggregation is None:
        where = f"neuron {node!r}: " if node is not None else ""
        known = known_aggregations()
        raise UnknownAggregationError(f"{where}unknown aggregation {name!r}; known: {', '.join(known)}",
                                      aggregation=name, known=known, node=node)
    return aggregation
