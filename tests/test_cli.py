"""The ``nngraph`` command line: ``nngraph.cli.main(argv)`` in this process, with its standard
input, output and error captured; a few tests run the installed command itself (``python -m
nngraph`` and the ``nngraph`` script) in a subprocess: a terminal, a closed pipe, the entry points.

Outputs are checked against the library: bit for bit against the compiled
plan the command runs, within 1e-12 against ``run_reference`` (the oracle), and
against ``describe``, ``Trace.table`` and the renderers' DOT source; every error is one line on standard error that names the
culprit, with exit status 2 for wrong usage and 1 for bad models or inputs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import nngraph
from nngraph.cli import main
from nngraph.demo import CLASS_NAMES, lesson_model, run_demo
from nngraph.errors import DataFileError
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.keras.summary import describe

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
INPUTS = [f"input/{i}" for i in range(8)]
OUTPUTS = [f"dense_2/{i}" for i in range(4)]


@dataclass(frozen=True)
class Call:
    """One command line: its arguments, what it reads on standard input, and the folder it runs in."""

    args: tuple[str, ...]
    stdin: str | None = None


def nngraph_cli(*args: object, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``nngraph ARGS`` in this process (``nngraph.cli.main``) and capture what it writes,
    as a subprocess would: standard input is ``stdin`` (empty by default), ``cwd`` the folder."""
    argv = [str(arg) for arg in args]
    stdout, stderr = io.StringIO(), io.StringIO()
    folder = os.getcwd()
    saved_stdin = sys.stdin
    try:
        sys.stdin = io.StringIO(stdin or "")
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse: --help, and its own usage errors
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdin = saved_stdin
        os.chdir(folder)
    return subprocess.CompletedProcess(["nngraph", *argv], status, stdout.getvalue(), stderr.getvalue())


