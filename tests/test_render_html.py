"""The interactive HTML view, without a browser: its data against the trace, its safety, writing it, Jupyter.

The numbers the page shows are checked here against the trace and the graph
(the oracle); ``test_html_browser.py`` checks that the page shows them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import GraphvizMissingError, RenderError, render, render_html, run_reference
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.render import style
from nngraph.render.html import MAX_SAMPLES, script_json
from nngraph.render.html_data import DIGITS, TERMS, view_data
from nngraph.render.layout import links
from nngraph.render.neurons import neuron_diagram
from nngraph.render.plan_network import network_of_plan
from nngraph.render.values import read_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from diagrams import neat_genome  # noqa: E402 - examples/diagrams.py: a genome with skips, no layers

DATA = re.compile(r'<script type="application/json" class="nngraph-data">(.*?)</script>', re.S)


def shown(value: float) -> float | str:
    """A number as the page must show it: DIGITS significant digits."""
    value = float(value)
    return "NaN" if np.isnan(value) else float(f"{value:.{DIGITS}g}") + 0.0


def page_data(page: str) -> dict:
    """The JSON document a page's script reads."""
    return json.loads(DATA.search(page).group(1))


def by_name(data: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in data["neurons"] if not entry.get("folded")}


@pytest.fixture(scope="module")
def lesson() -> Sequential:
    return lesson_model()


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    return np.vstack([SAMPLE, np.random.default_rng(5).uniform(-1.0, 1.0, size=(3, 8))])


@pytest.fixture(scope="module")
def folded() -> Sequential:
    """Wide enough to fold (30 inputs, 20 hidden), small enough to check every connection."""
    return Sequential([Dense(units=20, input_shape=(30,), activation="relu"),
                       Dense(units=12, activation="tanh"), Dense(units=3, activation="softmax")], seed=4)


def lesson_view(model: Sequential, trace: nngraph.Trace | None) -> dict:
    diagram = neuron_diagram(model, trace=trace, output_labels=CLASS_NAMES)
    return view_data(diagram, trace=trace, sample=0, input_labels={},
                     output_labels=dict(zip(nngraph.outputs(model.graph), CLASS_NAMES)))


def test_each_neurons_weighted_sum_is_the_traces_term_by_term(lesson: Sequential, samples: np.ndarray) -> None:
    G = lesson.graph
    trace = run_reference(G, samples)
    data = lesson_view(lesson, trace)
    assert data["samples"] == 4 and data["digits"] == DIGITS
    neurons = by_name(data)
    assert len(neurons) == 24  # every neuron of the lesson is drawn
    for node in nngraph.computed(G):
        entry = neurons[node]
        assert entry["bias"] == shown(G.nodes[node]["bias"]) and entry["activation"] == G.nodes[node]["activation"]
        assert entry["fanIn"] == G.in_degree(node) == len(entry["in"])
        assert {name: weight for name, weight in entry["in"]} == {
            source: shown(weight) for source, _, weight in G.in_edges(node, data="weight")}
        for sample in range(4):
            assert entry["z"][sample] == shown(trace.weighted_sum(node)[sample])
            assert entry["a"][sample] == shown(trace.value(node)[sample])
            terms = entry["terms"][sample]
            exact = {source: weight * trace.value(source)[sample]
                     for source, _, weight in G.in_edges(node, data="weight")}
            sources = [entry["in"][index][0] for index, _, _ in terms]
            assert sorted(sources) == sorted(exact)  # all 8 (or 6) terms, none summed away
            assert [abs(exact[source]) for source in sources] == sorted(map(abs, exact.values()), reverse=True)
            for (index, value, product), source in zip(terms, sources):
                assert value == shown(trace.value(source)[sample]) and product == shown(exact[source])
            assert entry["rest"][sample] == 0.0
    softmax = neurons["dense_2/0"]
    assert softmax["groupWise"] and softmax["groupSize"] == 4 and softmax["probability"]
    assert softmax["label"] == "cat" and softmax["kind"] == "softmax"


