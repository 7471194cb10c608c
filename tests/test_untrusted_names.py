"""Names from untrusted graphs and model files: never code, always shown escaped, refused when unholdable.

Neuron ids, layer names and activation names with every ASCII control character, quotes,
backslashes, ``#``, line separators, Python keywords and DOT keywords must compile, run (both
runners, against the reference), trace, print, explain, save, load and draw; ids with NUL or lone
surrogates must be refused naming the neuron. Payloads that would create a marker file if a name
ever became code prove that none does, from the library and from the command line.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import keyword
import os
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nngraph
from nngraph import CodegenOptions, ModelFileError, NetworkError
from nngraph.cli import main as cli_main
from nngraph.cli.progress import Progress
from nngraph.compiler.codegen import generate
from nngraph.compiler.passes import choose_kinds
from nngraph.execute.compiled import compile_plan, run_plan
from nngraph.names import printable, quoted, unfaithful_character
from nngraph.keras.summary import describe
from tests.strategies import assert_equivalent

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

# Every character that ends a line somewhere: for Python's tokenizer (\n, \r), for str.splitlines
# (\x0b, \x0c, \x1c-\x1e, \x85, \u2028, \u2029), for terminals.
SEPARATORS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
# Each would create the file "m" in the working folder if it ran as Python (short enough to
# survive the shortening of names in comments).
PAYLOADS = [f"{separator}    open('m','w')#" for separator in SEPARATORS]
CONTROL = [f"c{code}{chr(code)}x" for code in [*range(1, 32), 127]]
HOSTILE = [
    *CONTROL, *PAYLOADS, "'", '"', "'''", '"""', "\\", "a\\", "\\n", "#", "# x", "\\x00", "\u202e",
    "\x1b[2J\x1b[31m", "\ufeff", "\xa0", "", " ", "{}", "{0}", "%s", "<b>", "&amp;", "]", ";", "->",
    "node", "edge", "graph", "digraph", "subgraph", "strict", "entrée", "中文",
    *sorted(keyword.kwlist), "__import__", "exec", "os", "x" * 80 + "\r", ("a\r", 1), ("x", ("\n#", "y")), 0, -1,
]
UNHOLDABLE = ["\x00", "a\x00b", "\udc80", "x\ud800", ("ok", "\x00"), ("a", ("b", "\udfff"))]
UNSHOWN = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # control, format, surrogate, line and paragraph separators
ACTIVATIONS = ["relu\r", " leaky_relu(\x0balpha=0.1)\x0c", "sigmoid\u2028", "tanh", "ReLU\n", "linear"]


def assert_printable(text: str) -> None:
    """Every line of ``text`` is printable: no control character, separator or format character."""
    for line in text.split("\n"):
        assert line.isprintable(), repr(line)


