"""Jupyter's inline display of models, plans and traces: the interactive view, or a message saying why not.

``_repr_html_`` must not raise (Jupyter would show a traceback instead of the
object), so ``notebook_html`` turns nngraph's own errors, such as Graphviz's
``dot`` being missing or a network that does not validate, into a short
message in the cell's output.
"""

from __future__ import annotations

import html
from typing import Any

from nngraph.errors import NNGraphError
from nngraph.execute.trace import Trace


def _message(text: str) -> str:
    return (f'<div class="nngraph-message" style="font-family: sans-serif; color: #666666">'
            f"nngraph: {html.escape(text)}</div>")


def notebook_html(obj: Any, *, trace: Trace | None = None) -> str:
    """The interactive view of ``obj`` (a network, model or plan) as an HTML fragment for Jupyter.

    Examples
    --------
    >>> import networkx as nx
    >>> notebook_html(nx.DiGraph())
    '<div class="nngraph-message" style="font-family: sans-serif; color: #666666">nngraph: the network has no inputs...'
    """
    from nngraph.render.html import html_view

    try:
        return html_view(obj, trace=trace)
    except NNGraphError as error:
        return _message(f"{error} (the interactive view cannot be shown)")


def trace_html(trace: Trace) -> str:
    """The interactive view of the network ``trace`` ran through, showing the trace's samples."""
    if trace.source is None:
        return _message("this trace does not know its network; show it with "
                        "nngraph.render_html(G, trace=trace)")
    return notebook_html(trace.source, trace=trace)
