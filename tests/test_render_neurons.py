"""The neuron diagram, checked on its DOT source (and, with Graphviz's dot, on the SVG parsed as XML)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import RenderError, render_neurons, run_reference
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.render import style

SVG = "{http://www.w3.org/2000/svg}"
NODE = re.compile(r'^\t(\w+) \[(.*)\]$')
EDGE = re.compile(r'^\t(\w+) -> (\w+) \[(.*)\]$')


def nodes(source: str, css: str) -> dict[str, str]:
    """DOT key -> attribute text, for the nodes whose class starts with ``css``."""
    found = {}
    for line in source.splitlines():
        match = NODE.match(line)
        if match and re.search(rf'class="?{css}\b', match.group(2)):
            found[match.group(1)] = match.group(2)
    return found


def edges(source: str, css: str) -> list[tuple[str, str, str]]:
    """(tail, head, attribute text) of the edges of class ``css``."""
    return [match.groups() for match in map(EDGE.match, source.splitlines())
            if match and re.search(rf'class="?{css}\b', match.group(3))]


def attribute(attributes: str, name: str) -> str:
    match = re.search(rf'\b{name}=("(?:[^"\\]|\\.)*"|<.*>(?= \w+=)|\S+)', attributes)
    assert match, f"no {name} in {attributes}"
    return match.group(1).strip('"')


def position(attributes: str) -> tuple[float, float]:
    """A node's pinned position, in inches (the DOT source gives points)."""
    x, y = attribute(attributes, "pos").rstrip("!").split(",")
    return float(x) / 72, float(y) / 72


def path_points(attributes: str) -> list[tuple[float, float]]:
    """The corners of an edge's given path, in inches: every third point of its straight B-spline."""
    points = [tuple(float(v) / 72 for v in point.split(",")) for point in attribute(attributes, "pos").split()]
    return points[::3]


def tooltip_id(attributes: str) -> str:
    return attribute(attributes, "tooltip").split(":")[0].split("\\n")[0]


@pytest.fixture(scope="module")
def lesson() -> nx.DiGraph:
    return lesson_model().graph


def test_lesson_diagram_draws_every_neuron_and_connection_with_captions(lesson: nx.DiGraph) -> None:
    source = render_neurons(lesson, output_labels=CLASS_NAMES).source
    assert len(nodes(source, "neuron")) == 24
    assert [len(nodes(source, f"neuron {role}")) for role in ("input", "hidden", "output")] == [8, 12, 4]
    assert len(edges(source, "connection")) == 108
    assert not nodes(source, "more") and not edges(source, "bundle")
    captions = " ".join(nodes(source, "caption").values())
    for text in ("input layer", "8 inputs", "hidden layer 1", "6 neurons, relu", "hidden layer 2",
                 "output layer", "4 neurons, softmax", "dense_1", "dense_2"):
        assert text in captions
    labels = " ".join(nodes(source, "label").values())
    assert all(f">{name}<" in labels for name in CLASS_NAMES)
    assert len(edges(source, "label")) == 4
    assert "layout=nop2" in source  # the saved .dot draws the same picture with any Graphviz command


def test_columns_are_straight_ordered_left_to_right_and_top_to_bottom(lesson: nx.DiGraph) -> None:
    source = render_neurons(lesson).source
    placed = {tooltip_id(attributes): position(attributes)
              for attributes in nodes(source, "neuron").values()}
    xs = []
    for column in nngraph.columns(lesson):
        points = [placed[node] for node in column.nodes]
        assert len({x for x, _ in points}) == 1, column.name
        ys = [y for _, y in points]
        assert ys == sorted(ys, reverse=True)  # declaration order, top to bottom
        assert abs(ys[0] + ys[-1]) < 1e-9  # centred on one middle line
        xs.append(points[0][0])
    assert xs == sorted(xs) and len(set(xs)) == 4  # inputs leftmost
    captions = [position(attributes) for attributes in nodes(source, "caption").values()]
    assert [x for x, _ in captions] == xs and len({y for _, y in captions}) == 1


def test_connection_colour_follows_the_sign_and_width_the_magnitude() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="input")
    G.add_node("o", role="output")
    G.add_edge("x", "o", weight=2.0)
    G.add_edge("y", "o", weight=-0.5)
    found = {tooltip_id(attrs): attrs for _, _, attrs in edges(render_neurons(G).source, "connection")}
    strong, weak = found["x -> o"], found["y -> o"]
    assert attribute(strong, "color").startswith(style.POSITIVE)
    assert attribute(weak, "color").startswith(style.NEGATIVE)
    assert float(attribute(strong, "penwidth")) > float(attribute(weak, "penwidth"))


