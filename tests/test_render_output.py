"""Writing diagrams: the format follows the extension, .dot needs no program, the rest needs Graphviz's dot."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

import nngraph
from nngraph import (GraphvizMissingError, NNGraphError, RenderError, render, render_layers, render_neurons,
                     render_plan)
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH on which no Graphviz program can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_dot_output_is_the_diagram_source_and_needs_no_program(tmp_path: Path, no_dot: None) -> None:
    model = lesson_model()
    written = render(model.graph, tmp_path / "deep" / "lesson.dot", output_labels=CLASS_NAMES)
    assert written == tmp_path / "deep" / "lesson.dot"
    assert written.read_text(encoding="utf-8") == render_neurons(model.graph, output_labels=CLASS_NAMES).source
    assert render(model, tmp_path / "layers.gv", kind="layers").read_text() == render_layers(model).source


@pytest.mark.parametrize("name", ["lesson.svg", "lesson.png", "lesson.pdf"])
def test_drawn_formats_without_dot_name_the_program_and_how_to_install_it(tmp_path: Path, no_dot: None,
                                                                         name: str) -> None:
    with pytest.raises(GraphvizMissingError) as caught:
        render(lesson_model().graph, tmp_path / name)
    message = str(caught.value)
    assert "Graphviz's 'dot' program" in message and "apt-get install graphviz" in message
    assert name in message and ".dot file needs no program" in message
    assert isinstance(caught.value, NNGraphError)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("path", ["lesson.jpg", "lesson", "lesson.svg.txt"])
def test_unknown_extensions_name_the_path(tmp_path: Path, path: str) -> None:
    with pytest.raises(RenderError, match=r"path .*lesson.*expected one of \.svg, \.png, \.pdf, \.dot"):
        render(lesson_model().graph, tmp_path / path)


def test_kind_and_object_are_checked(tmp_path: Path) -> None:
    G = lesson_model().graph
    with pytest.raises(RenderError, match="kind='graph' is not known"):
        render(G, tmp_path / "x.dot", kind="graph")
    with pytest.raises(RenderError, match="obj must be a network"):
        render("lesson", tmp_path / "x.dot")
    with pytest.raises(RenderError, match="already a Graphviz diagram"):
        render(render_neurons(G), tmp_path / "x.dot", trace=None)
    with pytest.raises(TypeError):
        render(G, tmp_path / "x.dot", colour="red")  # an option no renderer has


def test_plans_draw_as_plan_diagrams_and_graphs_can_ask_for_theirs(tmp_path: Path, no_dot: None) -> None:
    model = lesson_model()
    plan = nngraph.compile_network(model.graph)
    expected = render_plan(plan).source
    assert render(plan, tmp_path / "plan.dot").read_text() == expected
    assert render(model.graph, tmp_path / "compiled.dot", kind="plan").read_text() == expected
    assert render(plan, tmp_path / "groups.dot", kind="layers").read_text() == render_layers(plan).source
    with pytest.raises(RenderError, match="kind='neurons' needs the network"):
        render(plan, tmp_path / "x.dot", kind="neurons")


def test_a_built_diagram_is_written_as_it_is(tmp_path: Path, no_dot: None) -> None:
    diagram = render_neurons(lesson_model().graph, title="my net")
    assert render(diagram, tmp_path / "built.dot").read_text() == diagram.source


@pytest.mark.needs_dot
def test_svg_png_and_pdf_are_written(tmp_path: Path) -> None:
    model = lesson_model()
    trace = model.trace(SAMPLE)
    svg = ET.parse(render(model.graph, tmp_path / "v.SVG", trace=trace, output_labels=CLASS_NAMES))
    texts = [element.text for element in svg.iter(f"{SVG}text")]
    assert "output layer" in texts and any(text and text.startswith("cat: ") for text in texts)
    assert render(model, tmp_path / "l.png", kind="layers").read_bytes().startswith(b"\x89PNG")
    assert render(model.graph, tmp_path / "n.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.needs_dot
def test_diagrams_display_inline_in_jupyter() -> None:
    bundle = render_neurons(lesson_model().graph)._repr_mimebundle_()
    assert "image/svg+xml" in bundle and "<svg" in bundle["image/svg+xml"]


@pytest.mark.needs_dot
def test_dot_failures_become_render_errors(tmp_path: Path) -> None:
    broken = graphviz.Source("digraph { a -> }")
    with pytest.raises(RenderError, match="Graphviz's dot failed"):
        render(broken, tmp_path / "broken.svg")
