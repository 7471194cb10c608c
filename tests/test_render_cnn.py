"""Diagrams of convolutional networks: feature maps as blocks, connections bundled per kernel, a
traced sample colouring the maps, and the layer diagram of Keras' plot_model."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from test_render_boxes import arrows, boxes
from test_render_neurons import attribute, edges, nodes, position

import nngraph
from nngraph.layers import Conv1D, Conv2D, Dense, Dropout, Flatten, Input, LayerNormalization, MaxPooling2D
from nngraph.models import Sequential
from nngraph.render import style
from nngraph.render.maps import cell_grid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from lenet5 import lenet5, seven  # noqa: E402


@pytest.fixture(scope="module")
def lenet() -> Sequential:
    return lenet5()


@pytest.fixture(scope="module")
def small() -> Sequential:
    """A small CNN drawn like LeNet-5, quick to draw: 12x12x1 -> 6 maps -> pool -> 8 maps (folded)."""
    return Sequential([Input(shape=(12, 12, 1)), Conv2D(6, 3, activation="relu"), MaxPooling2D(),
                       Conv2D(8, 3, activation="relu"), Flatten(), Dense(10, activation="relu"),
                       Dense(3, activation="softmax")], seed=1)


@pytest.fixture(scope="module")
def small_source(small: Sequential) -> str:
    return nngraph.render_neurons(small.graph).source


def bundle_count(attributes: str) -> int:
    """The count a bundle carries, read off its tooltip."""
    return int(re.search(r"tooltip=\"([\d,]+) connections", attributes).group(1).replace(",", ""))


def test_feature_maps_are_blocks_per_channel_with_their_shape(small_source: str) -> None:
    maps = nodes(small_source, "map")
    # input 1, conv2d 6, pool 6, conv2d_1 2 + 2 around a folded block
    assert len(maps) == 1 + 6 + 6 + 4
    assert sum("channel 3 · 10×10" in label for label in maps.values()) == 1
    [folded] = [label for label in nodes(small_source, "more").values() if "maps" in label]
    assert "+4 maps" in folded and "channels 2–5, 3×3 each" in folded
    captions = " ".join(nodes(small_source, "caption").values())
    assert "6 maps of 10×10, relu" in captions and "144 inputs (12×12×1)" in captions
    assert "10 neurons, relu" in captions  # dense layers are drawn as before
    assert len(nodes(small_source, "neuron")) == 10 + 3


def test_every_connection_is_drawn_or_counted_in_a_bundle_per_kernel(small: Sequential, small_source: str) -> None:
    singles = edges(small_source, "connection")
    bundles = edges(small_source, "bundle")
    assert len(singles) + sum(bundle_count(attrs) for _, _, attrs in bundles) == small.graph.number_of_edges()
    maps = nodes(small_source, "map")
    into_first_conv = [attrs for tail, head, attrs in bundles if tail in maps and head in maps
                       and "10×10" in maps[head] and "12×12" in maps[tail]]
    assert len(into_first_conv) == 6  # one kernel per filter, from the one input channel
    assert all(bundle_count(attrs) == 100 * 9 and 'label=900' in attrs for attrs in into_first_conv)


def test_map_blocks_stack_in_their_column_clear_of_the_captions(small_source: str) -> None:
    source = small_source
    maps = nodes(source, "map")
    columns: dict[float, list[float]] = {}
    for attrs in maps.values():
        x, y = position(attrs)
        columns.setdefault(x, []).append(y)
    assert sorted(len(ys) for ys in columns.values()) == [1, 4, 6, 6]  # and the folded block, class "more map"
    for ys in columns.values():
        assert all(a - b >= 1.2 for a, b in zip(ys, ys[1:]))  # top to bottom, a block's height apart
    top = max(y for ys in columns.values() for y in ys)
    assert min(position(attrs)[1] for attrs in nodes(source, "caption").values()) > top + 0.6


def test_a_traced_sample_colours_each_map_as_an_image(lenet: Sequential) -> None:
    image = seven()
    trace = nngraph.compile_network(lenet.graph).trace(image.reshape(1, -1))
    source = nngraph.render_neurons(lenet.graph, trace=trace).source
    maps = nodes(source, "map")
    [input_map] = [attrs for attrs in maps.values() if "28×28" in attrs]
    fills = re.findall(r'bgcolor="(#[0-9a-f]{6})"', input_map)
    assert len(fills) == 12 * 12
    cells = cell_grid(image[..., 0])
    largest = max(abs(trace.values[0]).max(), 1e-12)
    assert fills[0] == style.value_fill(cells[0, 0], largest)
    assert len(set(fills)) > 2  # the stroke of the 7 shows
    tooltip = attribute(input_map, "tooltip")
    assert "input: channel 0, 28×28 = 784 neurons" in tooltip and "values from 0 to 1" in tooltip


def test_without_a_trace_a_map_is_one_grey_cell_in_its_proportions(small_source: str) -> None:
    maps = nodes(small_source, "map")
    assert all(len(re.findall("bgcolor", attrs)) == 1 for attrs in maps.values())
    [first] = [attrs for attrs in maps.values() if "12×12" in attrs]
    assert 'width="64" height="64"' in first


def test_cell_grid_averages_large_maps_down() -> None:
    values = np.arange(24.0 * 24).reshape(24, 24)
    grid = cell_grid(values)
    assert grid.shape == (12, 12) and grid[0, 0] == values[:2, :2].mean()
    assert cell_grid(np.arange(5.0)).shape == (1, 5)
    assert cell_grid(np.ones((3, 30))).shape == (3, 12)


def test_one_dimensional_maps_and_layers_inside_layers_draw_too() -> None:
    model = Sequential([Input(shape=(20, 2)), Conv1D(3, 3, activation="relu"), LayerNormalization(), Flatten(),
                        Dense(2)], seed=0)
    trace = model.trace(np.random.default_rng(0).normal(size=(1, 20, 2)))
    source = nngraph.render_neurons(model.graph, trace=trace).source
    captions = " ".join(nodes(source, "caption").values())
    assert "3 maps of 18, relu" in captions and "3 maps of 18, layer_norm" in captions
    assert "3 maps of 18, linear" in captions
    assert "layer_normalization/normalized" in captions
    names = [column.name for column in nngraph.columns(model.graph)]
    assert names == ["input", "conv1d", "layer_normalization/normalized", "layer_normalization", "dense"]


def test_the_layer_diagram_shows_settings_shapes_and_keras_parameters(lenet: Sequential) -> None:
    source = nngraph.render_layers(lenet).source
    layers = boxes(source, "layer")
    assert list(layers) == ["inputs"] + [f"layer{i}" for i in range(1, 9)]
    assert "input (None, 28, 28, 1)" in layers["inputs"]
    conv = layers["layer1"]
    for text in ("<b>conv2d</b>", "(Conv2D)", "6 filters, kernel 5×5, strides 1×1, valid padding, relu",
                 "156 params", "input (None, 28, 28, 1)", "output (None, 24, 24, 6)"):
        assert text in conv
    assert "pool 2×2, strides 2×2, valid padding" in layers["layer2"] and "0 params" in layers["layer2"]
    assert "renames positions" in layers["layer5"] and "output (None, 256)" in layers["layer5"]
    assert "120 units, relu" in layers["layer6"] and "30,840 params" in layers["layer6"]
    assert arrows(source) == {
        ("inputs", "layer1"): "86,400 connections", ("layer1", "layer2"): "3,456 connections",
        ("layer2", "layer3"): "153,600 connections", ("layer3", "layer4"): "1,024 connections",
        ("layer4", "layer5"): "the same neurons", ("layer5", "layer6"): "30,720 connections",
        ("layer6", "layer7"): "10,080 connections", ("layer7", "layer8"): "840 connections"}


def test_layer_settings_name_what_keras_would() -> None:
    model = Sequential([Input(shape=(9, 9, 2)), Conv2D(4, (3, 2), padding="same", dilation_rate=2),
                        MaxPooling2D(3, strides=1), Dropout(0.25)], seed=0)
    layers = boxes(nngraph.render_layers(model).source, "layer")
    assert "4 filters, kernel 3×2, strides 1×1, dilation 2×2, same padding, linear" in layers["layer1"]
    assert "pool 3×3, strides 1×1, valid padding" in layers["layer2"]
    assert "rate 0.25, nothing at inference" in layers["layer3"]


def test_the_plan_diagram_shows_a_shared_kernel(lenet: Sequential) -> None:
    source = nngraph.render_plan(nngraph.compile_network(lenet.graph)).source
    ops = boxes(source, "op")
    assert "(shared)" in ops["op0"] and "kernel 25 × 6 at 576 positions" in ops["op0"]
    assert "kernel 150 × 16 at 64 positions" in ops["op2"]


@pytest.mark.needs_dot
def test_a_cnn_draws_to_svg(small: Sequential, tmp_path: Path) -> None:
    trace = small.trace(np.random.default_rng(0).uniform(size=(1, 12, 12, 1)))
    for kind, target in (("neurons", small.graph), ("layers", small)):
        path = nngraph.render(target, tmp_path / f"{kind}.svg", kind=kind,
                              **({"trace": trace} if kind == "neurons" else {}))
        assert path.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_the_network_a_cnn_plan_rebuilds_computes_what_the_model_does() -> None:
    """A plan shown neuron by neuron (its HTML view) keeps max pooling's aggregation and the groups
    a LayerNormalization normalises apart."""
    from nngraph.layers import LayerNormalization
    from nngraph.render.plan_network import network_of_plan

    model = Sequential([Input(shape=(6, 6, 2)), Conv2D(3, 3, activation="relu"), MaxPooling2D(),
                        LayerNormalization(), Flatten(), Dense(2)], seed=0)
    plan = nngraph.compile_network(model.graph)
    assert "aggregate" in {op.kind for op in plan.ops}
    assert [op.groups for op in plan.ops if op.activation == "layer_norm"] == [4]  # 2x2 positions
    rebuilt = network_of_plan(plan)
    x = np.random.default_rng(0).normal(size=(2, 72))
    np.testing.assert_allclose(nngraph.run_reference(rebuilt, x).outputs,
                               nngraph.run_reference(model.graph, x).outputs, rtol=1e-12)


def test_the_lenet5_example_summarises_predicts_traces_and_draws(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from lenet5 import main

    main(str(tmp_path))
    printed = capsys.readouterr().out
    assert "Total params: 44,426" in printed and "class probabilities: 0:" in printed
    assert "the neuron conv2d/2,10,0 alone:" in printed and "plan: 7 fused ops" in printed
    assert sorted(path.stem for path in tmp_path.iterdir()) == ["lenet5_layers", "lenet5_neurons", "lenet5_plan"]