def test_values_show_weighted_sum_value_probability_and_fill(lesson: nx.DiGraph) -> None:
    trace = run_reference(lesson, np.vstack([SAMPLE, SAMPLE[::-1]]))
    source = render_neurons(lesson, trace=trace, sample=1, output_labels=CLASS_NAMES).source
    neurons = {tooltip_id(attrs): attrs for attrs in nodes(source, "neuron").values()}
    hidden = neurons["dense_1/2"]
    assert f"z {style.number(trace.weighted_sum('dense_1/2')[1])}" in hidden
    assert f"a {style.number(trace.value('dense_1/2')[1])}" in hidden
    assert f"p {style.number(trace.value('dense_2/0')[1])}" in neurons["dense_2/0"]
    assert f"<b>{style.number(SAMPLE[::-1][0])}</b>" in neurons["input/0"]
    fills = {attribute(attrs, "fillcolor") for attrs in neurons.values()}
    assert len(fills) > 5  # a colour scale, not one colour
    best = CLASS_NAMES[int(np.argmax(trace.outputs[1]))]
    labels = " ".join(nodes(source, "label").values())
    assert f"<b>{best}: {trace.outputs[1].max():.1%}</b>" in labels
    legend = next(iter(nodes(source, "legend").values()))
    assert "neuron fill: its value for sample 1" in legend
    assert render_neurons(lesson, trace=trace, sample=0).source != render_neurons(lesson, trace=trace,
                                                                                  sample=1).source


def test_contribution_colour_uses_weight_times_source_value() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("o", role="output")
    G.add_edge("x", "o", weight=2.0)
    trace = run_reference(G, [-3.0])
    by_weight = edges(render_neurons(G, trace=trace).source, "connection")[0][2]
    by_contribution = edges(render_neurons(G, trace=trace, connection_color="contribution").source,
                            "connection")[0][2]
    assert attribute(by_weight, "color").startswith(style.POSITIVE)
    assert attribute(by_contribution, "color").startswith(style.NEGATIVE)
    assert "contribution -6" in by_contribution


def wide() -> Sequential:
    return Sequential([Dense(units=25, input_shape=(30,), activation="relu"),
                       Dense(units=3, activation="softmax")], seed=0)


def test_wide_columns_fold_into_a_more_node_and_bundles_keep_every_connection() -> None:
    G = wide().graph
    source = render_neurons(G, collapse_above=10).source
    assert len(nodes(source, "neuron")) == 4 + 4 + 4 + 4 + 3
    more = sorted(re.search(r"label=<\+(\d+) more>", attrs).group(1) for attrs in nodes(source, "more").values())
    assert more == ["17", "22"]
    singles = edges(source, "connection")
    bundles = edges(source, "bundle")
    assert len(singles) == 8 * 8 + 8 * 3
    counts = [int(attribute(attrs, "(?:head|tail)?label").replace(",", "")) for _, _, attrs in bundles]
    assert len(singles) + sum(counts) == G.number_of_edges()
    assert 22 * 17 in counts  # the folded part of one column to the folded part of the next
    assert "folded neurons" in next(iter(nodes(source, "legend").values()))


def test_collapse_threshold_is_settable_and_none_draws_everything() -> None:
    G = wide().graph
    assert len(nodes(render_neurons(G, collapse_above=None).source, "neuron")) == 58
    assert len(nodes(render_neurons(G, collapse_above=26).source, "neuron")) == 24 + 25 + 3
    assert len(nodes(render_neurons(G, collapse_above=3).source, "neuron")) == 2 + 2 + 3


def neat() -> nx.DiGraph:
    """A NEAT-style genome: no layers, a skip connection from an input to the output."""
    G = nx.DiGraph()
    for node in ("x0", "x1"):
        G.add_node(node, role="input")
    G.add_node("h0", role="hidden", activation="tanh")
    G.add_node("h1", role="hidden", activation="relu")
    G.add_node("y", role="output", activation="sigmoid")
    for u, v, w in [("x0", "h0", 1.0), ("x1", "h0", -1.0), ("h0", "h1", 0.5), ("h1", "y", 2.0),
                    ("x1", "y", -0.7)]:
        G.add_edge(u, v, weight=w)
    return G


