"""The rules every nngraph file follows: writes are atomic, JSON is read strictly.

Writing: ``atomic_write(path)`` writes to a temporary file in the target's
folder and renames it over the target (``os.replace``) only once everything is
written and flushed to disk. A full disk, a file-size limit or an interrupt
therefore leaves the previous file as it was, and no temporary file behind.
Missing folders on the way are created. A target that exists and is not a
regular file (a pipe, a terminal, ``/dev/null``) is written directly: it has no
previous content to keep.

Reading JSON: ``parse_json`` reads what the JSON standard allows, and refuses
what Python's ``json`` module would let through silently: an object that repeats
a key (the last one would win), a number written with digits beyond float range
(``1e400`` would read as infinity), and values nested more than ``MAX_DEPTH``
levels (lists and objects inside each other), which would otherwise end in a
``RecursionError``. ``NaN`` and ``Infinity``, which JSON does not have, are
refused unless the caller allows them.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import stat
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from nngraph.errors import ArgumentError, JSONRuleError, ModelFileError, shown

MAX_DEPTH = 100
_TEMP_NAME_CHARS = 64  # of the target's name, in its temporary file's name (names have a length limit)


def as_path(path: Any, *, function: str, argument: str = "path") -> Path:
    """``path`` as a ``Path``, or ``ArgumentError`` when it is not a ``str`` or ``os.PathLike``.

    Examples
    --------
    >>> as_path(None, function="load")
    Traceback (most recent call last):
    ...
    nngraph.errors.ArgumentError: load: path must be a str or os.PathLike, got None
    """
    if isinstance(path, (str, os.PathLike)):
        resolved = os.fspath(path)
        if isinstance(resolved, str) and resolved:
            return Path(resolved)
    raise ArgumentError(f"{function}: {argument} must be a str or os.PathLike, got {shown(path)}")


def write_failure(error: OSError) -> str:
    """What went wrong when writing, for a message.

    Examples
    --------
    >>> write_failure(OSError(errno.ENOSPC, "No space left on device"))
    'cannot write: No space left on device'
    >>> write_failure(FileExistsError(errno.EEXIST, "File exists"))  # what mkdir says of a file on the way
    'cannot write: Not a directory'
    """
    # mkdir says "File exists" when a folder on the way is a file; say what that means.
    reason = os.strerror(errno.ENOTDIR) if isinstance(error, FileExistsError) else error.strerror
    return f"cannot write: {reason or error}"


def _regular_target(target: Path) -> Path:
    """The file that ``os.replace`` should replace: a symbolic link's target, so that the link stays."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def _temporary(target: Path, binary: bool) -> tuple[int, Path]:
    """Create a new, empty file next to ``target`` (the umask applies, as to any new file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) * binary
    while True:
        temp = target.with_name(f".{target.name[:_TEMP_NAME_CHARS]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:  # another writer's temporary file: draw another name
            continue


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, binary: bool = False, encoding: str = "utf-8",
                 newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; when the block ends normally, it replaces ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write. Missing folders are created; an existing file keeps
        its permissions (the new content replaces it whole).
    binary : bool
        Yield a binary stream instead of a text stream.
    encoding, newline : str, optional
        For a text stream, as in ``open``.

    Raises
    ------
    OSError
        When the file cannot be written, naming ``path`` (never the temporary
        file). Whatever the block raises, the temporary file is removed and
        ``path`` keeps its previous content.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_write(os.path.join(folder, "notes.txt")) as stream:
    ...     _ = stream.write("written whole, or not at all\\n")
    >>> os.listdir(folder)
    ['notes.txt']
    """
    target = _regular_target(as_path(path, function="atomic_write"))
    try:
        mode: int | None = os.stat(target).st_mode
    except OSError:
        mode = None  # no file yet, or none can be reached there: the write below says why
    text = {} if binary else {"encoding": encoding, "newline": newline}
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with open(target, "wb" if binary else "w", **text) as stream:
            yield stream
        return
    temp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp = _temporary(target, binary)
        with os.fdopen(descriptor, "wb" if binary else "w", **text) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None and stat.S_ISREG(mode):
            os.chmod(temp, stat.S_IMODE(mode))
        os.replace(temp, target)
        temp = None
    except OSError as error:
        if error.errno is not None:  # name the target, not the temporary file or a folder on the way
            error.filename, error.filename2 = os.fspath(path), None
        raise
    finally:
        if temp is not None:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise JSONRuleError(f"an object repeats the key {shown(repeated)}; each key may appear once")
    return record


def _float_in_range(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JSONRuleError(f"the number {shown(text)[1:-1]} is beyond float range (about ±1.8e308)")
    return number


def _refuse_constant(name: str) -> float:
    raise JSONRuleError(f"{name} is not a finite number (JSON has no {name})")


def parse_json(text: str, *, allow_constants: bool = False) -> Any:
    """Parse ``text`` as JSON under the rules of the module doc.

    Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not JSON,
    and ``JSONRuleError`` (also a ``ValueError``) for JSON that breaks a rule;
    ``allow_constants`` lets ``NaN``, ``Infinity`` and ``-Infinity`` through.

    Examples
    --------
    >>> parse_json('{"weight": 0.5}')
    {'weight': 0.5}
    >>> parse_json('{"weight": 0.5, "weight": 2}')
    Traceback (most recent call last):
    ...
    nngraph.errors.JSONRuleError: an object repeats the key 'weight'; each key may appear once
    """
    try:
        return json.loads(text, object_pairs_hook=_no_repeated_keys, parse_float=_float_in_range,
                          **({} if allow_constants else {"parse_constant": _refuse_constant}))
    except RecursionError:
        raise JSONRuleError(too_deep("lists and objects")) from None


def read_json(path: Any, *, function: str) -> Any:
    """The JSON document in the file ``path``, read by ``parse_json``: ``ArgumentError`` for a path
    that is not one, ``ModelFileError`` naming the file for one that cannot be read or is not JSON
    under those rules. ``function`` names the caller in the first message.

    Examples
    --------
    >>> read_json("/no/such/model.json", function="load")
    Traceback (most recent call last):
    ...
    nngraph.errors.ModelFileError: /no/such/model.json: cannot read: No such file or directory
    """
    try:
        text = as_path(path, function=function).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ModelFileError(f"cannot read: {reason}", path=path) from None
    try:
        return parse_json(text)
    except JSONRuleError as error:
        raise ModelFileError(str(error), path=path) from None
    except ValueError as error:
        raise ModelFileError(f"not a JSON model file: {error}", path=path) from None


def too_deep(what: str) -> str:
    """The message for values nested beyond ``MAX_DEPTH``.

    Examples
    --------
    >>> too_deep("'extra'")
    "'extra' nested too deep: more than 100 levels"
    """
    return f"{what} nested too deep: more than {MAX_DEPTH} levels"


def nesting_depth(value: Any, *, limit: int = MAX_DEPTH) -> int:
    """How many levels of lists, tuples and dicts ``value`` nests (0 for a plain value), counted up
    to ``limit + 1``: a deeper value is not walked further, and the walk never recurses.

    Examples
    --------
    >>> nesting_depth(1.5), nesting_depth([1, {"a": [2]}]), nesting_depth([[[[]]]], limit=2)
    (0, 3, 3)
    """
    depth, level = 0, [value]
    while True:
        containers = [item for item in level if isinstance(item, (list, tuple, dict))]
        if not containers or depth > limit:
            return depth
        depth += 1
        level = [item for container in containers
                 for item in (container.values() if isinstance(container, dict) else container)]
