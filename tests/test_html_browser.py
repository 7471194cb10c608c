"""The interactive HTML view in a real browser (headless Chromium): the panel shows the trace's numbers.

One browser serves the whole module. Each page is checked to log nothing on
the console and to fetch nothing but itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.render import style

pytestmark = [pytest.mark.needs_browser, pytest.mark.needs_dot]

DATA = re.compile(r'<script type="application/json" class="nngraph-data">(.*?)</script>', re.S)
HOSTILE = "</script><img src=x onerror=alert(1)>"


def shown(value: float) -> float:
    """A number as the panel shows it: 4 significant digits."""
    return float(f"{float(value):.4g}") + 0.0  # no -0


class Page:
    """A page written to disk and the data its script reads, with helpers to drive it in the browser."""

    def __init__(self, driver, path: Path) -> None:
        self.driver = driver
        self.path = path
        self.data = json.loads(DATA.search(path.read_text(encoding="utf-8")).group(1))  # its first view's
        self.keys = {entry["name"]: entry["key"] for entry in self.data["neurons"] if "name" in entry}

    @classmethod
    def rendered(cls, driver, path: Path, obj, **options) -> Page:
        """``nngraph.render(obj, path, **options)``, as a page to drive."""
        return cls(driver, nngraph.render(obj, path, **options))

    def open(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        for log in ("browser", "performance"):  # from here on, every message and request is this page's
            self.driver.get_log(log)
        self.driver.get(self.path.as_uri())
        WebDriverWait(self.driver, 20).until(
            lambda d: d.execute_script("return !!document.querySelector('.nngraph-view[data-nngraph-ready]')"))

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def hover(self, element) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", element)
        ActionChains(self.driver).move_to_element(element).perform()

    def hover_neuron(self, name: str) -> None:
        self.hover(self.find(f'g[data-key="{self.keys[name]}"]'))

    def panel_number(self, css: str) -> float:
        return float(self.find(f".nngraph-panel {css}").text)

    def terms(self) -> list[tuple[str, float, float]]:
        """The written-out terms in the panel: (source, value, weight), top to bottom."""
        rows = self.find_all(".nngraph-panel tr[data-weight]")
        return [(row.find_elements("css selector", ".nngraph-source")[0].text,
                 float(row.get_attribute("data-value")), float(row.get_attribute("data-weight"))) for row in rows]

    def assert_quiet(self) -> None:
        """No console message at all; the page requested nothing but itself, and nothing reached the network."""
        from browser import requests

        assert self.driver.get_log("browser") == []
        made = requests(self.driver)
        page = self.path.as_uri()
        assert {url for url, document in made if document == page} <= {page}
        assert not [url for url, _ in made if url.split(":")[0] in ("http", "https", "ws", "wss", "ftp")]
        assert self.driver.execute_script("return performance.getEntriesByType('resource').length") == 0


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    from browser import chromium

    browser = chromium(tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pages")


@pytest.fixture(scope="module")
def lesson() -> tuple[Sequential, nngraph.Trace]:
    model = lesson_model()
    x = np.vstack([SAMPLE, np.random.default_rng(2).uniform(-1.0, 1.0, size=(4, 8))])
    return model, model.trace(x)


def test_selenium_drives_the_systems_chromium_and_chromedriver(driver) -> None:
    import shutil

    assert driver.service.path == shutil.which("chromedriver")
    assert driver.capabilities["browserName"] in ("chrome", "chromium")


def assert_panel_is_the_trace(page: Page, G: nx.DiGraph, trace: nngraph.Trace, node: str, sample: int) -> None:
    """The panel of ``node`` for ``sample``: its name, z and a, and every term it writes out."""
    assert page.find(".nngraph-panel h3").text == node
    assert page.panel_number(".nngraph-z") == shown(trace.weighted_sum(node)[sample])
    assert page.panel_number(".nngraph-a") == shown(trace.value(node)[sample])
    terms = page.terms()
    assert 0 < len(terms) <= 8
    for source, value, weight in terms:
        assert value == shown(trace.value(source)[sample])
        assert weight == shown(G.edges[source, node]["weight"])
    products = [abs(G.edges[source, node]["weight"] * trace.value(source)[sample]) for source, _, _ in terms]
    assert products == sorted(products, reverse=True)


def test_hovering_a_neuron_writes_its_weighted_sum_for_each_sample(driver, folder: Path, lesson) -> None:
    from selenium.webdriver.common.keys import Keys

    model, trace = lesson
    G = model.graph
    page = Page.rendered(driver, folder / "lesson.html", model, trace=trace, output_labels=CLASS_NAMES)
    page.open()
    node = "dense_1/2"
    page.hover_neuron(node)
    assert_panel_is_the_trace(page, G, trace, node, 0)
    assert {source for source, _, _ in page.terms()} == set(G.predecessors(node))  # 6 terms, all written out
    # Its incoming connections and their sources are highlighted, the rest dimmed.
    assert "nngraph-focus" in page.find(".nngraph-diagram svg").get_attribute("class")
    assert len(page.find_all("g.connection.nngraph-lit")) == G.in_degree(node)
    lit = {element.get_attribute("data-key") for element in page.find_all("g.nngraph-source")}
    assert lit == {page.keys[source] for source in G.predecessors(node)}

    page.find(".nngraph-next").click()
    assert page.find(".nngraph-sample").text.startswith("sample 1")
    page.hover_neuron(node)
    assert_panel_is_the_trace(page, G, trace, node, 1)
    circle = [text.text for text in page.find_all(f'g[data-key="{page.keys[node]}"] text')]
    assert circle == [f"z {style.number(trace.weighted_sum(node)[1])}", f"a {style.number(trace.value(node)[1])}"]
    label = page.find("g.label text").text  # the first output label: cat and its probability
    assert label == f"cat: {trace.value('dense_2/0')[1]:.1%}"

    page.find(".nngraph-view").send_keys(Keys.ARROW_RIGHT)  # the arrow keys step too
    assert page.find(".nngraph-sample").text.startswith("sample 2")
    page.find(".nngraph-view").send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert page.find(".nngraph-sample").text.startswith("sample 4")  # round to the last
    page.hover_neuron(node)
    assert_panel_is_the_trace(page, G, trace, node, 4)

    slider = page.find(".nngraph-slider")
    driver.execute_script("arguments[0].value = 3; arguments[0].dispatchEvent(new Event('input'))", slider)
    page.hover_neuron("dense_2/1")
    assert_panel_is_the_trace(page, G, trace, "dense_2/1", 3)
    probability = page.find_all(".nngraph-panel p.nngraph-class")[-1].text
    assert probability.startswith("probability of dog: ")
    assert float(probability.split(": ")[1].rstrip("%")) == shown(100 * shown(trace.value("dense_2/1")[3]))
    page.assert_quiet()


def test_hovering_a_connection_shows_its_weight_and_contribution(driver, folder: Path, lesson) -> None:
    model, trace = lesson
    page = Page.rendered(driver, folder / "lesson_links.html", model, trace=trace, sample=2)
    page.open()
    target = "dense_1/0"
    source = next(source for source in model.graph.predecessors(target) if trace.value(source)[2] != 0)
    index = next(i for i, link in enumerate(page.data["links"])
                 if (link["source"], link["target"]) == (page.keys[source], page.keys[target]))
    page.hover(page.find(f"g#link{index}"))
    tip = page.find(".nngraph-tip")
    weight = model.graph.edges[source, target]["weight"]
    value = trace.value(source)[2]
    head, contribution = tip.text.splitlines()
    assert head == f"{source} \u2192 {target}: weight {shown(weight):g}"
    assert contribution == (f"contribution for sample 2: {shown(weight):g} \u00d7 {shown(value):g} = "
                            f"{shown(weight * value):g}")
    page.assert_quiet()


def test_without_a_trace_the_panel_shows_the_formula_with_weights(driver, folder: Path, lesson) -> None:
    model, _ = lesson
    page = Page.rendered(driver, folder / "lesson_plain.html", model)
    page.open()
    assert page.find_all(".nngraph-slider") == []
    page.hover_neuron("dense/0")
    assert page.find_all(".nngraph-panel .nngraph-z") == []
    rows = [row.text for row in page.find_all(".nngraph-panel .nngraph-term")]
    weights = sorted((w for _, _, w in model.graph.in_edges("dense/0", data="weight")), key=abs, reverse=True)
    assert rows == [f"{shown(w):g} \u00d7 a" for w in weights]
    assert page.find(".nngraph-panel .nngraph-activation").text.startswith("activation relu")
    page.assert_quiet()


def test_a_wide_network_explains_its_folded_neurons(driver, folder: Path) -> None:
    model = Sequential([Dense(units=512, input_shape=(784,), activation="relu"),
                        Dense(units=512, activation="relu"), Dense(units=10, activation="softmax")], seed=0)
    plan = nngraph.compile_network(model.graph)
    trace = plan.trace(np.random.default_rng(0).uniform(0.0, 1.0, size=(100, 784)))
    page = Page.rendered(driver, folder / "wide.html", model, trace=trace, sample=7,
                output_labels=[str(digit) for digit in range(10)])
    assert page.path.stat().st_size < 3_000_000
    page.open()
    folded = next(entry for entry in page.data["neurons"]
                  if entry.get("folded") and entry["column"] == "hidden layer 1")
    page.hover(page.find(f'g[data-key="{folded["key"]}"]'))
    assert page.find(".nngraph-panel h3").text == "+504 more"
    assert "504 neurons not drawn, from dense/4 to dense/507" in page.find(".nngraph-panel").text
    values = np.array([trace.value(f"dense/{i}")[7] for i in range(4, 508)])
    assert page.panel_number(".nngraph-low") == shown(values.min())
    assert page.panel_number(".nngraph-high") == shown(values.max())
    page.hover_neuron("dense_2/3")
    assert_panel_is_the_trace(page, model.graph, trace, "dense_2/3", 7)
    assert page.find(".nngraph-panel .nngraph-rest").text.startswith("= ")
    assert "504 more terms" in page.find(".nngraph-panel").text
    page.assert_quiet()


def test_a_neat_style_dag_highlights_its_skip_connections(driver, folder: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from neat_network import neat_genome

    G = neat_genome(n_inputs=6, n_hidden=40, n_outputs=2, n_connections=220, depth=6, seed=1)
    trace = nngraph.run_reference(G, np.random.default_rng(1).uniform(-1.0, 1.0, size=(3, 6)))
    page = Page.rendered(driver, folder / "neat.html", G, trace=trace, sample=1)
    page.open()
    node = 0
    page.hover_neuron(str(node))
    assert page.find(".nngraph-panel h3").text == "0"
    assert page.panel_number(".nngraph-z") == shown(trace.weighted_sum(node)[1])
    assert page.panel_number(".nngraph-a") == shown(trace.value(node)[1])
    into = [i for i, link in enumerate(page.data["links"]) if link["target"] == page.keys["0"]]
    lit = {element.get_attribute("id") for element in page.find_all("g.edge.nngraph-lit")}
    assert lit == {f"link{i}" for i in into}
    # A skip connection bends through the columns it jumps: its one edge is a path of several pieces.
    paths = [page.driver.find_element("id", identifier).find_element("css selector", "path").get_attribute("d")
             for identifier in lit]
    assert any(len(d.replace("C", " ").split()) > 4 for d in paths)  # more than one cubic piece
    page.assert_quiet()


def test_hostile_names_are_shown_as_text_and_run_nothing(driver, folder: Path) -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, HOSTILE)
    nngraph.add_neuron(G, nngraph.Neuron("<b>y</b>", role="output", activation="sigmoid"))
    nngraph.connect(G, HOSTILE, "<b>y</b>", 1.5)
    page = Page.rendered(driver, folder / "hostile.html", G, trace=nngraph.run_reference(G, [[0.5], [1.0]]),
                output_labels=["<i>class</i>"])
    page.open()
    page.hover_neuron("<b>y</b>")
    assert page.find(".nngraph-panel h3").text == "<b>y</b>"
    assert page.find_all(".nngraph-panel b, .nngraph-panel img, img") == []
    assert page.terms()[0][0] == HOSTILE
    page.assert_quiet()  # an injected script or image would have broken the policy: a console error


def test_views_inline_in_a_notebook_work_side_by_side(driver, folder: Path, lesson) -> None:
    """Jupyter puts several views in one page: each starts once and explains its own network."""
    model, trace = lesson
    path = folder / "notebook.html"
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    f"<p>cell 1</p>{model._repr_html_()}<p>cell 2</p>{trace._repr_html_()}</body></html>",
                    encoding="utf-8")
    page = Page(driver, path)
    page.open()
    views = page.find_all(".nngraph-view[data-nngraph-ready]")
    assert len(views) == 2
    second = views[1]
    page.hover(second.find_element("css selector", f'g[data-key="{page.keys["dense/0"]}"]'))  # same layout
    assert float(second.find_element("css selector", ".nngraph-panel .nngraph-z").text) == shown(
        trace.weighted_sum("dense/0")[0])
    assert views[0].find_elements("css selector", ".nngraph-panel .nngraph-z") == []
    assert driver.get_log("browser") == []
