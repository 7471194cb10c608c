"""How names taken from a graph are shown: as text that cannot act on a terminal, a diagram or code.

Neuron ids and layer names may come from a model file that someone else wrote. Any character
is allowed in them except NUL and lone surrogates, which terminals, diagrams (Graphviz, SVG) and
UTF-8 files cannot hold as they are (``validate`` refuses them: see ``unfaithful_character``).
Every other character that ``str.isprintable`` rejects (control characters such as ``\\r`` and
``\\x1b``, ``\\x85``, the line and paragraph separators, format characters such as the
bidirectional overrides) is shown as the escape that Python's ``repr`` writes for it. So printed,
a name can never end a line (of a table, a message or a comment in generated code), move a
terminal's cursor, or reorder the text around it. Python's ``repr`` of a string escapes exactly
these characters, so ``repr`` forms need no further escaping; ``quoted`` guarantees it for any
object.
"""

from __future__ import annotations

import re

_UNFAITHFUL = re.compile(r"[\x00\ud800-\udfff]")
_KINDS = {"\x00": "NUL"}


def _escaped(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def printable(value: object) -> str:
    """``value`` as text (a string as it is, anything else by ``str``), non-printable characters escaped.

    This is how a name is shown in tables, diagrams and comments of generated code.

    Examples
    --------
    >>> printable("dense/0"), printable(("a", 1)), printable(3)
    ('dense/0', "('a', 1)", '3')
    >>> print(printable("evil\\r    os.system(q)#\\x1b[2J"))
    evil\\r    os.system(q)#\\x1b[2J
    """
    return _escaped(value if isinstance(value, str) else str(value))


def quoted(value: object) -> str:
    """``repr(value)`` with non-printable characters escaped: how a message names a culprit.

    Examples
    --------
    >>> print(quoted("h1"), quoted("a\\u2028b"), quoted(("x", 2)))
    'h1' 'a\\u2028b' ('x', 2)
    """
    return _escaped(repr(value))


def ascii_printable(value: object) -> str:
    """``printable(value)`` in ASCII alone (other characters as ``\\xe9``, ``\\u4e2d``): for generated code.

    Examples
    --------
    >>> print(ascii_printable("entrée\\r"))
    entr\\xe9e\\r
    """
    return printable(value).encode("ascii", "backslashreplace").decode("ascii")


def unfaithful_character(name: object) -> str | None:
    """What in ``name`` (a string, or a tuple of names at any depth) terminals, diagrams and UTF-8
    files cannot hold as it is, described (``NUL ('\\x00')``, ``a lone surrogate ('\\udc80')``); ``None`` if nothing.

    Examples
    --------
    >>> unfaithful_character("dense/0") is None, unfaithful_character("tab\\there") is None
    (True, True)
    >>> print(unfaithful_character(("ok", "a\\x00b")))
    NUL ('\\x00')
    """
    if isinstance(name, str):
        if name.isprintable():
            return None
        found = _UNFAITHFUL.search(name)
        if found is None:
            return None
        char = found.group()
        return f"{_KINDS.get(char, 'a lone surrogate')} ({repr(char)})"
    if isinstance(name, tuple):
        for part in name:
            found_in_part = unfaithful_character(part)
            if found_in_part is not None:
                return found_in_part
    return None