def python_m_nngraph(*args: object) -> subprocess.CompletedProcess:
    """Run ``python -m nngraph ARGS`` in a subprocess and capture its output (through pipes)."""
    return subprocess.run([sys.executable, "-m", "nngraph", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=120)


def run_all(calls: dict[str, Call], cwd: Path | None = None) -> dict[str, subprocess.CompletedProcess]:
    """Run command lines one after another (in this process); results by the same keys."""
    return {key: nngraph_cli(*call.args, stdin=call.stdin, cwd=cwd) for key, call in calls.items()}


def read_csv_text(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A saved 8-6-6-4 model and the same five samples in every input format."""
    folder = tmp_path_factory.mktemp("cli")
    x = np.random.default_rng(3).normal(size=(5, 8))
    paths = {name: folder / name for name in (
        "model.json", "x.npy", "x.csv", "x_header.csv", "x.json", "x_records.json")}
    nngraph.save(lesson_model(seed=11).graph, paths["model.json"])
    np.save(paths["x.npy"], x)
    rows = x.tolist()
    paths["x.csv"].write_text("\n".join(",".join(repr(v) for v in row) for row in rows) + "\n")
    order = [3, 0, 7, 1, 6, 2, 5, 4]  # a header puts columns in any order
    paths["x_header.csv"].write_text(",".join(INPUTS[i] for i in order) + "\n" + "\n".join(
        ",".join(repr(row[i]) for i in order) for row in rows) + "\n")
    paths["x.json"].write_text(json.dumps(x.tolist()))
    paths["x_records.json"].write_text(json.dumps([dict(zip(INPUTS, row)) for row in x.tolist()]))
    return {**paths, "folder": folder}


@pytest.fixture(scope="module")
def x(files: dict[str, Path]) -> np.ndarray:
    return np.load(files["x.npy"])


@pytest.fixture(scope="module")
def model(files: dict[str, Path]):
    return nngraph.load(files["model.json"])


def assert_matches_reference(values: np.ndarray, model, x: np.ndarray) -> None:
    """The command's numbers are the compiled plan's, bit for bit, and the reference pass's within 1e-12."""
    np.testing.assert_array_equal(values, nngraph.compile_network(model)(x))
    np.testing.assert_allclose(values, nngraph.run_reference(model, x).outputs, rtol=1e-12, atol=1e-15)


def assert_one_line_error(result: subprocess.CompletedProcess, status: int, *culprits: str) -> None:
    """The command failed with ``status`` and one line on stderr naming every culprit; no traceback."""
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nngraph: error: ")
    for culprit in culprits:
        assert culprit in lines[0]


# --- help -------------------------------------------------------------------------------------------

COMMANDS = ("demo", "new", "summary", "run", "inspect", "compile", "render", "export", "import")


def test_every_command_has_help_with_an_example() -> None:
    results = run_all({"": Call(("--help",)), **{name: Call((name, "--help")) for name in COMMANDS}})
    for name, result in results.items():
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: nngraph {name}".rstrip())
        assert "example:\n  nngraph " in result.stdout
        if name:
            assert f"  nngraph {name} " in result.stdout.split("example:")[1]
    for name in COMMANDS:
        assert name in results[""].stdout
    installed = python_m_nngraph("--help")  # the module's entry point prints the same
    assert (installed.returncode, installed.stdout, installed.stderr) == (0, results[""].stdout, "")


# --- new and summary -----------------------------------------------------------------------------


def test_new_saves_the_seeded_keras_style_model(tmp_path: Path) -> None:
    result = nngraph_cli("new", "--layers", "8,6,6,4", "--activations", "relu,relu,softmax",
                         "--seed", "5", "-o", tmp_path / "model.json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (f"wrote {tmp_path / 'model.json'}: 8 inputs -> dense (6, relu) -> "
                             "dense_1 (6, relu) -> dense_2 (4, softmax); 124 parameters, seed 5\n")
    expected = Sequential([Dense(units=6, input_shape=(8,), activation="relu"),
                           Dense(units=6, activation="relu"), Dense(units=4, activation="softmax")], seed=5)
    saved = nngraph.load(tmp_path / "model.json")
    assert list(saved.nodes(data=True)) == list(expected.graph.nodes(data=True))
    assert list(saved.edges(data=True)) == list(expected.graph.edges(data=True))


def test_summary_prints_the_layer_table_and_graph_facts(files: dict[str, Path], model) -> None:
    result = nngraph_cli("summary", files["model.json"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == describe(model, title="model") + "\n"
    for line in (' dense_1 (Dense)                (None, 6)                     42', "Total params: 124",
                 "connections:       108", "largest fan-in:    8", "skip connections:  0"):
        assert line in result.stdout


# --- run ---------------------------------------------------------------------------------------------


def test_run_reads_every_input_format_and_writes_every_output_format(files: dict[str, Path], x, model) -> None:
    expected = nngraph.compile_network(model)(x)
    assert_matches_reference(expected, model, x)
    out = files["folder"]
    results = run_all({
        "npy": Call(("run", files["model.json"], "--input", files["x.npy"])),
        "csv": Call(("run", files["model.json"], "--input", files["x.csv"])),
        "header": Call(("run", files["model.json"], "--input", files["x_header.csv"])),
        "json": Call(("run", files["model.json"], "--input", files["x.json"])),
        "records": Call(("run", files["model.json"], "--input", files["x_records.json"])),
        "stdin": Call(("run", files["model.json"], "--input", "-"), stdin=files["x_header.csv"].read_text()),
        "to npy": Call(("run", files["model.json"], "-i", files["x.csv"], "-o", out / "y.npy")),
        "to json": Call(("run", files["model.json"], "-i", files["x.csv"], "-o", out / "y.json")),
        "to csv": Call(("run", files["model.json"], "-i", files["x.csv"], "-o", out / "y.csv")),
        "float32": Call(("run", files["model.json"], "-i", files["x.npy"], "-o", out / "y32.npy",
                         "--dtype", "float32")),
    })
    for key, result in results.items():
        assert result.returncode == 0, (key, result.stderr)
        assert result.stderr == "", key  # no progress in a pipe
    for key in ("npy", "csv", "header", "json", "records", "stdin"):
        header, values = read_csv_text(results[key].stdout)
        assert header == OUTPUTS
        np.testing.assert_array_equal(values, expected, err_msg=key)  # full precision round-trips
    assert (out / "y.csv").read_text() == results["csv"].stdout
    assert results["to npy"].stdout == ""
    np.testing.assert_array_equal(np.load(out / "y.npy"), expected)
    records = json.loads((out / "y.json").read_text())
    assert [list(record) for record in records] == [OUTPUTS] * len(x)
    np.testing.assert_array_equal([list(record.values()) for record in records], expected)
    y32 = np.load(out / "y32.npy")
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, nngraph.run_reference(model, x, dtype=np.float32).outputs, rtol=1e-6)


def test_run_one_sample_from_json_and_npy(tmp_path: Path, files: dict[str, Path], x, model) -> None:
    (tmp_path / "one.json").write_text(json.dumps(x[1].tolist()))
    np.save(tmp_path / "one.npy", x[1])
    results = run_all({suffix: Call(("run", files["model.json"], "-i", tmp_path / f"one.{suffix}"))
                       for suffix in ("json", "npy")})
    for result in results.values():
        header, values = read_csv_text(result.stdout)
        assert_matches_reference(values, model, x[1:2])


# --- inspect -----------------------------------------------------------------------------------------


def test_inspect_prints_the_trace_table_of_the_chosen_sample(files: dict[str, Path], x, model) -> None:
    results = run_all({
        "table": Call(("inspect", files["model.json"], "--input", files["x_header.csv"], "--sample", "2")),
        "layer": Call(("inspect", files["model.json"], "-i", files["x.csv"], "--layer", "dense_1")),
        "json": Call(("inspect", files["model.json"], "-i", files["x.npy"], "--sample", "-1", "--json",
                      "--neuron", "dense/0", "--neuron", "dense_2/3", "input/5")),
        "neurons": Call(("inspect", files["model.json"], "-i", files["x.csv"], "--neuron", "dense_1/4",
                         "dense_2/0")),
    })
    plan = nngraph.compile_network(model)
    assert results["table"].stdout == plan.trace(x[2:3]).table(0) + "\n"
    lines = results["layer"].stdout.splitlines()
    assert lines[0] == "dense_1 (6, relu)" and len(lines) == 8
    trace = plan.trace(x[0:1])
    for line, j in zip(lines[2:], range(6)):
        assert line.split() == [f"dense_1/{j}", f"{trace.weighted_sum(f'dense_1/{j}')[0]:.4f}",
                                f"{trace.value(f'dense_1/{j}')[0]:.4f}"]
    picked = results["neurons"].stdout.splitlines()
    assert [line for line in picked if not line.startswith(" ")] == ["dense_1 (6, relu)", "dense_2 (4, softmax)"]
    assert [line.split()[0] for line in picked if line.startswith("  ") and "sum" not in line] == [
        "dense_1/4", "dense_2/0"]
    document = json.loads(results["json"].stdout)
    assert {key: document[key] for key in ("sample", "dtype")} == {"sample": 4, "dtype": "float64"}
    last = plan.trace(x[-1:])
    reference = nngraph.run_reference(model, x[-1])
    for record in document["neurons"][1:]:
        np.testing.assert_allclose([record["weighted_sum"], record["value"]],
                                   [reference.weighted_sum(record["neuron"])[0], reference.value(record["neuron"])[0]],
                                   rtol=1e-12)
    assert document["neurons"] == [
        {"layer": "input", "neuron": "input/5", "weighted_sum": None, "value": x[-1, 5]},
        {"layer": "dense", "neuron": "dense/0", "weighted_sum": last.weighted_sum("dense/0")[0],
         "value": last.value("dense/0")[0]},
        {"layer": "dense_2", "neuron": "dense_2/3", "weighted_sum": last.weighted_sum("dense_2/3")[0],
         "value": last.value("dense_2/3")[0]},
    ]


def test_inspect_names_neurons_by_string_form_for_integer_and_tuple_ids(tmp_path: Path) -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, 0)
    nngraph.add_input(G, ("in", 1))
    nngraph.add_neuron(G, nngraph.Neuron(7, role="output", bias=0.5))
    nngraph.connect(G, 0, 7, 2.0)
    nngraph.connect(G, ("in", 1), 7, -1.0)
    nngraph.save(G, tmp_path / "ids.json")
    (tmp_path / "x.csv").write_text("\"('in', 1)\",0\n3,1\n")  # header in string form, columns swapped
    result = nngraph_cli("inspect", tmp_path / "ids.json", "-i", tmp_path / "x.csv", "--neuron", "7", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["neurons"] == [
        {"layer": "level 1", "neuron": "7", "weighted_sum": 0.5 + 2.0 * 1 - 1.0 * 3, "value": -0.5}]


# --- compile and render -------------------------------------------------------------------------


def test_compile_prints_the_plan_table_or_its_generated_source(files: dict[str, Path], model) -> None:
    results = run_all({"table": Call(("compile", files["model.json"])),
                       "code": Call(("compile", files["model.json"], "--code")),
                       "float32": Call(("compile", files["model.json"], "--dtype", "float32"))})
    plan = nngraph.compile_network(model)
    assert results["table"].stdout == str(plan) + "\n"
    assert results["table"].stdout.splitlines()[0].startswith("plan: 3 fused ops, 8 inputs -> 4 outputs, float64")
    assert results["code"].stdout == plan.code.rstrip("\n") + "\n"
    compile(results["code"].stdout, "plan.py", "exec")  # the source is valid Python
    assert results["float32"].stdout == str(nngraph.compile_network(model, dtype=np.float32)) + "\n"


def test_render_writes_each_diagram_with_the_options_asked_for(files: dict[str, Path], x, model) -> None:
    out = files["folder"]
    results = run_all({
        "neurons": Call(("render", files["model.json"], "-o", out / "neurons.dot")),
        "layers": Call(("render", files["model.json"], "-o", out / "layers.dot", "--diagram", "layers")),
        "plan": Call(("render", files["model.json"], "-o", out / "plan.dot", "--diagram", "plan")),
        "traced": Call(("render", files["model.json"], "-o", out / "traced.dot", "--input", files["x.csv"],
                        "--sample", "3", "--max-per-column", "3", "--output-labels", ",".join(CLASS_NAMES))),
    })
    for key, result in results.items():
        assert result.returncode == 0, (key, result.stderr)
        assert result.stdout == f"wrote {out / (key + '.dot')}: the {'neurons' if key == 'traced' else key} " \
                                f"diagram of {files['model.json']}\n"
    plan = nngraph.compile_network(model)
    assert (out / "neurons.dot").read_text() == nngraph.render_neurons(model).source
    assert (out / "layers.dot").read_text() == nngraph.render_layers(model).source
    assert (out / "plan.dot").read_text() == nngraph.render_plan(plan).source
    traced = nngraph.render_neurons(model, trace=plan.trace(x[:4]), sample=3, output_labels=CLASS_NAMES,
                                    collapse_above=3)
    assert (out / "traced.dot").read_text() == traced.source
    assert "cat" in traced.source and "+4 more" in traced.source and "for sample 3" in traced.source


@pytest.mark.needs_dot
def test_render_draws_svg_png_and_pdf_with_graphviz(tmp_path: Path, files: dict[str, Path]) -> None:
    results = run_all({suffix: Call(("render", files["model.json"], "-o", tmp_path / f"model.{suffix}"))
                       for suffix in ("svg", "png", "pdf")})
    assert all(result.returncode == 0 for result in results.values())
    assert b"<svg" in (tmp_path / "model.svg").read_bytes()[:500]
    assert (tmp_path / "model.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "model.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.needs_dot
def test_render_writes_the_interactive_page_with_every_sample(tmp_path: Path, files: dict[str, Path], x,
                                                              model) -> None:
    result = nngraph_cli("render", files["model.json"], "-o", tmp_path / "model.html", "--input", files["x.csv"],
                         "--sample", "3", "--output-labels", ",".join(CLASS_NAMES))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {tmp_path / 'model.html'}: the interactive neurons diagram of {files['model.json']}\n"
    plan = nngraph.compile_network(model)
    expected = nngraph.render_html(model, trace=plan.trace(x), sample=3, output_labels=CLASS_NAMES)
    assert (tmp_path / "model.html").read_text(encoding="utf-8") == expected
    assert '"samples": 5, "sample": 3' in expected


def test_render_without_graphviz_says_how_to_install_it(tmp_path: Path, files: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    result = nngraph_cli("render", files["model.json"], "-o", tmp_path / "model.svg")
    assert_one_line_error(result, 1, "'model.svg'", "Graphviz's 'dot'", "apt-get install graphviz")


# --- demo --------------------------------------------------------------------------------------------


def test_demo_prints_what_make_demo_prints_and_writes_the_diagrams(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "library").mkdir()
    result = nngraph_cli("demo", "--diagrams", "lesson", cwd=tmp_path / "cli")
    monkeypatch.chdir(tmp_path / "library")
    lines: list[str] = []
    run_demo(lines.append, diagram_folder="lesson")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join(lines) + "\n"
    assert "Diagrams written to lesson/:" in result.stdout
    written = sorted(path.name for path in (tmp_path / "cli" / "lesson").iterdir())
    assert written == sorted(path.name for path in (tmp_path / "library" / "lesson").iterdir())
    assert len(written) == 4


# --- errors ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_files(files: dict[str, Path]) -> dict[str, Path]:
    folder = files["folder"]
    contents = {
        "truncated.json": '{"format": "nngraph", "version": 1, "inputs": [',
        "not_a_model.json": '{"hello": "world"}',
        "garbage.onnx": "not a protobuf \x00\x01",
        "garbage.keras": "not a zip",
        "bad_weight.json": json.dumps({**json.loads(files["model.json"].read_text()), "connections": [
            {"source": "input/0", "target": "dense/0", "weight": "heavy"}]}),
        "seven.csv": "1,2,3,4,5,6,7,8\n1,2,3,4,5,6,7\n",
        "cell.csv": "1,2,3,4,5,6,7,8\n1,2,3,4,5,6,7,8\n1,2,x3,4,5,6,7,8\n",
        "header_cell.csv": ",".join(INPUTS) + "\n1,2,3,4,5,6,7,8\n1,2,3,4,5,,7,8\n",
        "wrong_header.csv": "a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,8\n",
        "only_header.csv": ",".join(INPUTS) + "\n",
        "seven.json": "[[1,2,3,4,5,6,7]]",
        "text.json": '[["1",2,3,4,5,6,7,8]]',
        "input.txt": "1,2,3,4,5,6,7,8\n",
    }
    paths = {}
    for name, text in contents.items():
        paths[name] = folder / name
        paths[name].write_text(text)
    paths["seven.npy"] = folder / "seven.npy"
    np.save(paths["seven.npy"], np.zeros((3, 7)))
    paths["objects.npy"] = folder / "objects.npy"
    np.save(paths["objects.npy"], np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (folder / "out.json").mkdir(exist_ok=True)
    return paths


def error_cases(f: dict[str, Path], bad: dict[str, Path]) -> dict[str, tuple[Call, int, tuple[str, ...]]]:
    """Each case: the command line, the exit status, and what the one-line message must name."""
    model = f["model.json"]
    not_a_folder = f["x.csv"]  # writing under a file fails even for root
    return {
        "malformed model": (Call(("summary", bad["truncated.json"])), 1, (str(bad["truncated.json"]), "JSON")),
        "not a model": (Call(("run", bad["not_a_model.json"], "-i", f["x.csv"])), 1,
                        (str(bad["not_a_model.json"]), "not an nngraph model file")),
        "bad weight": (Call(("inspect", bad["bad_weight.json"], "-i", f["x.csv"])), 1,
                       (str(bad["bad_weight.json"]), "input/0", "dense/0", "weight")),
        "missing model": (Call(("summary", f["folder"] / "nowhere.json")), 1,
                          ("nowhere.json", "No such file")),
        "missing input": (Call(("run", model, "-i", f["folder"] / "nowhere.csv")), 1,
                          ("nowhere.csv", "No such file")),
        "csv columns": (Call(("run", model, "-i", bad["seven.csv"])), 1,
                        (str(bad["seven.csv"]), "row 2", "7 columns", "expected 8")),
        "csv cell": (Call(("run", model, "-i", bad["cell.csv"])), 1,
                     (str(bad["cell.csv"]), "row 3, column 3 (input/2)", "'x3' is not a number")),
        "csv empty cell": (Call(("inspect", model, "-i", bad["header_cell.csv"])), 1,
                           ("row 3, column 6 (input/5)", "'' is not a number")),
        "stdin cell": (Call(("run", model, "-i", "-"), stdin="1,2,3,4,5,6,7,8\n1,2,3,4,5,6,7,y\n"), 1,
                       ("<stdin>", "row 2, column 8 (input/7)", "'y'")),
        "csv header": (Call(("run", model, "-i", bad["wrong_header.csv"])), 1,
                       (str(bad["wrong_header.csv"]), "'a'", "not inputs", "input/0")),
        "csv no samples": (Call(("run", model, "-i", bad["only_header.csv"])), 1,
                           (str(bad["only_header.csv"]), "no samples")),
        "npy columns": (Call(("run", model, "-i", bad["seven.npy"])), 1,
                        (str(bad["seven.npy"]), "expected 8 input features, got 7")),
        "npy objects": (Call(("run", model, "-i", bad["objects.npy"])), 1,
                        (str(bad["objects.npy"]), "never unpickles")),
        "json columns": (Call(("run", model, "-i", bad["seven.json"])), 1,
                         (str(bad["seven.json"]), "sample 0 has 7 values, expected 8")),
        "json text": (Call(("run", model, "-i", bad["text.json"])), 1,
                      (str(bad["text.json"]), "sample 0, value 1 (input/0) must be a number, got '1'")),
        "unwritable run output": (Call(("run", model, "-i", f["x.csv"], "-o", not_a_folder / "y.csv")), 1,
                                  (str(not_a_folder / "y.csv"), "cannot write: Not a directory")),
        "unwritable npy output": (Call(("run", model, "-i", f["x.csv"], "-o", not_a_folder / "y.npy")), 1,
                                  (str(not_a_folder / "y.npy"), "cannot write")),
        "output is a folder": (Call(("run", model, "-i", f["x.csv"], "-o", f["folder"] / "out.json")), 1,
                               ("out.json", "cannot write: Is a directory")),
        "unwritable model": (Call(("new", "--layers", "2,1", "--activations", "relu", "-o",
                                   not_a_folder / "m.json")), 1,
                             (str(not_a_folder / "m.json"), "cannot write: Not a directory")),
        "no command": (Call(()), 2, ("COMMAND",)),
        "unknown command": (Call(("frobnicate",)), 2, ("frobnicate",)),
        "no input": (Call(("run", model)), 2, ("--input",)),
        "input type": (Call(("run", model, "-i", bad["input.txt"])), 2, ("--input", "input.txt", "'.txt'")),
        "output type": (Call(("run", model, "-i", f["x.csv"], "-o", "y.xlsx")), 2, ("-o/--output", "'.xlsx'")),
        "dtype": (Call(("run", model, "-i", f["x.csv"], "--dtype", "float16")), 2, ("--dtype", "float16")),
        "layers": (Call(("new", "--layers", "8,six", "--activations", "relu", "-o", "m.json")), 2,
                   ("--layers", "'six'")),
        "one layer": (Call(("new", "--layers", "8", "--activations", "relu", "-o", "m.json")), 2,
                      ("--layers",)),
        "activation count": (Call(("new", "--layers", "8,6,4", "--activations", "relu", "-o", "m.json")), 2,
                             ("--activations", "2 in all; got 1")),
        "activation name": (Call(("new", "--layers", "8,4", "--activations", "rleu", "-o", "m.json")), 2,
                            ("--activations", "'rleu'", "relu")),
        "sample range": (Call(("inspect", model, "-i", f["x.csv"], "--sample", "5")), 2,
                         ("--sample", "5 is out of range", "5 samples")),
        "misspelt neuron": (Call(("inspect", model, "-i", f["x.csv"], "--neuron", "dense/0", "dens/3")), 2,
                            ("--neuron", "'dens/3'", "did you mean 'dense/3'?")),
        "unknown neuron": (Call(("inspect", model, "-i", f["x.csv"], "--neuron", "h7")), 2,
                           ("--neuron", "'h7'", "its neurons: input/0, input/1")),
        "unknown layer": (Call(("inspect", model, "-i", f["x.csv"], "--layer", "hidden")), 2,
                          ("--layer", "'hidden'", "its layers: input, dense, dense_1, dense_2")),
        "render type": (Call(("render", model, "-o", "model.txt")), 2, ("-o/--output", "'.txt'")),
        "render diagram": (Call(("render", model, "-o", "m.svg", "--diagram", "boxes")), 2,
                           ("--diagram", "'boxes'")),
        "render option": (Call(("render", model, "-o", "m.dot", "--diagram", "plan", "--output-labels", "a,b")), 2,
                          ("--output-labels", "only the neurons diagram")),
        "render labels": (Call(("render", model, "-o", "m.dot", "--output-labels", "cat,dog")), 2,
                          ("--output-labels", "2 names for the 4 outputs")),
        "render fold": (Call(("render", model, "-o", "m.dot", "--max-per-column", "2")), 2,
                        ("--max-per-column", "3 or more")),
        "render sample": (Call(("render", model, "-o", "m.dot", "--sample", "1")), 2, ("--sample", "--input")),
        "render page of layers": (Call(("render", model, "-o", "m.html", "--diagram", "layers")), 2,
                                  ("--diagram", "an .html file is the interactive neurons diagram")),
        "render sample range": (Call(("render", model, "-o", "m.dot", "-i", f["x.csv"], "--sample", "-6")), 2,
                                ("--sample", "-6 is out of range")),
        "unwritable diagram": (Call(("render", model, "-o", not_a_folder / "m.dot")), 1,
                               (str(not_a_folder / "m.dot"), "cannot write: Not a directory")),
        "unwritable demo": (Call(("demo", "--diagrams", not_a_folder)), 1,
                            (str(not_a_folder), "cannot write: Not a directory")),
        "compile malformed": (Call(("compile", bad["not_a_model.json"])), 1, (str(bad["not_a_model.json"]),)),
        "export malformed": (Call(("export", bad["truncated.json"], "-o", "m.onnx")), 1,
                             (str(bad["truncated.json"]), "JSON")),
        "export type": (Call(("export", model, "-o", "model.pb")), 2, ("-o/--output", "'model.pb'", ".onnx")),
        "export opset": (Call(("export", model, "-o", "m.onnx", "--opset", "12")), 2,
                         ("--opset", "from 13 to", "got 12")),
        "export dtype": (Call(("export", model, "-o", "m.onnx", "--dtype", "float16")), 2, ("--dtype", "float16")),
        "unwritable export": (Call(("export", model, "-o", not_a_folder / "m.onnx")), 1,
                              (str(not_a_folder / "m.onnx"), "cannot write: Not a directory")),
        "import type": (Call(("import", model.with_suffix(".pt"), "-o", "m.json")), 2,
                        ("FILE", "'" + str(model.with_suffix(".pt")) + "'", ".onnx", ".keras", "nngraph.from_torch")),
        "import output type": (Call(("import", bad["garbage.onnx"], "-o", "m.onnx")), 2,
                               ("-o/--output", "'m.onnx'", ".json")),
        "import missing": (Call(("import", f["folder"] / "nowhere.keras", "-o", "m.json")), 1, ("nowhere.keras",)),
        "import garbage onnx": (Call(("import", bad["garbage.onnx"], "-o", "m.json")), 1, (str(bad["garbage.onnx"]),)),
        "import garbage keras": (Call(("import", bad["garbage.keras"], "-o", "m.json")), 1,
                                 (str(bad["garbage.keras"]), "not a .keras file")),
        "import a model file": (Call(("import", model, "-o", "m.json")), 1, (str(model),)),
        "neuron outside layer": (Call(("inspect", model, "-i", f["x.csv"], "--layer", "dense",
                                       "--neuron", "dense_1/0")), 2, ("--neuron", "'dense_1/0'", "'dense'")),
    }


def test_errors_are_one_line_naming_the_culprit(files: dict[str, Path], bad_files: dict[str, Path]) -> None:
    cases = error_cases(files, bad_files)
    results = run_all({name: call for name, (call, _, _) in cases.items()}, cwd=files["folder"])
    failures = []
    for name, (_, status, culprits) in cases.items():
        try:
            assert_one_line_error(results[name], status, *culprits)
        except AssertionError as error:
            failures.append(f"{name}: {error}\n  stderr: {results[name].stderr!r}")
    assert not failures, "\n".join(failures)


def test_debug_lets_the_error_through_for_its_traceback(files: dict[str, Path],
                                                        bad_files: dict[str, Path]) -> None:
    for argv in (["--debug", "run", files["model.json"], "-i", bad_files["cell.csv"]],
                 ["run", files["model.json"], "-i", bad_files["cell.csv"], "--debug"]):
        with pytest.raises(DataFileError, match="row 3, column 3"):
            main([str(arg) for arg in argv])
    result = python_m_nngraph("run", files["model.json"], "-i", bad_files["cell.csv"], "--debug")
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
    assert "DataFileError: " in result.stderr and "row 3, column 3" in result.stderr


# --- progress and pipes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_input(files: dict[str, Path]) -> Path:
    path = files["folder"] / "big.csv"
    x = np.random.default_rng(0).normal(size=(40_000, 8)).round(3)
    np.savetxt(path, x, delimiter=",", fmt="%.3f")
    return path


def test_progress_shows_on_a_terminal_and_never_in_a_pipe(files: dict[str, Path], big_input: Path) -> None:
    piped = python_m_nngraph("run", files["model.json"], "-i", big_input, "-o", files["folder"] / "big_out.npy")
    assert piped.returncode == 0 and piped.stderr == ""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-m", "nngraph", "run", files["model.json"], "-i", big_input,
                                  "-o", files["folder"] / "big_tty.npy"], stderr=terminal, env=ENV, timeout=120)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal is closed: everything has been read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    text = shown.decode()
    assert "nngraph: reading " in text and "nngraph: running: " in text and "40,000 samples" in text
    assert "\x1b" not in text  # no colour or other escape codes
    assert text.endswith("\r")  # the progress line is erased at the end
    np.testing.assert_array_equal(np.load(files["folder"] / "big_tty.npy"),
                                  np.load(files["folder"] / "big_out.npy"))


def test_a_closed_pipe_ends_quietly(files: dict[str, Path], big_input: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "nngraph", "run", files["model.json"], "-i", big_input],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == (",".join(OUTPUTS) + "\n").encode()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert stderr == b""
    assert process.returncode == 141


# --- the installed console script --------------------------------------------------------------------


def test_the_installed_nngraph_script_runs(files: dict[str, Path], model) -> None:
    script = Path(sys.executable).with_name("nngraph")
    if not script.exists():
        pytest.skip("the nngraph console script is not installed next to this Python (make test installs it)")
    result = subprocess.run([str(script), "summary", files["model.json"]], capture_output=True, text=True,
                            env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == describe(model, title="model") + "\n"