def test_sample_by_sample_drawing_matches_the_svg_diagram_of_that_sample(lesson: Sequential,
                                                                        samples: np.ndarray) -> None:
    """Fills, numbers in circles, output labels and the legend's scale are what render_neurons draws."""
    trace = run_reference(lesson.graph, samples)
    data = lesson_view(lesson, trace)
    neurons = {entry["key"]: entry for entry in data["neurons"]}
    for sample in range(4):
        source = neuron_diagram(lesson, trace=trace, sample=sample, output_labels=CLASS_NAMES).dot.source
        for key, entry in neurons.items():
            line = re.search(rf"^\t{key} \[(.*)\]$", source, re.M).group(1)
            assert f'fillcolor="{entry["fill"][sample]}"' in line
            for text in entry["text"][sample]:
                assert text in line
        for label in data["outputLabels"]:
            expected = label["text"][sample]
            assert expected in source
            assert (f"<b>{expected}</b>" in source) == label["bold"][sample]
        low, high = data["scale"][sample]
        assert f">{low}</td>" in source and f">{high}</td>" in source


def test_folded_nodes_bundles_and_long_sums_are_summarised_exactly(folded: Sequential) -> None:
    G = folded.graph
    x = np.random.default_rng(9).uniform(-1.0, 1.0, size=(5, 30))
    trace = run_reference(G, x)
    diagram = neuron_diagram(folded, trace=trace)
    data = view_data(diagram, trace=trace, sample=0, input_labels={}, output_labels={})
    entries = {entry["key"]: entry for entry in data["neurons"]}
    folds = [slot for column in diagram.layout.columns for slot in column.slots if slot.node is None]
    assert len(folds) == 3  # 30 inputs, 20 and 12 neurons fold; the 3 outputs do not
    for slot in folds:
        entry = entries[slot.key]
        assert entry["count"] == len(slot.folded)
        assert (entry["first"], entry["last"]) == (str(slot.folded[0]), str(slot.folded[-1]))
        assert entry["fanIn"] == sum(G.in_degree(node) for node in slot.folded)
        values = np.array([trace.value(node) for node in slot.folded])
        assert entry["low"] == [shown(v) for v in values.min(axis=0)]
        assert entry["high"] == [shown(v) for v in values.max(axis=0)]
        assert entry["mean"] == [shown(v) for v in values.mean(axis=0)]
        assert [name for name, _ in entry["largest"]] == [
            str(slot.folded[i]) for i in np.abs(values).argmax(axis=0)]
    # A neuron of the second hidden layer sums 20 terms: the largest TERMS written out, the rest summed.
    node = "dense_1/0"
    entry = entries[diagram.layout.slot_of[node].key]
    for sample in range(5):
        exact = {source: weight * trace.value(source)[sample] for source, _, weight in G.in_edges(node, data="weight")}
        named = [entry["in"][index][0] for index, _, _ in entry["terms"][sample]]
        assert len(named) == TERMS
        assert sorted(map(abs, (exact[s] for s in named)), reverse=True) == sorted(map(abs, exact.values()),
                                                                                   reverse=True)[:TERMS]
        rest = sum(value for source, value in exact.items() if source not in named)
        assert entry["rest"][sample] == pytest.approx(shown(rest), rel=1e-3)
        assert G.nodes[node]["bias"] + sum(exact[s] for s in named) + rest == pytest.approx(
            trace.weighted_sum(node)[sample], rel=1e-12)
    # Every drawn edge, bundles included, carries what the SVG diagram's links carry for each sample.
    for sample in range(5):
        expected = links(G, diagram.layout, read_sample(trace, sample, list(G)).values)
        for link, drawn in zip(data["links"], expected):
            assert (link["source"], link["target"], link["count"]) == (drawn.source.key, drawn.target.key,
                                                                      drawn.count)
            assert link["weight"] == shown(drawn.weight)
            assert link["contribution"][sample] == pytest.approx(shown(drawn.contribution), rel=1e-3, abs=1e-12)


def test_nan_and_infinity_reach_the_page_as_numbers_javascript_reads(lesson: Sequential) -> None:
    x = np.vstack([SAMPLE, SAMPLE])
    x[0, 3], x[1, 2] = np.inf, np.nan
    with np.errstate(invalid="ignore"):
        trace = run_reference(lesson.graph, x)
    data = json.loads(script_json(lesson_view(lesson, trace)))  # script_json refuses NaN as a JSON number
    entry = by_name(data)["dense/0"]
    assert entry["z"] == ["Infinity", "NaN"] and entry["a"] == ["Infinity", "NaN"]
    first = entry["terms"][1][0]  # NaN explains a NaN sum: it comes first
    assert entry["in"][first[0]][0] == "input/2" and first[1:] == ["NaN", "NaN"]
    assert by_name(data)["input/2"]["fill"][1] == style.WHITE


