"""One exception tree for nngraph: every error a user can cause is an ``NNGraphError``.

Data errors also subclass ``ValueError`` so that generic handlers keep working.
Each class carries the culprit (neuron, connection, file, argument) as a field,
and its message says what is wrong and what was expected.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any


class NNGraphError(Exception):
    """Root of every exception nngraph raises on purpose."""


class NetworkError(NNGraphError, ValueError):
    """Raised by ``validate`` when a graph breaks the graph contract.

    ``node`` is the neuron at fault and ``edge`` the connection at fault, where
    there is one (both may be ``None`` for whole-graph problems such as "no inputs").
    """

    def __init__(self, message: str, *, node: Hashable | None = None,
                 edge: tuple[Hashable, Hashable] | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.edge = edge


class CycleError(NetworkError):
    """Raised when the connections form a cycle; ``cycle`` lists its edges in order."""

    def __init__(self, message: str, *, cycle: Sequence[tuple[Hashable, Hashable]]) -> None:
        super().__init__(message, edge=tuple(cycle[0]) if cycle else None)
        self.cycle = [tuple(edge) for edge in cycle]


class UnknownActivationError(NetworkError):
    """Raised when a neuron names an activation that is not registered."""

    def __init__(self, message: str, *, activation: Any, known: Sequence[str],
                 node: Hashable | None = None) -> None:
        super().__init__(message, node=node)
        self.activation = activation
        self.known = tuple(known)


class UnknownAggregationError(NetworkError):
    """Raised when a neuron names an aggregation that is not registered (``known`` lists those that are)."""

    def __init__(self, message: str, *, aggregation: Any, known: Sequence[str],
                 node: Hashable | None = None) -> None:
        super().__init__(message, node=node)
        self.aggregation = aggregation
        self.known = tuple(known)


class InputError(NNGraphError, ValueError):
    """Raised when the input handed to an executor has the wrong shape, dtype or rank."""


class LayerError(NNGraphError, ValueError):
    """Raised when the Keras-style front end is used wrongly (bad units, shapes, weights)."""


class ModelFileError(NNGraphError, ValueError):
    """Raised when a model file cannot be read or written; ``path`` names the file."""

    def __init__(self, message: str, *, path: Any) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class CompileError(NNGraphError):
    """Raised when compiling fails a plan check; ``op`` and ``nodes`` name the culprits."""

    def __init__(self, message: str, *, op: int | None = None,
                 nodes: Sequence[Hashable] = ()) -> None:
        super().__init__(message)
        self.op = op
        self.nodes = tuple(nodes)


class VerificationError(CompileError):
    """Raised by ``compile_network(verify=True)`` when the plan and the reference differ."""


class RenderError(NNGraphError):
    """Raised when a diagram cannot be drawn or written."""


class GraphvizMissingError(RenderError, RuntimeError):
    """Raised when writing SVG, PNG or PDF needs Graphviz's ``dot`` program and it is missing."""
