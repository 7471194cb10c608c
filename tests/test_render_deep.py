"""Deep and busy networks draw in bounded time: pinned neuron diagrams, folded levels and boxes, said in the picture.

Speed itself is measured in benchmarks/render_bench.py; these tests check the
structure that bounds it: every neuron diagram is pinned and gives its own
paths (Graphviz routes nothing), a deep network folds its middle columns and
boxes into one and says so, the number of drawn nodes stays bounded, and every
connection (or neuron passed between ops) is still counted somewhere. A
Graphviz that is killed gives one line naming the signal and what to try.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

import nngraph
from nngraph import RenderError, render, render_layers, render_neurons, render_plan
from nngraph.demo import lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.render.boxes import BOXES_SHOWN, BUSY
from nngraph.render.neurons import COLUMNS_SHOWN

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import deep_genome, neat_genome  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
STATEMENT = re.compile(r"^\t(\w+)(?: -> (\w+))? \[(.*)\]$")


@pytest.fixture(scope="module")
def chain() -> nx.DiGraph:
    """A NEAT-style chain: 300 neurons over 291 levels, 600 connections, most of them long skips."""
    return deep_genome()


@pytest.fixture(scope="module")
def thousand() -> nx.DiGraph:
    """1,000 neurons over 300 levels, 2,000 connections."""
    return deep_genome(n_neurons=1000, n_levels=300, n_inputs=16, n_outputs=8)


def statements(source: str) -> list[tuple[str, str | None, str]]:
    """(node, None, attributes) for each node and (tail, head, attributes) for each edge of a DOT source."""
    return [(match.group(1), match.group(2), match.group(3))
            for match in map(STATEMENT.match, source.splitlines()) if match]


def css(attributes: str) -> str:
    match = re.search(r'\bclass=("[^"]*"|\S+)', attributes)
    return match.group(1).strip('"') if match else ""


def count_label(attributes: str) -> int:
    match = re.search(r"\b(?:head|tail)?label=<?([\d,]+)>?(?= |$)", attributes)
    assert match, attributes
    return int(match.group(1).replace(",", ""))


def test_the_deep_helpers_build_what_they_promise(chain: nx.DiGraph, thousand: nx.DiGraph) -> None:
    assert (len(chain), max(nngraph.levels(chain).values())) == (300, 291)
    assert (len(thousand), max(nngraph.levels(thousand).values())) == (1000, 300)
    level = nngraph.levels(chain)
    jumps = sorted(level[v] - level[u] for u, v in chain.edges)
    assert jumps[len(jumps) * 3 // 4] > 50  # long skips, not a ladder


def test_a_deep_neuron_diagram_folds_its_middle_levels_and_says_so(chain: nx.DiGraph) -> None:
    source = render_neurons(chain).source
    drawn = statements(source)
    captions = [attrs for key, head, attrs in drawn if head is None and css(attrs) == "caption"]
    keep = (COLUMNS_SHOWN - 1) // 2
    assert len(captions) == 2 * keep + 1  # the first levels (inputs included), one folded column, the last
    folded = 292 - 2 * keep
    assert sum(f"{folded} levels folded" in attrs for attrs in captions) == 1
    assert f"level {keep} … level {291 - keep}" in source
    assert (f"292 columns: the {folded} from level {keep} to level {291 - keep} are folded into one "
            "(collapse_columns_above=None draws them all)") in source
    neurons = [key for key, head, attrs in drawn if head is None and css(attrs).startswith("neuron")]
    assert len(neurons) == 300 - folded  # one neuron per level here, the 5 inputs and 5 outputs
    # Every connection is drawn, bundled, or counted inside the folded node.
    singles = [attrs for _, head, attrs in drawn if head and css(attrs) == "connection"]
    bundles = [attrs for _, head, attrs in drawn if head and css(attrs) == "bundle"]
    inner = int(re.search(r"([\d,]+) connections among them", source).group(1).replace(",", ""))
    assert len(singles) + sum(map(count_label, bundles)) + inner == chain.number_of_edges()


def test_every_neuron_diagram_is_pinned_and_routed_by_nngraph(chain: nx.DiGraph) -> None:
    """Graphviz places and routes nothing: nodes are pinned, skip connections carry their paths."""
    source = render_neurons(chain, collapse_columns_above=None).source
    assert "layout=nop2" in source and "splines=line" in source
    drawn = statements(source)
    nodes = [attrs for key, head, attrs in drawn if head is None and key not in ("node", "edge")]
    assert len(nodes) == 300 + 292 + 1  # neurons, captions, legend: no bend points or helper nodes
    assert all(re.search(r'\bpos="[-\d.]+,[-\d.]+!"', attrs) for attrs in nodes)
    links = [attrs for _, head, attrs in drawn if head]
    assert len(links) == chain.number_of_edges()
    level = nngraph.levels(chain)
    skips = sum(level[v] - level[u] > 1 for u, v in chain.edges)
    assert sum("pos=" in attrs for attrs in links) == skips > 250


def test_a_layered_network_folds_layers_in_both_diagrams() -> None:
    model = Sequential([Dense(units=3, input_shape=(4,), activation="relu"),
                        *[Dense(units=3, activation="relu") for _ in range(6)],
                        Dense(units=2, activation="softmax")], seed=0)
    neurons = render_neurons(model, collapse_columns_above=5).source
    # Columns: the inputs, dense ... dense_7; the first and last two stay.
    assert "5 layers folded" in neurons and "dense_1 … dense_5" in neurons
    assert "9 columns: the 5 from dense_1 to dense_5 are folded into one" in neurons
    layers = render_layers(model, collapse_boxes_above=5).source
    boxes = [key for key, head, attrs in statements(layers) if head is None and css(attrs) == "layer"]
    assert boxes == ["inputs", "layer1", "layer2", "folded", "layer7", "layer8"]
    assert "<b>dense_2 … dense_5</b>" in layers and "4 layers folded" in layers
    assert "12 units" in layers and f"{4 * (3 * 3 + 3)} params" in layers
    assert "27 connections among them" in layers  # 3 pairs of consecutive folded layers, 9 each
    assert "8 layers: the 4 from dense_2 to dense_5 are folded into one box" in layers
    assert render_layers(model).source.count("class=layer") == 9  # below the default: all drawn


def arrow_total(source: str) -> int:
    return sum(int(re.search(r"label=<([\d,]+) ", attrs).group(1).replace(",", ""))
               for _, head, attrs in statements(source) if head)


def test_deep_layer_and_plan_diagrams_fold_their_middle_boxes(chain: nx.DiGraph) -> None:
    plan = nngraph.compile_network(chain)
    for source, css_name, things in ((render_layers(chain).source, "layer", "groups"),
                                     (render_plan(plan).source, "op", "ops")):
        boxes = [key for key, head, attrs in statements(source) if head is None and css(attrs) == css_name]
        keep = (BOXES_SHOWN - 1) // 2
        assert len(boxes) == 2 * keep + 1 + (css_name == "layer")  # the layer diagram also boxes the inputs
        assert "folded" in boxes
        assert f"{len(plan.ops)} {things}: the {len(plan.ops) - 2 * keep} from " in source
    # Every neuron passed between ops is on an arrow or counted inside the folded box.
    source = render_plan(plan).source
    inner = int(re.search(r"([\d,]+) neurons passed among them", source).group(1).replace(",", ""))
    flow = sum(count for *_, count in plan.to_networkx().edges(data="neurons")) + len(plan.outputs)
    assert arrow_total(source) + inner == flow
    assert arrow_total(render_plan(plan, collapse_boxes_above=None).source) == flow


def test_busy_box_diagrams_cut_dots_searches_short_and_small_ones_do_not() -> None:
    busy = nngraph.compile_network(neat_genome(n_inputs=8, n_hidden=120, n_outputs=4, n_connections=3000,
                                               depth=12, seed=0), passes=("choose_kinds",))  # an op per activation
    source = render_plan(busy).source
    assert source.count(" -> ") > BUSY and "nslimit=10" in source and "mclimit=0.5" in source
    for small in (render_plan(nngraph.compile_network(lesson_model().graph)).source,
                  render_layers(lesson_model()).source):
        assert "nslimit" not in small and "mclimit" not in small


@pytest.mark.parametrize(("call", "culprit"), [
    (lambda: render_neurons(lesson_model(), collapse_columns_above=2), "collapse_columns_above must be"),
    (lambda: render_neurons(lesson_model(), collapse_columns_above=True), "collapse_columns_above must be"),
    (lambda: render_layers(lesson_model(), collapse_boxes_above=0), "render_layers: collapse_boxes_above"),
    (lambda: render_plan(nngraph.compile_network(lesson_model().graph), collapse_boxes_above="9"),
     "render_plan: collapse_boxes_above"),
])
def test_bad_fold_limits_are_named(call, culprit: str) -> None:  # noqa: ANN001 - a lambda
    with pytest.raises(RenderError, match=re.escape(culprit)):
        call()


def drawn_nodes(svg: bytes) -> list[str]:
    return [group.get("class", "") for group in ET.fromstring(svg).iter(f"{SVG}g")
            if group.get("class", "").startswith("node")]


@pytest.mark.needs_dot
@pytest.mark.parametrize("network", ["chain", "thousand"])
def test_deep_diagrams_render_to_svg_with_bounded_nodes(network: str, request: pytest.FixtureRequest,
                                                        tmp_path: Path) -> None:
    G = request.getfixturevalue(network)
    neurons = ET.parse(render(G, tmp_path / "neurons.svg")).getroot()
    classes = [group.get("class", "") for group in neurons.iter(f"{SVG}g")]
    assert sum(css_name.startswith("node neuron") for css_name in classes) <= COLUMNS_SHOWN * 9
    assert sum(css_name == "node more" for css_name in classes) >= 1
    assert any("are folded into one" in (text.text or "") for text in neurons.iter(f"{SVG}text"))
    for kind in ("layers", "plan"):
        svg = render(G, tmp_path / f"{kind}.svg", kind=kind).read_bytes()
        assert len(drawn_nodes(svg)) <= BOXES_SHOWN + 2 and b"folded into one box" in svg


@pytest.fixture
def killed_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``dot`` first on PATH that kills itself, as the kernel kills a program that runs out of memory."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "dot"
    fake.write_text("#!/bin/sh\nkill -KILL $$\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def test_a_killed_dot_is_one_line_naming_the_signal_and_what_to_try(killed_dot: Path, tmp_path: Path) -> None:
    with pytest.raises(RenderError) as caught:
        render(lesson_model().graph, tmp_path / "lesson.svg")
    message = str(caught.value)
    assert "\n" not in message and caught.value.__cause__ is None and caught.value.__suppress_context__
    assert message.startswith("render: Graphviz's dot was killed by SIGKILL while drawing 'lesson.svg'")
    assert ".dot file" in message and "collapse_columns_above" in message
    assert not (tmp_path / "lesson.svg").exists()


def test_the_command_line_reports_a_killed_dot_in_one_line(killed_dot: Path, tmp_path: Path) -> None:
    nngraph.save(lesson_model().graph, tmp_path / "lesson.json")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "nngraph", "render", str(tmp_path / "lesson.json"),
                           "-o", str(tmp_path / "lesson.svg")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "killed by SIGKILL" in done.stderr
