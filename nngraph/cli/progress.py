"""Progress on standard error: shown only when it is a terminal, so pipes and logs stay clean.

A task prints one line that it rewrites in place (``\\r``, no colour or other
escape codes) and erases when it ends; in a pipe nothing is written at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from nngraph.names import printable

Step = Callable[[int], None]


class Progress:
    """Writes short progress lines for long work to ``stream`` (standard error by default).

    Parameters
    ----------
    stream : text stream, optional
        Where progress goes; ``sys.stderr`` when omitted.
    enabled : bool, optional
        Force progress on or off; by default it is on only when ``stream`` is a terminal.
    interval : float
        The shortest time, in seconds, between two rewrites of a counting line.

    Examples
    --------
    >>> import io
    >>> progress = Progress(io.StringIO())       # not a terminal: silent
    >>> with progress.task("running", unit="rows", total=3) as step:
    ...     step(3)
    >>> progress.stream.getvalue()
    ''
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None,
                 interval: float = 0.1) -> None:
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.interval = interval
        self._width = 0

    def _show(self, text: str) -> None:
        text = printable(text)  # a path in the label cannot act on the terminal
        padding = " " * max(0, self._width - len(text))
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._width = len(text)

    def _erase(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    @contextmanager
    def task(self, label: str, *, unit: str = "", total: int | None = None) -> Iterator[Step]:
        """Show ``label`` while the block runs; the block calls ``step(n)`` after each ``n`` units done.

        With ``unit`` the line counts (``running model.json: 4,096/10,000 rows (41%)``);
        without, it shows the label alone. The line is erased when the block ends.
        """
        if not self.enabled:
            yield _ignore
            return
        done = 0
        last = 0.0

        def describe() -> str:
            if not unit:
                return f"nngraph: {label} ..."
            if total:
                return f"nngraph: {label}: {done:,}/{total:,} {unit} ({100 * done // total}%)"
            return f"nngraph: {label}: {done:,} {unit}"

        def step(n: int) -> None:
            nonlocal done, last
            done += n
            now = time.monotonic()
            if now - last >= self.interval:
                last = now
                self._show(describe())

        self._show(describe())
        try:
            yield step
        finally:
            self._erase()


def _ignore(n: int) -> None:
    """The step of a silent task."""