def hostile_network(names: list) -> nx.DiGraph:
    """A network named by ``names``: inputs, a dense relu layer, a partly connected layer with skips
    and mixed activation spellings, a softmax output layer and a linear output; every layer name
    hostile too."""
    rng = np.random.default_rng(0)
    names = list(names)
    inputs, dense, mixed, soft, last = (names[0:5], names[5:20], names[20:40], names[40:50], names[50:])
    G = nngraph.new_network()
    for node in inputs:
        nngraph.add_input(G, node)
    for node in dense:
        nngraph.add_neuron(G, nngraph.Neuron(node, activation="relu", bias=rng.uniform(-1, 1), layer="\r#"))
        for source in inputs:
            nngraph.connect(G, source, node, rng.uniform(-1, 1))
    for index, node in enumerate(mixed):
        nngraph.add_neuron(G, nngraph.Neuron(node, activation=ACTIVATIONS[index % len(ACTIVATIONS)],
                                             bias=rng.uniform(-1, 1)))
        for source in dense[index % 3::3] + inputs[index % 2::4]:
            nngraph.connect(G, source, node, rng.uniform(-1, 1))
    for node in soft:
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output", activation="softmax", layer="out\x1b[2J\n"))
        for source in mixed[::2]:
            nngraph.connect(G, source, node, rng.uniform(-1, 1))
    for node in last:
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output", bias=rng.uniform(-1, 1)))
        for source in [*mixed[1::4], *dense[:2]]:
            nngraph.connect(G, source, node, rng.uniform(-1, 1))
    return G


def plans(G: nx.DiGraph) -> list[nngraph.CompiledPlan]:
    """``G`` compiled every way: chosen kinds, all sparse, float32, no passes, and without the native
    kernel (with scalar code, which a plan of more than a few hundred connections gets only then)."""
    plan = nngraph.compile_network(G)
    return [plan, compile_plan(choose_kinds(plan.plan, kind="sparse")), nngraph.compile_network(G, dtype=np.float32),
            nngraph.compile_network(G, passes=()),
            nngraph.compile_network(G, options=CodegenOptions(native_kernel=False))]


def check_every_view(G: nx.DiGraph, x: np.ndarray) -> None:
    """Compile ``G`` every way and check each plan and every text about it (see the module doc)."""
    for plan in plans(G):
        assert_equivalent(plan, G, x)
        assert plan.code.isascii()
        assert_printable(plan.code)
        assert_printable(str(plan))
        for node in G:
            explanation = plan.explain(node)
            assert_printable(explanation)
            assert f"neuron {quoted(node)} " in explanation
        assert_printable(plan.trace(x).table(0))
    assert_printable(nngraph.run_reference(G, x).table(0))
    assert_printable(describe(G))


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test runs in its own folder, where a payload that ran would leave the file "m"."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / "m").exists(), "a name ran as code"


def test_the_hostile_names_cover_every_ascii_control_character_but_nul() -> None:
    text = "".join(part for name in HOSTILE for part in (name if isinstance(name, tuple) else (name,))
                   if isinstance(part, str))
    assert set(map(chr, [*range(1, 32), 127])) <= set(text)
    assert not any(unfaithful_character(name) for name in HOSTILE)


def test_hostile_names_compile_run_trace_print_and_explain_correctly() -> None:
    G = hostile_network(HOSTILE)
    x = np.random.default_rng(1).uniform(-2, 2, size=(3, 5))
    check_every_view(G, x)
    runners = [plan.program.runners for plan in plans(G)]
    assert runners[0] == ("numpy", "native") and runners[-1] == ("numpy", "scalar")  # all covered


@pytest.mark.parametrize("payload", PAYLOADS, ids=[repr(separator) for separator in SEPARATORS])
def test_no_payload_runs_whatever_ends_its_line(payload: str) -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron(payload, role="output", layer=payload))
    nngraph.connect(G, "x", payload, 1.0)
    plan = nngraph.compile_network(G)
    assert plan.program.runners == ("numpy", "scalar", "native")
    for runner in plan.program.runners:
        np.testing.assert_array_equal(run_plan(plan, [[2.0]], runner=runner), [[2.0]])
    assert printable(payload)[:20] in plan.code and payload not in plan.code
    plan.trace([2.0])


def test_generated_code_that_is_not_printable_ascii_is_refused_before_it_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Were a future change to write a name into code unescaped, the program refuses to run it: the
    # source is written (and checked) on first use, so every use that needs it raises, each time.
    monkeypatch.setattr("nngraph.compiler.products.op_comment", lambda op, producer: f"# {op.targets[0]}")
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron(PAYLOADS[1], role="output"))
    nngraph.connect(G, "x", PAYLOADS[1], 1.0)
    plan = nngraph.compile_network(G)
    for use in (lambda: plan([2.0]), lambda: plan.trace([2.0]), lambda: plan.code, lambda: plan.runner,
                lambda: run_plan(plan, [[2.0]], runner="numpy")):
        with pytest.raises(nngraph.CompileError, match="holds a character other than printable ASCII"):
            use()
    assert set(plan.program._built) == set()  # nothing was built, so nothing ran


def test_activation_names_and_parameters_reach_code_only_as_canonical_names_and_floats() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", activation=" Leaky_ReLU(\ralpha = 0.125 )\x0c"))
    nngraph.connect(G, "x", "y", 1.0)
    plan = nngraph.compile_network(G)
    assert plan.ops[0].activation == "leaky_relu(alpha=0.125)"
    assert "a1 = z1 if z1 > 0.0 else 0.125 * z1" in plan.code
    assert_printable(plan.code)
    assert_equivalent(plan, G, [[-2.0], [3.0]])
    for spec in ["leaky_relu(alpha=0.1)\r    open('m','w')#", "leaky_relu(alpha=__import__('os'))",
                 "leaky_relu(alpha=1e400)", "relu\x00", "relu\udc80", "leaky_relu(alpha=0.1\udc80)"]:
        nngraph.add_neuron(G, nngraph.Neuron("y", role="output", activation=spec))
        with pytest.raises(nngraph.UnknownActivationError) as error:
            nngraph.compile_network(G)
        assert_printable(str(error.value))


