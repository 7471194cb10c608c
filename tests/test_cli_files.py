"""The command line's file rules and argument checks, in process through ``nngraph.cli.main``.

Every command that writes a file writes it atomically, and makes missing folders on the way:
a failed write (a full disk, an interrupt) leaves the previous file and no temporary file, and
says so in one line. Absurd sizes and a negative seed are usage errors; negative samples count
from the end. Overflow in a model prints no numpy warning.
"""

from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import nngraph
from nngraph.cli import main
from nngraph.demo import lesson_model

OLD = "the previous content\n"


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run ``nngraph ARGV`` in process: exit status, standard output, standard error."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit:  # argparse's own usage errors
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-files") / "lesson.json"
    nngraph.save(lesson_model().graph, path)
    return path


@pytest.fixture(scope="module")
def samples(model: Path) -> Path:
    path = model.with_name("x.csv")
    rows = np.random.default_rng(5).normal(size=(3, 8))
    path.write_text("\n".join(",".join(map(repr, row)) for row in rows.tolist()) + "\n")
    return path


def writing_commands(model: Path, samples: Path, folder: Path) -> dict[str, tuple[list[object], Path]]:
    """Each command that writes a file: its arguments and the file it writes, under ``folder``."""
    return {
        "new": (["new", "--layers", "3,2", "--activations", "tanh", "-o", folder / "m.json"], folder / "m.json"),
        "run csv": (["run", model, "-i", samples, "-o", folder / "y.csv"], folder / "y.csv"),
        "run npy": (["run", model, "-i", samples, "-o", folder / "y.npy"], folder / "y.npy"),
        "run json": (["run", model, "-i", samples, "-o", folder / "y.json"], folder / "y.json"),
        "render": (["render", model, "-o", folder / "d.dot", "-i", samples], folder / "d.dot"),
        "demo": (["demo", "--diagrams", folder / "demo"], folder / "demo" / "lesson_layers.dot"),
        "export": (["export", model, "-o", folder / "m.onnx"], folder / "m.onnx"),
        "import": (["import", _onnx_of(model), "-o", folder / "imported.json"], folder / "imported.json"),
    }


def _onnx_of(model: Path) -> Path:
    """``model`` as an ONNX file beside it (what ``nngraph import`` reads)."""
    path = model.with_name("foreign.onnx")
    if not path.exists():
        nngraph.to_onnx(nngraph.load(model), path)
    return path


COMMANDS = ("new", "run csv", "run npy", "run json", "render", "demo", "export", "import")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_writing_command_makes_missing_folders(capsys, tmp_path: Path, model: Path, samples: Path,
                                                     monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)  # the demo writes DOT: no Graphviz needed
    argv, written = writing_commands(model, samples, tmp_path / "not" / "yet")[command]
    status, out, err = cli(capsys, *argv)
    assert (status, err) == (0, "") and written.stat().st_size > 0
    assert [path.name for path in tmp_path.rglob("*.tmp")] == []


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("failure", ["full disk", "interrupt"])
def test_a_failed_write_keeps_the_previous_file_and_says_so(capsys, tmp_path: Path, model: Path, samples: Path,
                                                           monkeypatch: pytest.MonkeyPatch, command: str,
                                                           failure: str) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    argv, written = writing_commands(model, samples, tmp_path)[command]
    written.parent.mkdir(exist_ok=True)
    written.write_text(OLD)

    def fail(descriptor: int) -> None:  # everything is in the temporary file when the disk says no
        if failure == "full disk":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise KeyboardInterrupt

    monkeypatch.setattr("nngraph.files.os.fsync", fail)
    status, out, err = cli(capsys, *argv)
    if failure == "full disk":
        assert status == 1
        assert err.startswith("nngraph: error: ") and err.count("\n") == 1
        assert "cannot write: No space left on device" in err
    else:
        assert (status, err) == (130, "nngraph: error: interrupted\n")
    assert written.read_text() == OLD
    assert [path.name for path in tmp_path.rglob("*.tmp")] == []