def test_without_a_trace_the_panel_has_the_largest_weights_only(folded: Sequential) -> None:
    diagram = neuron_diagram(folded)
    data = view_data(diagram, trace=None, sample=0, input_labels={}, output_labels={})
    assert data["samples"] == 0 and "scale" not in data
    entry = next(e for e in data["neurons"] if e.get("name") == "dense_1/0")
    assert "z" not in entry and "terms" not in entry and entry["fanIn"] == 20
    weights = sorted((abs(w) for _, _, w in folded.graph.in_edges("dense_1/0", data="weight")), reverse=True)
    assert [abs(weight) for _, weight in entry["in"]] == [shown(w) for w in weights[:TERMS]]
    assert all("contribution" not in link for link in data["links"])


HOSTILE = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>", "a&b\u2028c", '"quoted"']


def hostile_network() -> nx.DiGraph:
    G = nngraph.new_network()
    nngraph.add_input(G, HOSTILE[0])
    nngraph.add_input(G, HOSTILE[1])
    nngraph.add_neuron(G, nngraph.Neuron(HOSTILE[2], activation="relu", layer="<b>layer</b>"))
    nngraph.add_neuron(G, nngraph.Neuron(HOSTILE[3], role="output", activation="sigmoid"))
    nngraph.connect(G, HOSTILE[0], HOSTILE[2], 0.5)
    nngraph.connect(G, HOSTILE[1], HOSTILE[2], -1.5)
    nngraph.connect(G, HOSTILE[2], HOSTILE[3], 2.0)
    return G


def test_script_json_cannot_end_its_script_whatever_the_names() -> None:
    text = script_json({"names": HOSTILE})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"names": HOSTILE}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


@pytest.mark.needs_dot
def test_hostile_names_stay_text_and_only_the_views_script_may_run(tmp_path: Path) -> None:
    G = hostile_network()
    page = render_html(G, trace=run_reference(G, [1.0, 2.0]), output_labels=["<i>label</i>"],
                       title="<script>t</script>")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 2 and "img" not in parser.tags and "i" not in parser.tags
    assert "<title>&lt;script&gt;t&lt;/script&gt;</title>" in page
    assert sorted(entry["name"] for entry in page_data(page)["neurons"]) == sorted(HOSTILE)
    # The Content-Security-Policy lets exactly the view's script run, and nothing be fetched.
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    script = page[page.rindex("<script>") + len("<script>"):page.rindex("</script>")]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy


@pytest.mark.needs_dot
def test_render_writes_html_by_extension_and_checks_its_options(tmp_path: Path, lesson: Sequential,
                                                                samples: np.ndarray) -> None:
    trace = lesson.trace(samples)
    written = render(lesson, tmp_path / "deep" / "net.html", trace=trace, sample=-1, output_labels=CLASS_NAMES)
    page = written.read_text(encoding="utf-8")
    assert page == render_html(lesson, trace=trace, sample=-1, output_labels=CLASS_NAMES)
    data = page_data(page)
    assert data["sample"] == 3 and data["samples"] == 4
    assert 'value="3"' in page and 'max="3"' in page
    with pytest.raises(RenderError, match=r"kind='layers' is drawn as \.svg"):
        render(lesson, tmp_path / "x.html", kind="layers")
    with pytest.raises(RenderError, match="sample=4 is out of range"):
        render_html(lesson, trace=trace, sample=4)
    with pytest.raises(RenderError, match="trace comes from another network"):
        render_html(lesson, trace=run_reference(hostile_network(), [1.0, 2.0]))
    with pytest.raises(RenderError, match="output_labels has 2 names for 4 neurons"):
        render_html(lesson, output_labels=["a", "b"])
    big = lesson.trace(np.zeros((MAX_SAMPLES + 1, 8)))
    with pytest.raises(RenderError, match=f"holds {MAX_SAMPLES + 1:,} samples, and a page holds at most"):
        render_html(lesson, trace=big)
    assert not (tmp_path / "x.html").exists()


@pytest.mark.needs_dot
def test_plans_show_the_network_they_compute(lesson: Sequential, samples: np.ndarray) -> None:
    plan = nngraph.compile_network(lesson.graph)
    trace = plan.trace(samples)
    from_plan = by_name(page_data(render_html(plan, trace=trace)))
    from_model = by_name(page_data(render_html(lesson, trace=lesson.trace(samples))))
    assert from_plan.keys() == from_model.keys()
    for name, entry in from_model.items():
        for field in ("key", "column", "layer", "activation", "bias", "fanIn", "z", "a"):
            assert from_plan[name].get(field) == entry.get(field), (name, field)


