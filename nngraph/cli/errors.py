"""The command line's own errors: a wrong argument (exit status 2) and a bad data file (exit status 1)."""

from __future__ import annotations

from typing import Any

from nngraph.errors import NNGraphError


class UsageError(NNGraphError, ValueError):
    """Raised when an argument's value is wrong for the model or data it is used with.

    ``argument`` names the option (``--sample``, ``--neuron``, ...). The command
    line reports it like argparse's own usage errors, with exit status 2.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument {argument}: {message}")
        self.argument = argument


class DataFileError(NNGraphError, ValueError):
    """Raised when an input or output data file cannot be read, understood or written; ``path`` names it."""

    def __init__(self, message: str, *, path: Any) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
