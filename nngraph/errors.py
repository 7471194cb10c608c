"""One exception tree for nngraph: every error a user can cause is an ``NNGraphError``.

Data errors also subclass ``ValueError``, and arguments of the wrong type
``TypeError``, so that generic handlers keep working.
Each class carries the culprit (neuron, connection, file, argument) as a field,
and its message says what is wrong and what was expected. A message is always printable
(``nngraph.names``): a control character that reached it from a name or a path shows as its
escape, so an error printed to a terminal shows the culprit as it is and cannot act on the terminal.
"""

from __future__ import annotations

import reprlib
from collections.abc import Hashable, Sequence
from typing import Any

from nngraph.names import printable

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 40


def shown(value: Any) -> str:
    """``repr(value)`` shortened for messages, so that a 401-digit integer or a long list stays readable.

    Examples
    --------
    >>> shown(10**400)
    '100000000000000000...0000000000000000000'
    >>> shown("bias")
    "'bias'"
    """
    return _SHORT.repr(value)


class NNGraphError(Exception):
    """Root of every exception nngraph raises on purpose.

    Examples
    --------
    >>> print(NNGraphError("a raw name: evil\\r\\x1b[2J"))
    a raw name: evil\\r\\x1b[2J
    """

    def __str__(self) -> str:
        # The message itself, also for the subclasses of KeyError (whose own str is a repr).
        return printable(self.args[0] if len(self.args) == 1 else super().__str__())


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


class PopulationError(NetworkError):
    """Raised when networks cannot stand side by side in one population (``nngraph.population``):
    no member, members with different numbers of inputs or outputs, two members under one key.
    ``member`` is the key of the member at fault, where there is one."""

    def __init__(self, message: str, *, member: Hashable | None = None, node: Hashable | None = None) -> None:
        super().__init__(message, node=node)
        self.member = member


class ArgumentError(NNGraphError, TypeError):
    """Raised when a public function gets an argument of the wrong type, such as a path that is
    ``None`` or ``passes=None``; the message names the function and the argument."""


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


class ExtraMissingError(NNGraphError, ImportError):
    """Raised when a function needs an optional library that is not installed; the message names
    the extra that installs it (``pip install 'nngraph[dask]'``). ``extra`` is its name."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra
