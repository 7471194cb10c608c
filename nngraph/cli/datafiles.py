"""Data files for the command line: input samples from .npy, .csv or .json; outputs to .csv, .npy or .json.

Inputs become a ``(batch, n_inputs)`` float64 array with columns in the
model's input order:

- ``.npy``: a numeric array of shape ``(batch, n_inputs)`` or ``(n_inputs,)``;
  read with ``allow_pickle=False``, so object arrays are refused, never unpickled,
  and memory-mapped first, so a header that promises more data than the file
  holds is refused before anything is allocated.
- ``.csv`` (or ``-``: CSV on standard input): one sample per row. The first row
  is a header when it consists of the model's input names (string form, e.g.
  ``input/0``); its columns may come in any order and are put in input order.
  A first row that is not all numbers and not input names is refused, naming
  the names that are not inputs (or the first cell that is not a number, when the
  row is mostly numbers). Blank lines are skipped. Rows are counted as lines of
  the file, header included; columns from 1.
- ``.json``: a list of samples, each a list of numbers in input order or an
  object keyed by input name; or a single such sample. It is read by
  ``nngraph.files.parse_json`` (no repeated keys, no deep nesting), except that
  ``NaN`` and ``Infinity`` are allowed, as NaN and infinities are in the input.

Numbers written with digits beyond float range (``1e400``, or an integer of
400 digits) are refused, naming the cell or value; write ``inf`` (CSV) or
``Infinity`` (JSON) for an infinity.

Outputs are ``(batch, n_outputs)``: CSV (the default; a header of output
names, full-precision numbers), ``.npy``, or ``.json`` (a list of objects keyed
by output name; NaN and infinities, which JSON cannot hold, are written as null).
Output files are written atomically (``nngraph.files.atomic_write``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nngraph.cli.progress import Progress
from nngraph.errors import DataFileError, InputError, UsageError, shown
from nngraph.execute.inputs import as_batch
from nngraph.files import JSONRuleError, atomic_write, parse_json, write_failure
from nngraph.core.validate import number_problem

STDIN = "-"
INPUT_SUFFIXES = (".npy", ".csv", ".json")
OUTPUT_SUFFIXES = (".csv", ".npy", ".json")
_ROWS_PER_STEP = 1000


def listing(names: Sequence[str], limit: int = 6) -> str:
    """``names`` joined by commas, the middle elided when there are more than ``limit``.

    Examples
    --------
    >>> listing([f"x{i}" for i in range(10)], limit=4)
    'x0, x1, ..., x8, x9 (10 in all)'
    """
    if len(names) <= limit:
        return ", ".join(names)
    half = limit // 2
    return ", ".join([*names[:half], "...", *names[-half:]]) + f" ({len(names)} in all)"


def _suffix(path: str) -> str:
    return Path(path).suffix.lower()


def input_kind(path: str) -> str:
    """The format of an ``--input`` argument: ``"npy"``, ``"csv"`` or ``"json"`` (``-`` is CSV)."""
    if path == STDIN:
        return "csv"
    if _suffix(path) not in INPUT_SUFFIXES:
        raise UsageError("-i/--input", f"{path}: unknown file type {Path(path).suffix or '(none)'!r}; "
                         "use .npy, .csv, .json, or - for CSV on standard input")
    return _suffix(path)[1:]


def output_kind(path: str | None) -> str:
    """The format of an ``-o/--output`` argument: ``"csv"`` (also for none or ``-``), ``"npy"`` or ``"json"``."""
    if path is None or path == STDIN:
        return "csv"
    if _suffix(path) not in OUTPUT_SUFFIXES:
        raise UsageError("-o/--output", f"{path}: unknown file type {Path(path).suffix or '(none)'!r}; "
                         "use .csv, .npy or .json (or - for CSV on standard output)")
    return _suffix(path)[1:]


def read_inputs(path: str, names: Sequence[str], *, stdin: TextIO | None = None,
                progress: Progress | None = None) -> np.ndarray:
    """Read the samples in ``path`` as a ``(batch, len(names))`` float64 array, columns in ``names`` order.

    Parameters
    ----------
    path : str
        A ``.npy``, ``.csv`` or ``.json`` file, or ``-`` for CSV on ``stdin``.
    names : sequence of str
        The model's input names (string form), in input order.
    stdin : text stream, optional
        What ``-`` reads; ``sys.stdin`` when omitted.
    progress : Progress, optional
        Shows rows read, for big files.

    Examples
    --------
    >>> import io
    >>> read_inputs("-", ["b", "a"], stdin=io.StringIO("a,b\\n1,2\\n"))
    array([[2., 1.]])
    """
    kind = input_kind(path)
    progress = progress or Progress(enabled=False)
    where = "<stdin>" if path == STDIN else path
    with progress.task(f"reading {where}", unit="rows" if kind == "csv" else "") as step:
        if kind == "npy":
            array = _read_npy(path)
        elif path == STDIN:
            array = read_csv(stdin or sys.stdin, names, where=where, step=step)
        else:
            text = _read_text(path)
            if kind == "csv":
                array = read_csv(io.StringIO(text, newline=""), names, where=where, step=step)
            else:
                array = read_json(text, names, where=where)
    try:
        batch, _ = as_batch(array, len(names))
    except InputError as error:
        raise DataFileError(str(error), path=where) from None
    if batch.shape[0] == 0:
        raise DataFileError("holds no samples", path=where)
    return batch


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            return stream.read()
    except UnicodeDecodeError:
        raise DataFileError("is not a UTF-8 text file", path=path) from None
    except OSError as error:
        raise DataFileError(f"cannot read: {error.strerror or error}", path=path) from None


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _read_npy(path: str) -> np.ndarray:
    # numpy reads a file without its magic bytes as a pickle, and its words for that (and for
    # object arrays) advise unpickling: the file's kind is checked here, and its words never passed on.
    try:
        with open(path, "rb") as stream:
            magic = stream.read(len(_NPY_MAGIC))
    except OSError as error:
        raise DataFileError(f"cannot read: {error.strerror or error}", path=path) from None
    if magic.startswith(_ZIP_MAGIC):
        raise DataFileError("is an .npz archive; save one array with numpy.save", path=path)
    if magic != _NPY_MAGIC:
        raise DataFileError("not a .npy file (numpy.save writes one); "
                            "use .npy, .csv or .json", path=path)
    try:
        mapped = np.load(path, allow_pickle=False, mmap_mode="r")
    except OSError as error:
        raise DataFileError(f"cannot read: {error.strerror or error}", path=path) from None
    except (ValueError, EOFError) as error:
        if "object" in str(error).lower():
            raise DataFileError("holds Python objects (an object array), which nngraph never "
                                "unpickles; save an array of numbers", path=path) from None
        raise DataFileError("is a damaged .npy file: its header does not match its data", path=path) from None
    return np.array(mapped)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _header_order(cells: list[str], names: Sequence[str], where: str) -> list[int] | None:
    """Column indices in input order if ``cells`` is a header, ``None`` if it is a row of data."""
    if all(_is_number(cell) for cell in cells):
        return None
    known = set(names)
    unknown = [cell for cell in cells if cell not in known]
    if unknown and any(_is_number(cell) for cell in cells):
        return None  # mostly data with a bad cell: reported with its row and column
    if unknown:
        raise DataFileError(f"the header names {listing([repr(c) for c in unknown])}, which "
                            f"{'is not an input' if len(unknown) == 1 else 'are not inputs'} of the model; "
                            f"its inputs are {listing(list(names))}", path=where)
    repeated = sorted({cell for cell in cells if cells.count(cell) > 1})
    if repeated:
        raise DataFileError(f"the header repeats {listing([repr(c) for c in repeated])}", path=where)
    missing = [name for name in names if name not in cells]
    if missing:
        raise DataFileError(f"the header lacks the model's inputs {listing(missing)}", path=where)
    return [cells.index(name) for name in names]


def read_csv(stream: TextIO, names: Sequence[str], *, where: str,
             step: Callable[[int], None] | None = None) -> np.ndarray:
    """Read CSV samples from ``stream`` (see the module docstring for the header rule).

    Raises ``DataFileError`` naming ``where`` and, for a bad cell, its row and column.
    """
    reader = csv.reader(stream, strict=True)
    order: list[int] | None = None
    header: list[str] = list(names)
    rows: list[list[float]] = []
    blocks: list[np.ndarray] = []  # rows move into arrays in blocks, so big files stay compact
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if order is None:
                order = _header_order(cells, names, where)
                if order is not None:
                    header = cells
                    continue
                order = list(range(len(names)))
            if len(cells) != len(names):
                raise DataFileError(f"row {reader.line_num} has {len(cells)} columns, expected "
                                    f"{len(names)}, one per model input: {listing(list(names))}", path=where)
            try:
                values = [float(cells[index]) for index in order]
            except ValueError:
                raise _bad_cell(cells, header, reader.line_num, where) from None
            if math.inf in values or -math.inf in values:
                _check_range(cells, header, reader.line_num, where)
            rows.append(values)
            if len(rows) == _ROWS_PER_STEP:
                blocks.append(np.array(rows, dtype=np.float64))
                rows = []
                if step is not None:
                    step(_ROWS_PER_STEP)
    except csv.Error as error:
        raise DataFileError(f"row {reader.line_num}: not valid CSV: {error}", path=where) from None
    blocks.append(np.array(rows, dtype=np.float64).reshape(len(rows), len(names)))
    return np.concatenate(blocks)


def _bad_cell(cells: list[str], header: list[str], line: int, where: str) -> DataFileError:
    column = next(index for index, cell in enumerate(cells) if not _is_number(cell))
    return DataFileError(f"row {line}, column {column + 1} ({header[column]}): "
                         f"{cells[column]!r} is not a number", path=where)


def _check_range(cells: list[str], header: list[str], line: int, where: str) -> None:
    """Refuse a cell whose digits overflow to infinity; ``inf`` and ``infinity`` are written as such."""
    for column, cell in enumerate(cells):
        if math.isinf(float(cell)) and cell.lower().lstrip("+-") not in ("inf", "infinity"):
            raise DataFileError(f"row {line}, column {column + 1} ({header[column]}): {shown(cell)} is "
                                "beyond float range (about ±1.8e308); write inf for an infinity", path=where)


def _json_number(value: Any, where: str, path: str) -> float:
    problem = number_problem(value, finite=False)
    if problem:
        raise DataFileError(f"{where} must be a number, {problem}", path=path)
    return float(value)


def read_json(text: str, names: Sequence[str], *, where: str) -> np.ndarray:
    """Read JSON samples: a list of samples (lists in input order, or objects keyed by input name), or one sample."""
    try:
        data = parse_json(text, allow_constants=True)
    except JSONRuleError as error:
        raise DataFileError(str(error), path=where) from None
    except ValueError as error:
        raise DataFileError(f"not valid JSON: {error}", path=where) from None
    if isinstance(data, dict) or (isinstance(data, list) and data and not isinstance(data[0], (list, dict))):
        data = [data]
    if not isinstance(data, list):
        raise DataFileError("expected a list of samples (lists of numbers, or objects keyed by "
                            "input name)", path=where)
    rows = []
    for index, sample in enumerate(data):
        at = f"sample {index}"
        if isinstance(sample, dict):
            unknown = [key for key in sample if key not in set(names)]
            missing = [name for name in names if name not in sample]
            if unknown or missing:
                problem = (f"names {listing([repr(k) for k in unknown])}, not inputs of the model" if unknown
                           else f"lacks the inputs {listing(missing)}")
                raise DataFileError(f"{at} {problem}; the model's inputs are {listing(list(names))}",
                                    path=where)
            sample = [sample[name] for name in names]
        if not isinstance(sample, list):
            raise DataFileError(f"{at} is {type(sample).__name__}, expected a list of numbers "
                                "or an object keyed by input name", path=where)
        if len(sample) != len(names):
            raise DataFileError(f"{at} has {len(sample)} values, expected {len(names)}, "
                                f"one per model input: {listing(list(names))}", path=where)
        rows.append([_json_number(value, f"{at}, value {column + 1} ({names[column]})", where)
                     for column, value in enumerate(sample)])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(names))


def _plain(value: float | np.floating) -> float | None:
    """A JSON-ready float with the shortest digits of its own dtype; None for NaN and infinities."""
    number = float(str(value))
    return number if math.isfinite(number) else None


def to_json(document: Any) -> str:
    """``document`` as indented JSON text; numpy floats become plain numbers, NaN and infinities null."""
    def clean(value: Any) -> Any:
        if isinstance(value, (float, np.floating)):
            return _plain(value)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        return value

    return json.dumps(clean(document), indent=1, allow_nan=False)


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into a ``DataFileError`` naming it."""
    try:
        yield
    except OSError as error:
        raise DataFileError(write_failure(error), path=path) from None