def test_graphs_without_layers_get_a_column_per_level_and_skips_bend_around_neurons() -> None:
    source = render_neurons(neat(), output_labels=["yes"]).source
    captions = " ".join(nodes(source, "caption").values())
    assert "level 1" in captions and "level 3 (outputs)" in captions and "1 neuron, tanh" in captions
    placed = {tooltip_id(attrs): position(attrs) for attrs in nodes(source, "neuron").values()}
    assert [placed[node][0] for node in ("x0", "h0", "h1", "y")] == sorted(
        placed[node][0] for node in ("x0", "h0", "h1", "y"))
    drawn = edges(source, "connection")
    assert len(drawn) == 5
    # x1 -> y skips levels 1 and 2: one edge whose path bends once in each, clear of the neuron there.
    skip = [attrs for *_, attrs in drawn if tooltip_id(attrs) == "x1 -> y"]
    assert [tooltip_id(attrs) for *_, attrs in drawn if "pos=" in attrs] == ["x1 -> y"]
    corners = path_points(skip[0])
    assert len(corners) == 4  # leaves x1's circle, two bends, enters y's circle
    radius = 0.2
    assert math.dist(corners[0], placed["x1"]) == pytest.approx(radius, abs=0.01)
    assert math.dist(corners[-1], placed["y"]) == pytest.approx(radius, abs=0.01)
    for x, y in corners[1:-1]:
        assert all(abs(y - ny) > radius for nx_, ny in placed.values() if abs(nx_ - x) < 1e-6)
    assert "splines=line" in source and not re.search(r"^\tbend", source, re.M)


def test_positions_stay_put_when_a_later_layer_grows() -> None:
    small = lesson_model().graph
    grown = small.copy()
    grown.add_node("dense_2/4", role="output", activation="softmax", layer="dense_2", bias=0.0)
    for j in range(6):
        grown.add_edge(f"dense_1/{j}", "dense_2/4", weight=0.1)

    def placed(G: nx.DiGraph) -> dict[str, tuple[float, float]]:
        return {tooltip_id(attrs): position(attrs) for attrs in nodes(render_neurons(G).source, "neuron").values()}

    before, after = placed(small), placed(grown)
    assert all(after[node] == point for node, point in before.items() if not node.startswith("dense_2"))


def awkward() -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_node(("in", 0), role="input")
    G.add_node('say "hi"', role="input")
    G.add_node("a:b<c>&\\n", role="output", activation="relu")
    G.add_edge(("in", 0), "a:b<c>&\\n", weight=1.0)
    G.add_edge('say "hi"', "a:b<c>&\\n", weight=-1.0)
    return G


def test_any_hashable_id_and_label_is_escaped() -> None:
    G = awkward()
    source = render_neurons(G, names=True, input_labels=["<x>", "a & b"], output_labels={"a:b<c>&\\n": '"q"'},
                            trace=run_reference(G, [1.0, 2.0])).source
    assert "&lt;x&gt;" in source and "a &amp; b" in source and "&quot;q&quot;" in source
    assert "a:b&lt;c&gt;&amp;\\n" in source  # inside the HTML label: escaped, backslash kept literally
    assert "<c>" not in source.replace("<c>&", "")  # no raw markup leaks into the DOT
    assert set(re.findall(r"^\t(\S+) ", source, re.M)) <= {
        "bgcolor=white", "node", "edge", *{f"n{i}" for i in range(3)}, "caption0", "caption1",
        "input_label0", "input_label1", "output_label0", "legend"}


@pytest.mark.needs_dot
def test_escaped_diagram_draws_as_valid_svg() -> None:
    svg = ET.fromstring(render_neurons(awkward(), names=True, input_labels=["<x>", "a & b"]).pipe(format="svg"))
    texts = {element.text for element in svg.iter(f"{SVG}text")}
    assert {"('in', 0)", 'say "hi"', "a:b<c>&\\n", "<x>", "a & b"} <= texts


def test_output_is_deterministic() -> None:
    first = render_neurons(neat()).source
    again = render_neurons(nx.DiGraph(neat())).source
    assert first == again


@pytest.mark.parametrize(("options", "culprit"), [
    ({"connection_color": "sign"}, "connection_color='sign'"),
    ({"connection_color": "contribution"}, "needs a trace"),
    ({"collapse_above": 2}, "collapse_above"),
    ({"collapse_above": True}, "collapse_above"),
    ({"output_labels": ["cat"]}, "output_labels has 1 names for 4 neurons"),
    ({"output_labels": "cat"}, "output_labels must be a list"),
    ({"input_labels": {"nope": "x"}}, "input_labels names 'nope'"),
    ({"trace": "not a trace"}, "trace must be an nngraph.Trace"),
])
def test_bad_options_name_the_argument(lesson: nx.DiGraph, options: dict, culprit: str) -> None:
    with pytest.raises(RenderError, match=re.escape(culprit)):
        render_neurons(lesson, **options)


