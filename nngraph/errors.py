"""One exception tree for nngraph: every error a user can cause is an ``NNGraphError``.

Every error caused by a bad argument or bad data also subclasses ``ValueError``, so that generic
handlers keep working; an error of the environment (a missing program) subclasses
``RuntimeError`` instead. Each class carries the culprit (neuron, connection, file, argument) as a
field, and its message says what is wrong and what was expected. The whole tree::

    NNGraphError
      NetworkError (ValueError)          validate: the graph breaks the contract
        CycleError, UnknownActivationError
      NeuronNotFoundError (KeyError, ValueError)   a trace or plan asked about an unknown neuron
      InputError (ValueError)            an executor or trace given input it cannot use
      LayerError (ValueError)            the Keras-style front end used wrongly
      ModelFileError (ValueError)        a model file that cannot be read or written
      CompileError (ValueError)          a plan that breaks the IR, or a bad compile argument
        VerificationError                a plan that disagrees with the reference pass
      RenderError (ValueError)           a diagram that cannot be drawn as asked
      GraphvizMissingError (RuntimeError)   Graphviz's dot is needed and missing
      UsageError (ValueError)            a command-line argument wrong for its model or data
      DataFileError (ValueError)         a command-line data file that cannot be used
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


class NeuronNotFoundError(NNGraphError, KeyError, ValueError):
    """Raised when a trace or plan is asked about a neuron that is not in its network."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would show the message quoted


class InputError(NNGraphError, ValueError):
    """Raised when an executor or a trace is given input it cannot use: the wrong shape, dtype or
    rank, an unknown runner, or a sample the trace does not hold."""


class LayerError(NNGraphError, ValueError):
    """Raised when the Keras-style front end is used wrongly (bad units, shapes, weights)."""


class ModelFileError(NNGraphError, ValueError):
    """Raised when a model file cannot be read or written; ``path`` names the file."""

    def __init__(self, message: str, *, path: Any) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


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