def test_absurd_sizes_and_a_negative_seed_are_usage_errors(capsys, tmp_path: Path) -> None:
    status, out, err = cli(capsys, "new", "--layers", "1000000000,6", "--activations", "relu", "-o",
                           tmp_path / "m.json")
    assert status == 2 and out == ""
    assert err.startswith("nngraph: error: argument --layers: these layers would make the model "
                          "1,000,000,006 neurons and 6,000,000,000 connections, about 2,700.0 GB")
    assert "the limit is 50,000,000 connections" in err and err.count("\n") == 1
    status, out, err = cli(capsys, "new", "--layers", "8,4", "--activations", "relu", "--seed", "-1", "-o",
                           tmp_path / "m.json")
    assert status == 2 and "argument --seed: '-1' must be 0 or more" in err
    assert not (tmp_path / "m.json").exists()


def test_negative_samples_count_from_the_end(capsys, model: Path, samples: Path) -> None:
    last = cli(capsys, "inspect", model, "-i", samples, "--sample", "-1", "--json")
    assert last[0] == 0 and json.loads(last[1])["sample"] == 2
    assert cli(capsys, "inspect", model, "-i", samples, "--sample", "-1")[1] == \
        cli(capsys, "inspect", model, "-i", samples, "--sample", "2")[1]
    status, out, err = cli(capsys, "inspect", model, "-i", samples, "--sample", "-4")
    assert status == 2
    assert "argument --sample: -4 is out of range" in err
    assert "holds 3 samples (0 to 2, or -3 to -1 from the end)" in err


def test_bad_numbers_in_files_are_one_line_errors(capsys, tmp_path: Path, model: Path) -> None:
    document = json.loads(model.read_text())
    document["connections"][0]["weight"] = 10**400
    (tmp_path / "huge.json").write_text(json.dumps(document))
    (tmp_path / "huge.csv").write_text("1,2,3,4,5,6,7,1e999\n")
    (tmp_path / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    cases = {
        ("summary", tmp_path / "huge.json"): "connection 'input/0' -> 'dense/0': weight must be a finite number",
        ("run", model, "-i", tmp_path / "huge.csv"): "row 1, column 8 (input/7): '1e999' is beyond float range",
        ("run", model, "-i", tmp_path / "deep.json"): "lists and objects nested too deep: more than 100 levels",
        ("compile", tmp_path / "deep.json"): "lists and objects nested too deep: more than 100 levels",
    }
    for argv, message in cases.items():
        status, out, err = cli(capsys, *argv)
        assert status == 1 and message in err and err.count("\n") == 1, argv


def test_overflow_prints_no_warning_and_tables_stay_narrow(capsys, tmp_path: Path) -> None:
    path = tmp_path / "sigmoid.json"
    assert cli(capsys, "new", "--layers", "3,4,2", "--activations", "sigmoid,softmax", "-o", path)[0] == 0
    (tmp_path / "huge.csv").write_text("1e300,-1e300,5\ninf,-inf,nan\n1e308,1e308,1e308\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sample in ("0", "1", "2"):
            status, out, err = cli(capsys, "inspect", path, "-i", tmp_path / "huge.csv", "--sample", sample)
            assert (status, err) == (0, "")
            assert max(map(len, out.splitlines())) < 50
        for dtype in ("float64", "float32"):
            status, out, err = cli(capsys, "run", path, "-i", tmp_path / "huge.csv", "--dtype", dtype)
            assert (status, err) == (0, "")
    assert "1e+300" in cli(capsys, "inspect", path, "-i", tmp_path / "huge.csv")[1]


def test_output_files_keep_the_permissions_of_the_file_they_replace(capsys, tmp_path: Path, model: Path,
                                                                     samples: Path) -> None:
    target = tmp_path / "y.csv"
    target.write_text(OLD)
    target.chmod(0o640)
    assert cli(capsys, "run", model, "-i", samples, "-o", target)[0] == 0
    assert target.read_text().startswith("dense_2/0,") and (target.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["y.csv"]
