"""Layer and plan diagrams: one box per layer (or fused group) and one box per fused op, checked on the DOT source."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import RenderError, render_layers, render_plan
from nngraph.demo import lesson_model
from nngraph.ir.plan import Plan, fused_op, layout
from nngraph.render.output import diagram_of

SVG = "{http://www.w3.org/2000/svg}"


def boxes(source: str, css: str) -> dict[str, str]:
    """DOT key -> label of the nodes of class ``css``."""
    return dict(re.findall(rf"^\t(\w+) \[label=<(.*)> class={css}\]$", source, re.M))


def arrows(source: str) -> dict[tuple[str, str], str]:
    return {(tail, head): label for tail, head, label in
            re.findall(r"^\t(\w+) -> (\w+) \[label=<(.*)>\]$", source, re.M)}


def test_lesson_layers_show_name_kind_units_activation_shapes_and_params() -> None:
    source = render_layers(lesson_model()).source
    layers = boxes(source, "layer")
    assert list(layers) == ["inputs", "layer1", "layer2", "layer3"]
    assert "(InputLayer)" in layers["inputs"] and "output (None, 8)" in layers["inputs"]
    dense_1 = layers["layer2"]
    for text in ("<b>dense_1</b>", "(Dense)", "6 units, relu", "42 params", "input (None, 6)",
                 "output (None, 6)"):
        assert text in dense_1
    assert "4 units, softmax" in layers["layer3"] and "28 params" in layers["layer3"]
    assert arrows(source) == {("inputs", "layer1"): "48 connections", ("layer1", "layer2"): "36 connections",
                              ("layer2", "layer3"): "24 connections"}
    assert "rankdir=TB" in source and "rankdir=LR" in render_layers(lesson_model(), direction="LR").source


def test_a_skip_connection_between_layers_gets_its_own_arrow() -> None:
    G = lesson_model().graph
    G.add_edge("input/0", "dense_2/1", weight=0.5)
    assert arrows(render_layers(G).source)[("inputs", "layer3")] == "1 connection"


def test_layer_boxes_take_their_kind_from_the_layer_records_and_count_tied_numbers_once() -> None:
    G = lesson_model().graph
    G.graph["layers"][1]["kind"] = "Pooling<2>"
    kernel = G.edges["dense/0", "dense_1/0"]["weight"]
    for source in ("dense/0", "dense/1"):
        G.edges[source, "dense_1/0"].update(weight=kernel, param="k")
    layers = boxes(render_layers(G).source, "layer")
    assert "(Pooling&lt;2&gt;)" in layers["layer2"] and "41 params" in layers["layer2"]
    assert "(Dense)" in layers["layer3"]


def test_layer_diagram_escapes_layer_names() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", layer="<out & about>")
    G.add_edge("x", "y", weight=1.0)
    assert "<b>&lt;out &amp; about&gt;</b>" in render_layers(G).source


def hand_made_plan() -> Plan:
    """The lesson's plan as the compiler lowers it (one dense op per layer), plus a sparse op
    reading two blocks (the inputs and op 1), built by hand so that both kinds are drawn."""
    model = lesson_model()
    ops = []
    for index, layer in enumerate(model.layers):
        kernel, bias = layer.get_weights()
        ops.append(fused_op(index=index, targets=tuple(layer.neurons), sources=tuple(layer.sources), weights=kernel,
                            bias=bias, activation=layer.activation, level=index + 1))
    sources = tuple(model.layers[0].sources) + tuple(model.layers[1].neurons)
    weights = np.zeros((len(sources), 2))
    weights[0, 0] = weights[9, 1] = 1.0
    ops.append(fused_op(index=3, targets=("<extra>", "x:1"), sources=sources, weights=weights,
                        bias=np.zeros(2), activation="tanh", level=3, kind="sparse"))
    inputs = tuple(model.layers[0].sources)
    return Plan(ops=tuple(ops), inputs=inputs, outputs=tuple(model.layers[-1].neurons) + ("<extra>", "x:1"),
                dtype=np.dtype(np.float64), columns=layout(inputs, [op.targets for op in ops]), groups=())


def test_plan_boxes_show_index_kind_weights_density_activation_and_neurons() -> None:
    source = render_plan(hand_made_plan()).source
    ops = boxes(source, "op")
    assert list(ops) == ["op0", "op1", "op2", "op3"]
    for text in ("<b>op 1</b>", "(dense)", "weights 8 × 6", "density 1 (48 nonzero)", "activation relu",
                 "level 1", "computes dense/0, dense/1, dense/2, dense/3, dense/4, dense/5"):
        assert text in ops["op0"] or text in ops["op1"], text
    assert "(sparse)" in ops["op3"] and "density 0.0714 (2 nonzero)" in ops["op3"]
    assert "computes &lt;extra&gt;, x:1" in ops["op3"]
    assert "input/0, input/1, input/2 … input/5, input/6, input/7 (8)" in boxes(source, "inputs")["inputs"]
    flow = arrows(source)
    assert flow[("inputs", "op0")] == "8 neurons" and flow[("op0", "op1")] == "6 neurons"
    assert flow[("inputs", "op3")] == "8 neurons" and flow[("op1", "op3")] == "6 neurons"
    assert flow[("op2", "outputs")] == "4 neurons" and flow[("op3", "outputs")] == "2 neurons"


def test_layers_of_a_plan_are_its_fused_groups() -> None:
    source = render_layers(hand_made_plan()).source
    groups = boxes(source, "layer")
    assert list(groups) == ["inputs", "op0", "op1", "op2", "op3"]
    assert "<b>group 3</b>" in groups["op3"] and "(sparse op)" in groups["op3"]
    assert "2 units, tanh" in groups["op3"] and "4 params" in groups["op3"]
    assert "input (None, 14)" in groups["op3"] and "output (None, 2)" in groups["op3"]


@pytest.mark.parametrize(("call", "culprit"), [
    (lambda: render_plan(lesson_model().graph), "plan must be a compiled Plan"),
    (lambda: render_plan(hand_made_plan(), direction="up"), "direction='up' is not known"),
    (lambda: render_layers(lesson_model(), direction="BT"), "direction='BT' is not known"),
    (lambda: render_layers(42), "G must be a networkx.DiGraph or a model"),
])
def test_bad_arguments_are_named(call, culprit: str) -> None:  # noqa: ANN001 - a lambda
    with pytest.raises(RenderError, match=re.escape(culprit)):
        call()


@pytest.mark.needs_dot
def test_layer_and_plan_diagrams_draw_as_svg() -> None:
    for diagram, css, text in ((render_layers(lesson_model()), "layer", "output (None, 6)"),
                               (render_plan(hand_made_plan()), "op", "weights 8 × 6")):
        svg = ET.fromstring(diagram.pipe(format="svg"))
        assert sum(element.get("class") == f"node {css}" for element in svg.iter(f"{SVG}g")) == 4
        assert text in [element.text for element in svg.iter(f"{SVG}text")]


def test_the_compiled_lesson_plan_has_one_dense_op_per_layer() -> None:
    plan = nngraph.compile_network(lesson_model().graph)
    ops = boxes(render_plan(plan).source, "op")
    assert len(ops) == 3 and all("(dense)" in label for label in ops.values())
    # The plan alone (the IR) draws the same, and so does render() of either, or of the graph.
    assert render_plan(plan.plan).source == render_plan(plan).source
    assert diagram_of(plan.plan).source == diagram_of(plan).source == render_plan(plan).source
    assert diagram_of(lesson_model().graph, kind="plan").source == render_plan(plan).source


def test_a_graph_without_layers_is_drawn_by_fused_group() -> None:
    G = nx.DiGraph()
    for node in ("x0", "x1"):
        G.add_node(node, role="input")
    for node in ("h0", "h1", "y"):
        G.add_node(node, role="output" if node == "y" else "hidden", activation="relu")
    G.add_edges_from([("x0", "h0"), ("x1", "h0"), ("x0", "h1"), ("x1", "h1"), ("h0", "y"), ("h1", "y")],
                     weight=1.0)
    groups = boxes(render_layers(G).source, "layer")
    assert len(groups) == 3 and "<b>group 0</b>" in groups["op0"] and "2 units, relu" in groups["op0"]