def test_trace_must_come_from_the_network_and_hold_the_sample(lesson: nx.DiGraph) -> None:
    other = run_reference(neat(), [1.0, 2.0])
    with pytest.raises(RenderError, match="trace comes from another network"):
        render_neurons(lesson, trace=other)
    trace = run_reference(lesson, SAMPLE)
    with pytest.raises(RenderError, match=r"sample=1 is out of range; the trace holds 1 sample"):
        render_neurons(lesson, trace=trace, sample=1)
    with pytest.raises(RenderError, match="sample must be a whole number"):
        render_neurons(lesson, trace=trace, sample=True)
    assert render_neurons(lesson, trace=trace, sample=-1).source == render_neurons(lesson, trace=trace).source


def test_not_a_network_is_refused() -> None:
    with pytest.raises(RenderError, match="G must be a networkx.DiGraph or a model"):
        render_neurons([1, 2, 3])
    with pytest.raises(nngraph.NetworkError):
        render_neurons(nx.DiGraph([("a", "b")]))  # no roles: validate names the neuron


def test_a_model_draws_as_its_graph() -> None:
    model = lesson_model()
    assert render_neurons(model).source == render_neurons(model.graph).source


@pytest.mark.needs_dot
def test_svg_has_every_neuron_connection_caption_and_value(lesson: nx.DiGraph) -> None:
    trace = run_reference(lesson, SAMPLE)
    svg = ET.fromstring(render_neurons(lesson, trace=trace, output_labels=CLASS_NAMES).pipe(format="svg"))
    groups = [element.get("class", "") for element in svg.iter(f"{SVG}g")]
    assert sum("neuron" in css.split() for css in groups) == 24
    assert sum("connection" in css.split() for css in groups) == 108
    texts = [element.text for element in svg.iter(f"{SVG}text")]
    assert "hidden layer 1" in texts and "6 neurons, relu" in texts
    assert any(text and text.startswith("cat: ") for text in texts)
    assert f"z {style.number(trace.weighted_sum('dense/0')[0])}" in texts


def test_a_compiled_plans_trace_draws_like_the_reference(lesson: nx.DiGraph) -> None:
    compiled = nngraph.compile_network(lesson).trace(SAMPLE)
    reference = run_reference(lesson, SAMPLE)
    assert render_neurons(lesson, trace=compiled).source == render_neurons(lesson, trace=reference).source


def test_title_and_weight_labels(lesson: nx.DiGraph) -> None:
    source = render_neurons(lesson, title="The <lesson>", weight_labels=True).source
    assert "label=<<b>The &lt;lesson&gt;</b>>" in source
    weight = lesson.edges["input/0", "dense/0"]["weight"]
    found = {tooltip_id(attrs): attrs for _, _, attrs in edges(source, "connection")}
    assert f"label={style.number(weight, digits=2)} " in found["input/0 -> dense/0"]


def test_nan_in_a_sample_still_draws() -> None:
    G = neat()
    source = render_neurons(G, trace=run_reference(G, [float("nan"), 1.0]),
                            connection_color="contribution").source
    assert "nan" in source and "penwidth=nan" not in source


def test_the_legend_names_the_sample_by_its_index_or_by_a_given_label() -> None:
    G = lesson_model().graph
    trace = run_reference(G, np.stack([SAMPLE, SAMPLE[::-1]]))
    assert "its value for sample 1" in render_neurons(G, trace=trace, sample=-1).source
    one = run_reference(G, SAMPLE[::-1])
    labelled = render_neurons(G, trace=one, sample_label="row <7> of data.csv").source
    assert "its value for row &lt;7&gt; of data.csv" in labelled and "sample 0" not in labelled


def test_a_neuron_that_aggregates_otherwise_says_so_in_its_tooltip(lesson: nx.DiGraph) -> None:
    G = lesson.copy()
    G.nodes["dense/3"]["aggregation"] = "max"
    neurons = {tooltip_id(attrs): attribute(attrs, "tooltip") for attrs in nodes(render_neurons(G).source,
                                                                                 "neuron").values()}
    assert neurons["dense/3"].startswith("dense/3: relu, bias 0, aggregation max")
    assert "aggregation" not in neurons["dense/2"]