def assert_same_network(rebuilt: nx.DiGraph, G: nx.DiGraph) -> None:
    assert sorted(rebuilt.edges(data="weight"), key=str) == sorted(G.edges(data="weight"), key=str)
    assert nngraph.inputs(rebuilt) == nngraph.inputs(G) and nngraph.outputs(rebuilt) == nngraph.outputs(G)
    for node in nngraph.computed(G):
        data = G.nodes[node]
        assert rebuilt.nodes[node]["role"] == data["role"] and rebuilt.nodes[node]["bias"] == data.get("bias", 0.0)
        assert rebuilt.nodes[node]["activation"] == nngraph.resolve_activation(data.get("activation", "linear")).name
    assert [column.nodes for column in nngraph.columns(rebuilt)] == [column.nodes for column in nngraph.columns(G)]


def test_a_plan_rebuilds_the_network_it_computes(lesson: Sequential) -> None:
    rebuilt = network_of_plan(nngraph.compile_network(lesson.graph))
    assert_same_network(rebuilt, lesson.graph)
    assert all(rebuilt.nodes[node] == lesson.graph.nodes[node] for node in lesson.graph)


def test_a_plan_of_a_graph_without_layers_rebuilds_its_levels_and_softmax_groups() -> None:
    genome = neat_genome()
    assert_same_network(network_of_plan(nngraph.compile_network(genome)), genome)
    # Two softmax groups on one level of a graph without layers stay two groups.
    G = nngraph.new_network()
    for name in ("x0", "x1"):
        nngraph.add_input(G, name)
    nngraph.add_neuron(G, nngraph.Neuron("h", activation="tanh"))
    for name, layer in (("p0", "left"), ("p1", "left"), ("q0", "right"), ("q1", "right")):
        nngraph.add_neuron(G, nngraph.Neuron(name, role="output", activation="softmax", layer=layer))
        nngraph.connect(G, "x0", name, 0.5)
        nngraph.connect(G, "h", name, -1.0 if layer == "left" else 2.0)
    nngraph.connect(G, "x1", "h", 1.5)
    plan = nngraph.compile_network(G)
    rebuilt = network_of_plan(plan)
    assert_same_network(rebuilt, G)
    x = np.array([[0.3, -0.7], [1.0, 2.0]])
    np.testing.assert_allclose(run_reference(rebuilt, x).values[:, [run_reference(rebuilt, x).columns[n]
                                                                    for n in G]],
                               run_reference(G, x).values, rtol=1e-12)


def test_traces_know_what_computed_them(lesson: Sequential) -> None:
    plan = nngraph.compile_network(lesson.graph)
    assert run_reference(lesson.graph, SAMPLE).source is lesson.graph
    assert lesson.trace(SAMPLE).source is lesson.graph
    assert plan.trace(SAMPLE).source is plan


@pytest.mark.needs_dot
def test_jupyter_shows_models_plans_and_traces_as_the_view(lesson: Sequential, samples: np.ndarray) -> None:
    plan = nngraph.compile_network(lesson.graph)
    for obj, count in ((lesson, 0), (plan, 0), (lesson.trace(samples), 4), (plan.trace(samples), 4)):
        fragment = obj._repr_html_()
        assert fragment.startswith('<div class="nngraph-view"') and "<!DOCTYPE" not in fragment
        assert page_data(fragment)["samples"] == count
        assert by_name(page_data(fragment))["dense/0"]["bias"] == shown(lesson.graph.nodes["dense/0"]["bias"])


def test_jupyter_says_why_when_the_view_cannot_be_shown(lesson: Sequential, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trace = lesson.trace(SAMPLE)
    unknown = nngraph.Trace(trace.weighted_sums, trace.values, trace.columns, trace.input_nodes,
                            trace.output_nodes, trace.groups)
    assert "does not know its network" in unknown._repr_html_()
    empty = Sequential()
    assert "nngraph-message" in empty._repr_html_() and "cannot be shown" in empty._repr_html_()
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz on this PATH
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        render_html(lesson)
    message = lesson._repr_html_()
    assert message.startswith('<div class="nngraph-message"') and "Graphviz&#x27;s &#x27;dot&#x27;" in message
    assert "cannot be shown" in trace._repr_html_()