def write_outputs(values: np.ndarray, names: Sequence[str], path: str | None, *,
                  stdout: TextIO | None = None) -> None:
    """Write ``values`` (``(batch, len(names))``) to ``path`` in the format its extension names.

    ``None`` or ``-`` writes CSV to ``stdout``. A file is written atomically;
    one that cannot be written raises ``DataFileError`` naming it.
    """
    kind = output_kind(path)
    if path is None or path == STDIN:
        _write_text(values, names, kind, stdout or sys.stdout)
        return
    with writing(path), atomic_write(path, binary=kind == "npy", newline="") as stream:
        if kind == "npy":
            # numpy writes to a file with its own OSError, which drops the reason (a full disk):
            # it writes into memory here, and Python's write says why it fails.
            buffer = io.BytesIO()
            np.save(buffer, values, allow_pickle=False)
            stream.write(buffer.getbuffer())
        else:
            _write_text(values, names, kind, stream)


def _write_text(values: np.ndarray, names: Sequence[str], kind: str, stream: TextIO) -> None:
    if kind == "json":
        records = [dict(zip(names, row)) for row in values]
        stream.write(to_json(records) + "\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    # str() of a numpy scalar is the shortest text that reads back to the same number in its dtype.
    writer.writerows([str(value) for value in row] for row in values)
