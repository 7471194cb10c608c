"""The ``nngraph`` command line: build, summarise, run, inspect, compile, draw, export and import models.

``main`` parses the arguments, runs one command from ``nngraph.cli.commands``
and turns every problem into one line on standard error::

    nngraph: error: samples.csv: row 3, column 2 (input/1): 'abc' is not a number

Exit status: 0 on success, 2 for wrong usage (an argument's value, including
one that does not fit the model or data: ``--sample``, ``--neuron``, ``--layer``,
an unknown file type, ``--layers`` beyond the size limit, a negative ``--seed``),
1 for bad models, inputs or files that cannot be read or written, 130 when
interrupted. ``--debug`` shows the traceback instead.

Every file a command writes (``new``, ``run -o``, ``render``, ``demo``, ``export``, ``import``) is
written atomically, and missing folders on its path are made
(``nngraph.files.atomic_write``): a write that fails leaves the previous file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from nngraph.cli.commands import COMMANDS, Console
from nngraph.cli.parser import build_parser
from nngraph.cli.progress import Progress
from nngraph.errors import NNGraphError, UsageError
from nngraph.names import printable

__all__ = ["main"]

# What a shell reports for a process ended by SIGPIPE (128 + 13), e.g. `nngraph run ... | head -1`.
_BROKEN_PIPE_STATUS = 141


def _fail(message: str, status: int) -> int:
    # printable: a name or path in the message cannot act on the terminal or break the one line.
    sys.stderr.write(f"nngraph: error: {printable(message)}\n")
    return status


def _os_message(error: OSError) -> str:
    if error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error.strerror or error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nngraph`` command line with ``argv`` (``sys.argv[1:]`` by default); return the exit status.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as stderr:
    ...     status = main(["summary", "no-such-model.json"])
    >>> status, stderr.getvalue()
    (1, 'nngraph: error: no-such-model.json: cannot read: No such file or directory\\n')
    """
    args = build_parser().parse_args(argv)
    console = Console(stdin=sys.stdin, stdout=sys.stdout, progress=Progress(sys.stderr))
    try:
        COMMANDS[args.command](args, console)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        if args.debug:
            raise
        return _fail("interrupted", 130)
    except UsageError as error:
        if args.debug:
            raise
        return _fail(f"{error} (see 'nngraph {args.command} --help')", 2)
    except NNGraphError as error:
        if args.debug:
            raise
        return _fail(str(error), 1)
    except OSError as error:
        if args.debug:
            raise
        return _fail(_os_message(error), 1)
    except Exception as error:  # a bug: still one line, the traceback is one --debug away
        if args.debug:
            raise
        return _fail(f"internal error: {type(error).__name__}: {error} "
                     "(run again with --debug for the traceback, and please report it)", 1)
    return 0
