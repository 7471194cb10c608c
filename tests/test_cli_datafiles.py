"""The command line's data files and progress, in process: the fine print of each format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from nngraph.cli.datafiles import listing, read_csv, read_inputs, to_json, write_outputs
from nngraph.errors import DataFileError, UsageError
from nngraph.cli.progress import Progress

NAMES = ["a", "b", "c"]


def csv_rows(text: str, names: list[str] = NAMES) -> np.ndarray:
    return read_csv(io.StringIO(text, newline=""), names, where="x.csv")


def test_a_csv_header_of_input_names_puts_columns_in_input_order() -> None:
    np.testing.assert_array_equal(csv_rows("c, a ,b\n3,1,2\n6,4,5\n"), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(csv_rows("1,2,3\n"), [[1, 2, 3]])  # numbers first: no header


def test_csv_names_with_commas_are_quoted_and_blank_lines_are_skipped() -> None:
    names = ["('x', 1)", "y"]
    rows = read_csv(io.StringIO('y,"(\'x\', 1)"\n\n2,1\n\n', newline=""), names, where="x.csv")
    np.testing.assert_array_equal(rows, [[1, 2]])


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,b\n1,2,3\n", "the header repeats 'b'"),
    ("a,b,z\n1,2,3\n", "the header names 'z', which is not an input of the model; its inputs are a, b, c"),
    ("a,b\n1,2\n", "the header lacks the model's inputs c"),
    ("1,oops,3\n", "row 1, column 2 (b): 'oops' is not a number"),  # a data row with a typo, not a header
    ("c,b,a\n1,2,3\n4,,6\n", "row 3, column 2 (b): '' is not a number"),  # header names the column
    ("1,2,3\n\n4,5\n", "row 3 has 2 columns, expected 3, one per model input: a, b, c"),
    ('1,2,"3\n', "not valid CSV"),
    ("1,2,3\n4,1e400,6\n", "row 2, column 2 (b): '1e400' is beyond float range (about ±1.8e308); write inf"),
    ("c,b,a\n1,-1" + "0" * 400 + ",3\n", "row 2, column 2 (b): '-1000000000000000...000000000000000000' is "
     "beyond float range"),
])
def test_csv_problems_name_the_file_row_and_column(text: str, message: str) -> None:
    with pytest.raises(DataFileError) as caught:
        csv_rows(text)
    assert str(caught.value).startswith("x.csv: ") and message in str(caught.value)
    assert caught.value.path == "x.csv"


def test_infinities_and_nan_written_as_such_are_input_values() -> None:
    rows = csv_rows("inf,-Infinity,nan\n1e308,-1e-400,+inf\n")
    np.testing.assert_array_equal(rows, [[np.inf, -np.inf, np.nan], [1e308, -0.0, np.inf]])
    path_rows = read_json_text("[[Infinity, -Infinity, NaN]]")
    np.testing.assert_array_equal(path_rows, [[np.inf, -np.inf, np.nan]])


def read_json_text(text: str) -> np.ndarray:
    from nngraph.cli.datafiles import read_json

    return read_json(text, NAMES, where="x.json")


def test_a_csv_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffb,a,c\n2,1,3\n".encode())
    np.testing.assert_array_equal(read_inputs(str(path), NAMES), [[1, 2, 3]])


@pytest.mark.parametrize(("document", "expected"), [
    ([1, 2, 3], [[1, 2, 3]]),
    ([[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5, 6]]),
    ({"c": 3, "a": 1, "b": 2}, [[1, 2, 3]]),
    ([{"b": 5, "a": 4, "c": 6}], [[4, 5, 6]]),
])
def test_json_samples_are_lists_or_objects_keyed_by_input(tmp_path: Path, document: object,
                                                         expected: list) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(document))
    np.testing.assert_array_equal(read_inputs(str(path), NAMES), expected)


@pytest.mark.parametrize(("text", "message"), [
    ("[[1, 2, true]]", "sample 0, value 3 (c) must be a number, got True"),
    ("[[1, null, 3]]", "sample 0, value 2 (b) must be a number, got None"),
    ("[[1, 1" + "0" * 400 + ", 3]]", "sample 0, value 2 (b) must be a number, got 100000000000000000...0"),
    ('[{"a": 1, "b": 1' + "0" * 400 + ', "c": 3}]',
     "sample 0, value 2 (b) must be a number, got 100000000000000000...0000000000000000000, beyond float range"),
    ("[[1, 2, -1e400]]", "the number -1e400 is beyond float range (about ±1.8e308)"),
    ('[{"a": 1, "b": 2, "c": 3, "a": 4}]', "an object repeats the key 'a'; each key may appear once"),
    ("[" * 5000 + "]" * 5000, "lists and objects nested too deep: more than 100 levels"),
    ("[[1, 2, 3], {\"a\": 1, \"b\": 2}]", "sample 1 lacks the inputs c"),
    ("[{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}]", "sample 0 names 'd', not inputs of the model"),
    ("5", "expected a list of samples"),
    ("[]", "holds no samples"),
    ("[[1, 2, 3], 4]", "sample 1 is int"),
    ("{", "not valid JSON"),
])
def test_json_problems_name_the_file_and_sample(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(DataFileError, match="x.json: .*") as caught:
        read_inputs(str(path), NAMES)
    assert message in str(caught.value)


def npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=True)
    return stream.getvalue()


def npy_header(*, shape: tuple[int, ...]) -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return stream.getvalue()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not a .npy file (numpy.save writes one)"),
    (b"1,2,3\n", "not a .npy file (numpy.save writes one)"),
    (b"\x80\x04K\x01.", "not a .npy file (numpy.save writes one)"),  # a pickle
    (npy_bytes(np.array([{"a": 1}], dtype=object)), "holds Python objects (an object array), which nngraph "
                                                    "never unpickles"),
    (npy_bytes(np.zeros((4, 3)))[:-8], "is a damaged .npy file: its header does not match its data"),
    (npy_header(shape=(10**12, 3)) + bytes(24), "is a damaged .npy file"),  # not 24 TB: refused, not allocated
    (npy_bytes(np.zeros((4, 3)))[:20], "is a damaged .npy file"),
])
def test_npy_files_that_are_not_arrays_of_numbers_are_refused_without_unpickling(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as caught:
        read_inputs(str(path), NAMES)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "pickle=" not in str(caught.value) and "trust" not in str(caught.value)


def test_npz_archives_and_unknown_types_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", x=np.zeros((1, 3)))
    (tmp_path / "x.npz").rename(tmp_path / "archive.npy")
    with pytest.raises(DataFileError, match="archive.npy: is an .npz archive"):
        read_inputs(str(tmp_path / "archive.npy"), NAMES)
    with pytest.raises(UsageError, match=r"argument -i/--input: x.xlsx: unknown file type '.xlsx'"):
        read_inputs("x.xlsx", NAMES)


def test_outputs_keep_full_precision_in_their_dtype_and_json_writes_null_for_nan(tmp_path: Path) -> None:
    values = np.array([[0.1, np.nan], [1 / 3, -np.inf]], dtype=np.float32)
    out = io.StringIO()
    write_outputs(values, ["p", "q"], None, stdout=out)
    assert out.getvalue() == "p,q\n0.1,nan\n0.33333334,-inf\n"
    write_outputs(values, ["p", "q"], str(tmp_path / "y.json"))
    assert json.loads((tmp_path / "y.json").read_text()) == [{"p": 0.1, "q": None}, {"p": 0.33333334, "q": None}]
    assert to_json({"z": np.float64(1 / 3)}) == '{\n "z": 0.3333333333333333\n}'


def test_listing_elides_long_lists() -> None:
    assert listing(["x", "y"]) == "x, y"
    assert listing([str(i) for i in range(100)]) == "0, 1, 2, ..., 97, 98, 99 (100 in all)"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_erases_it() -> None:
    terminal = Terminal()
    progress = Progress(terminal, interval=0.0)
    assert progress.enabled
    with progress.task("running", unit="samples", total=4) as step:
        step(2)
        step(2)
    with progress.task("compiling model.json"):
        pass
    text = terminal.getvalue()
    assert "\rnngraph: running: 2/4 samples (50%)" in text
    assert "\rnngraph: running: 4/4 samples (100%)" in text
    assert "\rnngraph: compiling model.json ..." in text
    assert text.endswith("\r") and "\x1b" not in text
    assert text.split("\r")[-2].strip() == ""  # the last thing written is the erasing blank line


def test_progress_is_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with Progress(stream).task("running", unit="samples", total=4) as step:
        step(4)
    assert stream.getvalue() == ""