def test_scalar_code_writes_numbers_only_as_finite_float_literals() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", bias=0.1 + 0.2))
    nngraph.connect(G, "x", "y", -1e-300)
    plan = nngraph.compile_network(G)
    assert "z1 = 0.30000000000000004 - 1e-300 * a0" in plan.code
    # A plan changed by hand after validation: a number that is no float literal is refused.
    [op] = plan.ops
    broken = dataclasses.replace(plan.plan, ops=(dataclasses.replace(op, bias=np.array([np.inf])),))
    program = generate(broken)  # the scalar code is written on its first use, and refused there
    with pytest.raises(nngraph.CompileError, match="scalar code: inf is not a finite number"):
        program.scalar
    with pytest.raises(nngraph.CompileError, match="scalar code: inf is not a finite number"):
        program.code


@pytest.mark.parametrize("name, where", [(name, where) for name in UNHOLDABLE for where in ("input", "output")]
                         + [(name, "layer") for name in UNHOLDABLE if isinstance(name, str)], ids=repr)
def test_nul_and_lone_surrogates_are_refused_by_validate_and_save_naming_the_neuron(
        name: object, where: str, tmp_path: Path) -> None:
    node = {"input": name, "output": name, "layer": "y"}[where]
    G = nngraph.new_network()
    nngraph.add_input(G, "x" if where != "input" else name)
    nngraph.add_neuron(G, nngraph.Neuron("y" if where != "output" else name, role="output",
                                         layer=name if where == "layer" else None))
    nngraph.connect(G, *nngraph.inputs(G), *nngraph.outputs(G), 1.0)
    with pytest.raises(NetworkError, match="NUL|lone surrogate") as error:
        nngraph.validate(G)
    assert error.value.node == node
    message = str(error.value)
    assert_printable(message)
    assert message.startswith(f"neuron {quoted(error.value.node)}: ")
    with pytest.raises(NetworkError):
        nngraph.save(G, tmp_path / "refused.json")
    assert not (tmp_path / "refused.json").exists()


def handmade_document(output: object, layer: str | None = None) -> str:
    """A model file as someone might write it by hand: one input, one output named ``output``."""
    neuron = {"id": output, "role": "output", "bias": 0.0, "activation": "linear"}
    if layer is not None:
        neuron["layer"] = layer
    return json.dumps({"format": "nngraph", "version": 1, "inputs": ["x"], "outputs": [output],
                       "neurons": [{"id": "x", "role": "input"}, neuron],
                       "connections": [{"source": "x", "target": output, "weight": 1.0}]})


@pytest.mark.parametrize("text, culprit", [
    ('"a\\u0000b"', "'a\\x00b'"), ('"\\udc80"', "'\\udc80'"), ('["ok", ["\\u0000"]]', "('ok', ('\\x00',))")])
