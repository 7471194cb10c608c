"""Diagrams: neurons, layers and plans drawn with Graphviz (the only package that imports ``graphviz``).

Each ``render_*`` function builds and returns a ``graphviz.Digraph``: it shows
inline in Jupyter, and its DOT source needs no program. ``render`` writes a
diagram to ``.svg``, ``.png``, ``.pdf`` or ``.dot``, or the interactive view
(``render_html``) to ``.html``.

Modules, in the order a neuron diagram is made: ``checks`` (arguments),
``layout`` (pinned positions, folded columns, bundled connections),
``values`` (one sample of a trace), ``slots``, ``connections`` and ``legend``
(its nodes, edges and key), ``neurons`` (the diagram); ``boxes``, ``layers``
and ``plan`` for the box diagrams; ``style`` for every colour and number
format; ``output`` for writing files. The interactive view: ``html_data`` (the
numbers behind it), ``html`` (the page, with ``html_view.js`` and
``html_view.css``), ``plan_network`` (a plan's network, to show plans) and
``notebook`` (Jupyter's ``_repr_html_``).

``nngraph.render`` (the attribute) is the ``render`` function, not this
package: import its modules by name (``from nngraph.render import style``).
"""

from nngraph.render.html import render_html
from nngraph.render.layers import render_layers
from nngraph.render.neurons import render_neurons
from nngraph.render.output import render
from nngraph.render.plan import render_plan

__all__ = ["render", "render_html", "render_layers", "render_neurons", "render_plan"]
