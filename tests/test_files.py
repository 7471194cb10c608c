"""File rules: atomic writes that keep the previous file on any failure, and strict JSON reading.

The file-size limit (``RLIMIT_FSIZE``) runs in a child process, since it binds the whole
process; with ``SIGXFSZ`` ignored (as Python does), a write past it fails with ``EFBIG``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nngraph
from nngraph.files import MAX_DEPTH, JSONRuleError, atomic_write, nesting_depth, parse_json

ROOT = Path(__file__).resolve().parent.parent
OLD = "the previous content\n"


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text(OLD)
    with atomic_write(target) as stream:
        stream.write("new\n")
        assert target.read_text() == OLD  # nothing changes until the block ends
    assert target.read_text() == "new\n" and listing(tmp_path) == ["out.txt"]
    with atomic_write(target, binary=True) as stream:
        stream.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt(),
                                     ValueError("a bug in the writer")])
def test_a_failure_inside_the_block_keeps_the_previous_file(tmp_path: Path, failure: BaseException) -> None:
    target = tmp_path / "out.txt"
    target.write_text(OLD)
    with pytest.raises(type(failure)):
        with atomic_write(target) as stream:
            stream.write("half of the new cont")
            raise failure
    assert target.read_text() == OLD and listing(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_while_flushing_to_disk_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  failure: BaseException) -> None:
    """The content is all in the temporary file; the disk refuses it (or the user interrupts) at fsync."""
    target = tmp_path / "out.txt"
    target.write_text(OLD)

    def fail(descriptor: int) -> None:
        raise failure

    monkeypatch.setattr("nngraph.files.os.fsync", fail)
    with pytest.raises(type(failure)) as caught:
        with atomic_write(target) as stream:
            stream.write("new\n")
    assert target.read_text() == OLD and listing(tmp_path) == ["out.txt"]
    if isinstance(failure, OSError):  # the message names the target, never the temporary file
        assert caught.value.filename == str(target)


def test_missing_folders_are_made_and_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "a" / "b" / "out.txt") as stream:
        stream.write("x")
    assert (tmp_path / "a" / "b" / "out.txt").read_text() == "x"
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as caught:
        with atomic_write(tmp_path / "file" / "out.txt") as stream:
            stream.write("x")
    assert caught.value.filename == str(tmp_path / "file" / "out.txt")


def test_a_folder_is_not_replaced_and_nothing_is_left_behind(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        with atomic_write(tmp_path / "folder") as stream:
            stream.write("x")
    assert caught.value.filename == str(tmp_path / "folder") and caught.value.filename2 is None
    assert listing(tmp_path) == ["folder"] and listing(tmp_path / "folder") == []


def test_permissions_of_the_previous_file_and_symbolic_links_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "private.txt"
    target.write_text(OLD)
    target.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as stream:
        stream.write("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["link.txt", "private.txt"]


def test_a_device_is_written_directly(tmp_path: Path) -> None:
    with atomic_write(os.devnull) as stream:  # no temporary file in /dev, and /dev/null stays a device
        stream.write("discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_path_that_is_not_a_path_is_an_argument_error() -> None:
    for path in (None, 5, ""):
        with pytest.raises(nngraph.ArgumentError, match="atomic_write: path must be a str or os.PathLike"):
            with atomic_write(path):  # type: ignore[arg-type]
                pass


LIMITED = textwrap.dedent("""
    import contextlib, io, json, os, resource, signal, sys
    import nngraph
    from nngraph.cli import main
    from nngraph.demo import lesson_model

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # as Python sets it: a write past the limit fails
    folder, limit = sys.argv[1], int(sys.argv[2])
    model = os.path.join(folder, "model.json")
    lesson = os.path.join(folder, "lesson.json")
    nngraph.save(lesson_model().graph, lesson)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    results = {}
    try:
        nngraph.save(nngraph.models.Sequential([nngraph.layers.Dense(40, input_shape=(40,))]).graph, model)
        results["save"] = "saved"
    except nngraph.ModelFileError as error:
        results["save"] = str(error)
    commands = {
        "new": ["new", "--layers", "40,40", "--activations", "relu", "-o", model],
        "run csv": ["run", lesson, "-i", os.path.join(folder, "x.npy"), "-o", os.path.join(folder, "y.csv")],
        "run npy": ["run", lesson, "-i", os.path.join(folder, "x.npy"), "-o", os.path.join(folder, "y.npy")],
        "run json": ["run", lesson, "-i", os.path.join(folder, "x.npy"), "-o", os.path.join(folder, "y.json")],
        "render": ["render", lesson, "-o", os.path.join(folder, "d.dot")],
        "demo": ["demo", "--diagrams", os.path.join(folder, "demo")],
    }
    for name, argv in commands.items():
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
        results[name] = [status, stderr.getvalue()]
    print(json.dumps(results))
""")


def test_a_file_size_limit_keeps_every_previous_file_and_says_so(tmp_path: Path) -> None:
    import numpy as np

    limit = 4096  # the lesson's model file (about 9 KB) and the outputs below are larger
    old = {name: OLD for name in ("model.json", "y.csv", "y.npy", "y.json", "d.dot")}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "demo").mkdir()
    for name in ("lesson_neurons.dot", "lesson_neurons.svg"):
        (tmp_path / "demo" / name).write_text(OLD)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(400, 8)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", LIMITED, str(tmp_path), str(limit)], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results.pop("save") == f"{tmp_path / 'model.json'}: cannot write: File too large"
    for name, (status, stderr) in results.items():
        assert status == 1, name
        assert stderr.startswith("nngraph: error: ") and "cannot write: File too large" in stderr, name
        assert stderr.count("\n") == 1, name
    for name, text in old.items():
        assert (tmp_path / name).read_text() == text, name
    for name in ("lesson_neurons.dot", "lesson_neurons.svg"):
        assert (tmp_path / "demo" / name).read_text() == OLD
    leftovers = [path.name for path in tmp_path.rglob("*") if path.name.endswith(".tmp")]
    assert leftovers == []


def test_parse_json_refuses_repeated_keys_constants_and_numbers_beyond_float_range() -> None:
    assert parse_json('{"a": [1, 2.5e-3, "x", null, true]}') == {"a": [1, 0.0025, "x", None, True]}
    with pytest.raises(JSONRuleError, match="an object repeats the key 'w'"):
        parse_json('[{"w": 1, "v": {"w": 2, "w": 3}}]')
    with pytest.raises(JSONRuleError, match="NaN is not a finite number"):
        parse_json("[NaN]")
    assert parse_json("[NaN, -Infinity]", allow_constants=True)[1] == float("-inf")
    for text in ("1e400", "-1E+309", "1" + "0" * 400 + ".5"):
        with pytest.raises(JSONRuleError, match="beyond float range"):
            parse_json(f"[{text}]")
    assert parse_json("[1e-400, 1" + "0" * 400 + "]") == [0.0, 10**400]  # underflow is zero; ints stay exact
    with pytest.raises(json.JSONDecodeError):
        parse_json("{")


def test_deep_nesting_is_too_deep_not_a_recursion_error() -> None:
    nested = "[" * 100_000 + "]" * 100_000
    with pytest.raises(JSONRuleError, match=f"nested too deep: more than {MAX_DEPTH} levels"):
        parse_json(nested)
    assert nesting_depth(parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH)) == MAX_DEPTH
    value: object = 1
    for _ in range(10_000):
        value = {"a": [value]}
    assert nesting_depth(value) == MAX_DEPTH + 1  # counted no further, and without recursion
