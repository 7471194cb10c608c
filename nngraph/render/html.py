"""The interactive HTML view: the neuron diagram as inline SVG, explained neuron by neuron by a small script.

``render_html`` returns one self-contained page (no network access when it is
viewed: the SVG, the data, the style and the script are all inline), and
``html_view`` the same view as a fragment for Jupyter. Pointing at a neuron
highlights its incoming connections and their sources and writes its weighted
sum out term by term in a panel; a slider steps through the samples of a trace.

What goes into the page, and how it stays safe with any neuron names: the SVG
is Graphviz's (its text escaped by the diagram's builders and by Graphviz); the
data is JSON (``html_data``) inside a ``<script type="application/json">``,
with every ``<``, ``>``, ``&`` and line separator escaped so that no name can
end the script; the script (``html_view.js``) sets text only through
``textContent``; the page's Content-Security-Policy lets only that script run
and forbids every fetch.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Hashable, Mapping, Sequence
from importlib import resources
from typing import Any

from nngraph.errors import RenderError
from nngraph.execute.trace import Trace
from nngraph.core.network import inputs, outputs
from nngraph.render.checks import is_plan, labels_for
from nngraph.render.html_data import view_data
from nngraph.render.neurons import neuron_diagram
from nngraph.render.output import draw

FUNCTION = "render_html"
#: The most samples a page holds: each adds a few KB (about 4 for the lesson's network, 11 for a
#: 784-512-512-10 one), and a page is meant to open quickly.
MAX_SAMPLES = 1000
#: JSON inside a <script> element: escape what could end the element or the script's string literals.
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                   0x2028: "\\u2028", 0x2029: "\\u2029"}


def _asset(name: str) -> str:
    return resources.files("nngraph.render").joinpath(name).read_text(encoding="utf-8")


def script_json(data: object) -> str:
    """``data`` as JSON that can sit inside a ``<script>`` element whatever strings it holds.

    Examples
    --------
    >>> script_json({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    return json.dumps(data, ensure_ascii=False, allow_nan=False).translate(_SCRIPT_ESCAPES)


def _network(G: Any) -> Any:
    """A plan is shown as the network it computes; networks and models as they are."""
    if is_plan(G):
        from nngraph.render.plan_network import network_of_plan

        return network_of_plan(G)
    return G


def _controls(samples: int, sample: int) -> str:
    if not samples:
        return '<span class="nngraph-hint">point at a neuron to read its weighted sum</span>'
    return (f'<button type="button" class="nngraph-prev" aria-label="previous sample">&#9664;</button>'
            f'<input type="range" class="nngraph-slider" min="0" max="{samples - 1}" value="{sample}" '
            f'aria-label="sample">'
            f'<button type="button" class="nngraph-next" aria-label="next sample">&#9654;</button>'
            f'<span class="nngraph-sample">sample {sample}</span>'
            '<span class="nngraph-hint">point at a neuron to read its weighted sum; '
            'click to keep it; &#8592; &#8594; step through the samples</span>')


def _parts(G: Any, *, trace: Trace | None, sample: int,
           input_labels: Sequence[str] | Mapping[Hashable, str] | None,
           output_labels: Sequence[str] | Mapping[Hashable, str] | None,
           collapse_above: int | None, title: str | None) -> tuple[str, str]:
    """The view's markup (without style and script) and its script, checking every argument."""
    if isinstance(trace, Trace) and trace.batch_size > MAX_SAMPLES:
        raise RenderError(f"{FUNCTION}: the trace holds {trace.batch_size:,} samples, and a page holds at most "
                          f"{MAX_SAMPLES:,} (each makes it larger); trace fewer, e.g. run_reference(G, x[:100])")
    diagram = neuron_diagram(_network(G), trace=trace, sample=sample, input_labels=input_labels,
                             output_labels=output_labels, collapse_above=collapse_above, title=title)
    graph = diagram.graph
    ends = (labels_for(graph, inputs(graph), input_labels, argument="input_labels", function=FUNCTION),
            labels_for(graph, outputs(graph), output_labels, argument="output_labels", function=FUNCTION))
    index = 0 if trace is None else sample % trace.batch_size
    data = view_data(diagram, trace=trace, sample=index, input_labels=ends[0], output_labels=ends[1])
    svg = draw(diagram.dot, "svg", what="the HTML view").decode("utf-8")
    svg = svg[svg.index("<svg"):]  # the XML prologue and doctype have no place inside HTML
    markup = (f'<div class="nngraph-bar">{_controls(data["samples"], index)}</div>'
              '<div class="nngraph-body">'
              f'<div class="nngraph-diagram">{svg}</div>'
              '<aside class="nngraph-panel" aria-live="polite"></aside>'
              '</div>'
              '<div class="nngraph-tip" hidden></div>'
              f'<script type="application/json" class="nngraph-data">{script_json(data)}</script>')
    return markup, _asset("html_view.js")


def html_view(G: Any, *, trace: Trace | None = None, sample: int = 0,
              input_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
              output_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
              collapse_above: int | None = 10, title: str | None = None) -> str:
    """The interactive view as an HTML fragment (one ``<div>`` with its style, data and script).

    For pages that hold several views, such as a Jupyter notebook: style rules
    are scoped to the view, and the script starts every view not yet started.
    The arguments are ``render_html``'s.

    Examples
    --------
    >>> from nngraph.demo import lesson_model
    >>> html_view(lesson_model()).startswith('<div class="nngraph-view"')
    True
    """
    markup, script = _parts(G, trace=trace, sample=sample, input_labels=input_labels,
                            output_labels=output_labels, collapse_above=collapse_above, title=title)
    return (f'<div class="nngraph-view" tabindex="0"><style>{_asset("html_view.css")}</style>'
            f"{markup}<script>{script}</script></div>")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(G: Any, *, trace: Trace | None = None, sample: int = 0,
                input_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                output_labels: Sequence[str] | Mapping[Hashable, str] | None = None,
                collapse_above: int | None = 10, title: str | None = None) -> str:
    """An interactive page of the neuron diagram: point at a neuron to read its weighted sum written out.

    The page is one self-contained file: it loads nothing when viewed. It holds
    the diagram ``render_neurons`` draws (folded wide columns included) and, for
    every drawn neuron, what its panel explains: name, layer, activation, bias
    and its weighted sum term by term (``value x weight``, largest first; past
    eight terms the rest are summed), then the activation applied, and for
    probability outputs the probability and class. Pointing at a connection
    shows its weight and, with a trace, its contribution ``weight x value``;
    pointing at a "+N more" node says which neurons it stands for. With a trace,
    a slider (or the arrow keys) steps through every sample: fills, numbers,
    labels and the panel follow. Numbers show ``html_data.DIGITS`` significant
    digits. Writing it needs Graphviz's ``dot`` (the diagram is drawn as SVG).

    Parameters
    ----------
    G : networkx.DiGraph, model or Plan
        A network, a model with a ``.graph``, or a compiled plan (shown as the
        network it computes, see ``plan_network``).
    trace : Trace, optional
        A trace of ``G``; the page holds every sample of it, up to ``MAX_SAMPLES``
        (a hundred samples of a 784-512-512-10 network make a page of about 1.2 MB).
    sample : int
        The sample shown first (negative counts from the end).
    input_labels, output_labels : list of str or dict by neuron, optional
        Names for the inputs and outputs (for example class names), as in ``render_neurons``.
    collapse_above : int or None
        Columns wider than this fold into their first and last neurons and a "+N more" node.
    title : str, optional
        A title over the diagram; it also names the page.

    Returns
    -------
    str
        The page; ``nngraph.render(G, "net.html", ...)`` writes it.

    Raises
    ------
    GraphvizMissingError
        When Graphviz's ``dot`` program is not installed.
    RenderError
        For a trace of another network or of more than ``MAX_SAMPLES`` samples, a sample
        out of range, or bad labels.

    Examples
    --------
    >>> from nngraph.demo import lesson_model, SAMPLE, CLASS_NAMES
    >>> model = lesson_model()
    >>> page = render_html(model, trace=model.trace(SAMPLE), output_labels=CLASS_NAMES)
    >>> page.startswith("<!DOCTYPE html>"), '"name": "dense_2/0"' in page
    (True, True)
    """
    markup, script = _parts(G, trace=trace, sample=sample, input_labels=input_labels,
                            output_labels=output_labels, collapse_above=collapse_above, title=title)
    style = _asset("html_view.css")
    policy = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src 'unsafe-inline'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    name = html.escape(title if title is not None else "nngraph: a network, neuron by neuron")
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{name}</title>\n<link rel="icon" href="data:,">\n'
            f"<style>{style}</style>\n</head>\n<body>\n"
            f'<div class="nngraph-view" tabindex="0">{markup}<script>{script}</script></div>\n'
            "</body>\n</html>\n")
