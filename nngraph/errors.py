"""One exception tree for nngraph: every error a user can cause is an ``NNGraphError``.

Every error caused by bad data or a bad argument value also subclasses ``ValueError``, and an
argument of the wrong type ``TypeError``, so that generic handlers keep working; an error of the
environment (a missing program, a missing library) subclasses ``RuntimeError`` or ``ImportError``
instead. Each class carries the
culprit (neuron, connection, file, argument) as a field, and its message says what is wrong and
what was expected. A message is always printable (``nngraph.names``): a control character that
reached it from a name or a path shows as its escape, so it cannot act on a terminal. The whole tree::

    NNGraphError
      NetworkError (ValueError)          validate: the graph breaks the contract
        CycleError, UnknownActivationError
        PopulationError                  networks that cannot stand side by side in one population
      ArgumentError (TypeError, ValueError)   a public function given an argument of the wrong type
      NeuronNotFoundError (KeyError, ValueError)   a trace or plan asked about an unknown neuron or layer
      InputError (ValueError)            an executor or trace given input it cannot use
      JSONRuleError (ValueError)         JSON that nngraph's strict reader refuses
      LayerError (ValueError)            the Keras-style front end used wrongly
      ModelFileError (ValueError)        a model file that cannot be read or written
      InteropError (ValueError)          another library's network that nngraph cannot import or export
      CompileError (ValueError)          a plan that breaks the IR, or a bad compile argument
        VerificationError                a plan that disagrees with the reference pass
      RenderError (ValueError)           a diagram that cannot be drawn as asked
      GraphvizMissingError (RuntimeError)   Graphviz's dot is needed and missing
      ExtraMissingError (ImportError)    an optional library (an extra: neat, dask) is needed and missing
      UsageError (ValueError)            a command-line argument wrong for its model or data
      DataFileError (ValueError)         a command-line data file that cannot be used
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


class ArgumentError(NNGraphError, TypeError, ValueError):
    """Raised when a public function gets an argument of the wrong type, such as a path that is
    ``None`` or ``passes=None``; the message names the function and the argument."""


class NeuronNotFoundError(NNGraphError, KeyError, ValueError):
    """Raised when a trace or plan is asked about a neuron (or a trace about a layer) that is not in
    its network."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would show the message quoted


class UnknownAggregationError(NetworkError):
    """Raised when a neuron names an aggregation that is not registered (``known`` lists those that are)."""

    def __init__(self, message: str, *, aggregation: Any, known: Sequence[str],
                 node: Hashable | None = None) -> None:
        super().__init__(message, node=node)
        self.aggregation = aggregation
        self.known = tuple(known)


class InputError(NNGraphError, ValueError):
    """Raised when an executor or a trace is given input it cannot use: the wrong shape, dtype or
    rank, an unknown runner, or a sample the trace does not hold."""


class JSONRuleError(NNGraphError, ValueError):
    """Raised by ``nngraph.files.parse_json`` for JSON that Python would read but nngraph refuses
    (a repeated key, a number beyond float range, NaN, nesting too deep); model and data file
    readers turn it into their own error naming the file."""


class LayerError(NNGraphError, ValueError):
    """Raised when the Keras-style front end is used wrongly (bad units, shapes, weights)."""


class ModelFileError(NNGraphError, ValueError):
    """Raised when a model file cannot be read or written; ``path`` names the file."""

    def __init__(self, message: str, *, path: Any) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class InteropError(NNGraphError, ValueError):
    """Raised when a network of another library (Keras, PyTorch, scikit-learn, ONNX, neat-python)
    cannot be imported, or an nngraph network cannot be exported: ``part`` names the layer, module,
    op, gene or neuron at fault (``None`` for the whole model), and the message says why and what
    nngraph can express instead."""

    def __init__(self, message: str, *, part: Hashable | None = None) -> None:
        super().__init__(message)
        self.part = part


class CompileError(NNGraphError, ValueError):
    """Raised when a plan fails a check of the IR, or compiling is asked for something unknown (a
    pass, a kind, an option); ``op`` and ``nodes`` name the culprits."""

    def __init__(self, message: str, *, op: int | None = None,
                 nodes: Sequence[Hashable] = ()) -> None:
        super().__init__(message)
        self.op = op
        self.nodes = tuple(nodes)


class VerificationError(CompileError):
    """Raised by ``compile_network(verify=True)`` when the plan and the reference differ."""


class RenderError(NNGraphError, ValueError):
    """Raised when a diagram cannot be drawn as asked: an argument it cannot use (an unknown
    option, a trace of another network, a path of unknown extension), or, rarely, Graphviz's
    ``dot`` failing on it."""


class GraphvizMissingError(NNGraphError, RuntimeError):
    """Raised when writing SVG, PNG or PDF needs Graphviz's ``dot`` program and it is missing.

    Not a ``RenderError``: nothing is wrong with the arguments; the environment lacks a program.
    """


class ExtraMissingError(NNGraphError, ImportError):
    """Raised when a function needs an optional library that is not installed (an error of the
    environment, as ``GraphvizMissingError`` is); the message names the extra that installs it
    (``pip install 'nngraph[dask]'``). ``extra`` is its name."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class UsageError(NNGraphError, ValueError):
    """Raised by the command line when an argument's value is wrong for the model or data it is
    used with.

    ``argument`` names the option (``--sample``, ``--neuron``, ...). The command
    line reports it like argparse's own usage errors, with exit status 2.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument {argument}: {message}")
        self.argument = argument


class DataFileError(NNGraphError, ValueError):
    """Raised by the command line when an input or output data file cannot be read, understood or
    written; ``path`` names it."""

    def __init__(self, message: str, *, path: Any) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