def test_load_refuses_nul_and_lone_surrogates_in_ids_naming_the_neuron_escaped(
        tmp_path: Path, text: str, culprit: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(handmade_document("PLACEHOLDER").replace('"PLACEHOLDER"', text))
    with pytest.raises(ModelFileError) as error:
        nngraph.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: neuron {culprit}: its id holds ")
    assert_printable(message)
    layered = tmp_path / "layer.json"
    layered.write_text(handmade_document("y", layer="L").replace('"L"', '"L\\u0000"'))
    with pytest.raises(ModelFileError, match=r"neuron 'y': its layer name 'L\\x00' holds NUL"):
        nngraph.load(layered)


def test_hostile_names_round_trip_through_a_model_file(tmp_path: Path) -> None:
    G = hostile_network(HOSTILE)
    path = tmp_path / "hostile.json"
    nngraph.save(G, path)
    loaded = nngraph.load(path)
    assert list(loaded.nodes(data=True)) == list(G.nodes(data=True))
    assert list(loaded.edges(data=True)) == list(G.edges(data=True))
    check_every_view(loaded, np.random.default_rng(2).uniform(-2, 2, size=(2, 5)))


def test_a_handwritten_model_file_with_a_carriage_return_payload_runs_nothing(tmp_path: Path) -> None:
    # The JSON text as an attacker writes it: the id's \r ended the comment that named it.
    path = tmp_path / "evil.json"
    path.write_text('{"format": "nngraph", "version": 1, "inputs": ["x"], "outputs": ["\\r    open(\'m\',\'w\')#"],'
                    ' "neurons": [{"id": "x", "role": "input"}, {"id": "\\r    open(\'m\',\'w\')#",'
                    ' "role": "output", "bias": 0.5, "activation": "linear"}], "connections":'
                    ' [{"source": "x", "target": "\\r    open(\'m\',\'w\')#", "weight": 2.0}]}')
    G = nngraph.load(path)
    assert nngraph.outputs(G) == ["\r    open('m','w')#"]
    plan = nngraph.compile_network(G)
    assert plan([1.0]).tolist() == [2.5] and plan([[1.0]] * 100).tolist() == [[2.5]] * 100
    assert plan.trace([1.0]).outputs.tolist() == [[2.5]]
    assert_printable(str(plan) + plan.code + plan.explain("\r    open('m','w')#"))


def nngraph_cli(*args: object, stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m nngraph ARGS`` in a subprocess: the command line exactly as a user runs it."""
    return subprocess.run([sys.executable, "-m", "nngraph", *map(str, args)], input=stdin, cwd=cwd,
                          capture_output=True, text=True, env=ENV, timeout=120)


def main(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the command line's ``main`` in this process (fast): exit status, standard output and error."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        status = cli_main(list(args))
    return status, out.getvalue(), err.getvalue()


def test_the_command_line_runs_nothing_and_prints_names_escaped(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    payload = "\r    open('m','w')#"
    (tmp_path / "evil.json").write_text(handmade_document(payload, layer="L\x1b[2J"))
    run = nngraph_cli("run", "evil.json", "--input", "-", stdin="1.5\n", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert list(csv.reader(io.StringIO(run.stdout))) == [[printable(payload)], ["1.5"]]
    status, out, err = main("inspect", "evil.json", "--input", "-", "--layer", "L\\x1b[2J", "--json",
                            stdin="1.5\n", monkeypatch=monkeypatch)
    assert status == 0, err
    record = json.loads(out)["neurons"][0]
    assert (record["layer"], record["neuron"], record["value"]) == ("L\\x1b[2J", printable(payload), 1.5)
    status, out, err = main("inspect", "evil.json", "--input", "-", stdin="1.5\n", monkeypatch=monkeypatch)
    assert "\\r    open('m','w')#" in out
    assert_printable(out + err)
    for args in [("summary",), ("compile",), ("compile", "--code"), ("render", "-o", "evil.dot")]:
        status, out, err = main(args[0], "evil.json", *args[1:], monkeypatch=monkeypatch)
        assert status == 0, err
        assert_printable(out + err)
    assert not (tmp_path / "m").exists()


def test_command_line_errors_name_culprits_escaped_on_one_line(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    nul = handmade_document("PLACEHOLDER").replace('"PLACEHOLDER"', '"\\u0000\\u001b[2J"')
    (tmp_path / "nul.json").write_text(nul)
    (tmp_path / "evil.json").write_text(handmade_document("\r\x1b[31m"))
    status, _, err = main("summary", "nul.json", monkeypatch=monkeypatch)
    assert status == 1
    assert err == ("nngraph: error: nul.json: neuron '\\x00\\x1b[2J': its id holds NUL ('\\x00'), "
                   "which terminals, diagrams and UTF-8 files cannot hold as it is; rename it\n")
    status, _, err = main("inspect", "evil.json", "--input", "-", "--neuron", "nope", stdin="1\n",
                          monkeypatch=monkeypatch)
    assert status == 2
    assert "its neurons: x, \\r\\x1b[31m" in err and err.count("\n") == 1
    assert_printable(err)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_a_hostile_path_escaped() -> None:
    terminal = Terminal()
    with Progress(terminal).task("loading \x1b[2Jevil\n.json"):
        pass
    assert "\rnngraph: loading \\x1b[2Jevil\\n.json ..." in terminal.getvalue()
    assert "\x1b" not in terminal.getvalue() and "\n" not in terminal.getvalue()


def test_errors_and_lookups_show_names_escaped() -> None:
    G = hostile_network(HOSTILE)
    nngraph.add_neuron(G, nngraph.Neuron("\r\x1b[2J", activation="rleu\x07"))
    with pytest.raises(nngraph.UnknownActivationError) as error:
        nngraph.validate(G)
    assert str(error.value).startswith("neuron '\\r\\x1b[2J': unknown activation 'rleu\\x07'")
    trace = nngraph.run_reference(hostile_network(HOSTILE), np.zeros(5))
    with pytest.raises(nngraph.NeuronNotFoundError) as missing:
        trace.value("\x1b[2J\n")
    assert str(missing.value) == "no neuron '\\x1b[2J\\n' in this network"
    G = hostile_network(HOSTILE)
    G.add_edge(HOSTILE[60], HOSTILE[6], weight=1.0)  # a cycle through hostile names
    with pytest.raises(nngraph.CycleError) as cycle:
        nngraph.validate(G)
    assert_printable(str(cycle.value))


def dot_source_lines_are_printable(source: str) -> None:
    assert_printable(source.replace("\t", ""))


def test_diagrams_hold_names_escaped() -> None:
    G = hostile_network(HOSTILE)
    trace = nngraph.run_reference(G, np.ones(5))
    labels = [f"class {name}" for name in nngraph.outputs(G) if isinstance(name, str)]
    labels += ["'\\\"\r"] * (len(nngraph.outputs(G)) - len(labels))
    sources = [nngraph.render_neurons(G, trace=trace, names=True, output_labels=labels, collapse_above=None,
                                      title="t\x1b\\", sample_label="s\r\"").source,
               nngraph.render_neurons(G, collapse_above=4).source,
               nngraph.render_layers(G).source, nngraph.render_plan(nngraph.compile_network(G)).source]
    for source in sources:
        dot_source_lines_are_printable(source)
    assert "c13\\rx" in sources[0] and "c10\\nx" in sources[0]


@pytest.mark.needs_dot
def test_graphviz_draws_hostile_names_as_valid_svg(tmp_path: Path) -> None:
    G = hostile_network(HOSTILE)
    trace = nngraph.run_reference(G, np.ones(5))
    every_name = {"trace": trace, "names": True, "collapse_above": None}
    for kind, options in [("neurons", every_name), ("layers", {}), ("plan", {})]:
        path = nngraph.render(G, tmp_path / f"{kind}.svg", kind=kind, **options)
        texts = "".join(ET.parse(path).getroot().itertext())  # valid XML: no NUL or C0 control
        assert not [char for char in texts.replace("\n", "") if unicodedata.category(char) in UNSHOWN]
    texts = ET.parse(tmp_path / "neurons.svg").getroot().itertext()
    assert {"c1\\x01x", "c27\\x1bx", "\\x1b[2J\\x1b[31m"} <= set(texts)


# Names drawn from hostile characters: controls, separators, quotes, backslash, '#', NUL and
# surrogates (refused), keywords' letters, and any other character.
_ALPHABET = [*map(chr, range(0, 32)), "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "'", '"', "\\", "#",
             " ", "(", ")", "o", "s", "\ud800", "\udfff"]
names = st.one_of(
    st.text(st.one_of(st.sampled_from(_ALPHABET), st.characters()), max_size=10),
    st.sampled_from(keyword.kwlist),
    st.tuples(st.text(st.sampled_from(_ALPHABET), max_size=4), st.integers(-3, 3)),
)


# The autouse fixture's folder serves every example alike.
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ids=st.lists(names, min_size=6, max_size=10, unique=True), layer=names.filter(
    lambda name: isinstance(name, str)), x=st.lists(st.floats(-2, 2), min_size=2, max_size=2))
def test_random_hostile_names_work_or_are_refused(ids: list, layer: str, x: list[float]) -> None:
    G = nngraph.new_network()
    first, second = ids[:2], ids[2:]
    for node in first:
        nngraph.add_input(G, node)
    for index, node in enumerate(second):
        nngraph.add_neuron(G, nngraph.Neuron(node, role="output" if index % 2 else "hidden", bias=0.25 * index,
                                             activation=("tanh", "relu\r", "softmax")[index % 3], layer=layer))
        # Every earlier neuron but the softmax ones (index 2, 5, ...), which may not feed their layer.
        for source in [*first, *(earlier for j, earlier in enumerate(second[:index]) if j % 3 != 2)]:
            nngraph.connect(G, source, node, 0.5 - 0.125 * index)
    if any(unfaithful_character(name) for name in [*ids, layer]):
        with pytest.raises(NetworkError, match="NUL|lone surrogate") as error:
            nngraph.compile_network(G)
        assert_printable(str(error.value))
        with pytest.raises(NetworkError):
            nngraph.save(G, "fuzz.json")
        return
    for plan in plans(G):
        assert_equivalent(plan, G, [x, x[::-1]])
        assert plan.code.isascii()
        assert_printable(plan.code + str(plan) + "".join(plan.explain(node) for node in G))
        assert_printable(plan.trace(x).table(0))
    dot_source_lines_are_printable(nngraph.render_neurons(G, names=True).source)
    nngraph.save(G, "fuzz.json")
    assert list(nngraph.load("fuzz.json").nodes(data=True)) == list(G.nodes(data=True))
