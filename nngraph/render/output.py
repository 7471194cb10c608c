"""Writing diagrams: ``render(obj, path)`` picks the diagram for ``obj`` and the format from the path.

``.dot`` (or ``.gv``) is the DOT source and needs no program; ``.svg``, ``.png``
and ``.pdf`` are drawn by Graphviz's ``dot`` program (every diagram's source
names its own layout, so ``dot`` is the only program ever called).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from nngraph.errors import GraphvizMissingError, RenderError
from nngraph.render.checks import choice, graph_of, is_plan

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
KINDS = ("neurons", "layers", "plan")
INSTALL = ("install Graphviz: 'sudo apt-get install graphviz' (Debian, Ubuntu), "
           "'brew install graphviz' (macOS) or 'conda install -c conda-forge graphviz'")


def diagram_of(obj: Any, *, kind: str | None = None, **options: Any) -> graphviz.Digraph:
    """The diagram ``render`` would write for ``obj``: see ``render`` for the choices."""
    from nngraph.render.layers import render_layers
    from nngraph.render.neurons import render_neurons
    from nngraph.render.plan import render_plan

    if isinstance(obj, (graphviz.Graph, graphviz.Digraph, graphviz.Source)):
        if kind is not None or options:
            raise RenderError("render: obj is already a Graphviz diagram; kind and options "
                              f"apply only to networks, models and plans (got {sorted(options) or kind!r})")
        return obj
    network = isinstance(obj, nx.DiGraph) or isinstance(getattr(obj, "graph", None), nx.DiGraph)
    if not network and not is_plan(obj):
        raise RenderError(f"render: obj must be a network (networkx.DiGraph), a model, a plan or a "
                          f"graphviz diagram; got {type(obj).__name__}")
    kind = choice("render", "kind", kind or ("plan" if is_plan(obj) else "neurons"), KINDS)
    if kind == "neurons":
        if not network:
            raise RenderError("render: kind='neurons' needs the network, not its plan; "
                              "pass the graph, or kind='plan' or 'layers'")
        return render_neurons(obj, **options)
    if kind == "layers":
        return render_layers(obj, **options)
    if not is_plan(obj):
        from nngraph import compile_network

        obj = compile_network(graph_of(obj, function="render"))  # it validates the graph
    return render_plan(obj, **options)


def format_of(path: str | os.PathLike) -> str:
    """The output format that ``path``'s extension asks for, or ``RenderError`` naming ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"render: path {str(path)!r} has extension {suffix or '(none)'!r}; "
                          f"expected one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def write(diagram: graphviz.Digraph | graphviz.Graph | graphviz.Source, path: str | os.PathLike) -> Path:
    """Write ``diagram`` to ``path`` in the format of its extension and return the path.

    Raises ``GraphvizMissingError`` for SVG, PNG and PDF when Graphviz's ``dot``
    program is not installed; ``.dot`` always works.
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt == "dot":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(diagram.source, encoding="utf-8")
        return path
    try:
        # The whole source at once (not line by line, as diagram.pipe writes it), so that a dot
        # that dies early gives its return code rather than a broken pipe.
        drawn = graphviz.pipe("dot", fmt, diagram.source.encode(diagram.encoding or "utf-8"))
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(
            f"render: writing {path.name!r} needs Graphviz's 'dot' program, which is not on PATH; "
            f"{INSTALL}. A .dot file needs no program.") from None
    except graphviz.CalledProcessError as error:
        raise RenderError(dot_failure(error, path)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(drawn)
    return path


def dot_failure(error: subprocess.CalledProcessError, path: Path) -> str:
    """One line on why Graphviz's ``dot`` did not draw ``path``: its own message, or the signal that ended it.

    A negative return code means a signal ended ``dot`` (killed for memory or
    time, or crashed); its output is then of no use, so the line says what to
    try instead.

    Examples
    --------
    >>> import signal, subprocess
    >>> dot_failure(subprocess.CalledProcessError(-signal.SIGKILL, ["dot"]), Path("deep.svg")).split(";")[0]
    "render: Graphviz's dot was killed by SIGKILL while drawing 'deep.svg'"
    """
    if error.returncode < 0:
        try:
            name = signal.Signals(-error.returncode).name
        except ValueError:
            name = f"signal {-error.returncode}"
        return (f"render: Graphviz's dot was killed by {name} while drawing {path.name!r}; "
                f"write a .dot file and draw it with another Graphviz program (for example "
                f"'sfdp -Tsvg'), or fold more of the diagram (smaller collapse_above, "
                f"collapse_columns_above or collapse_boxes_above)")
    detail = " ".join((error.stderr or b"").decode(errors="replace").split())
    return f"render: Graphviz's dot failed to draw {path.name!r} (exit code {error.returncode}): {detail}"


def render(obj: Any, path: str | os.PathLike, *, kind: str | None = None, **options: Any) -> Path:
    """Draw ``obj`` and write it to ``path`` as ``.svg``, ``.png``, ``.pdf`` or ``.dot`` (by extension).

    Parameters
    ----------
    obj : networkx.DiGraph, model, Plan or graphviz.Digraph
        A network or a model (``Sequential``) gives its neuron diagram; a
        compiled plan gives its plan diagram; a diagram already built by
        ``render_neurons``, ``render_layers`` or ``render_plan`` (or any
        graphviz graph) is written as it is.
    path : str or os.PathLike
        Where to write; the extension picks the format. Missing folders are made.
    kind : {"neurons", "layers", "plan"}, optional
        Another diagram of a network or model: ``"layers"`` (``render_layers``)
        or ``"plan"`` (``render_plan`` of ``compile_network(G)``). A plan can
        also be drawn with ``kind="layers"`` (one box per fused group).
    **options
        Passed on to the ``render_*`` function, for example ``trace=`` and
        ``output_labels=`` for the neuron diagram.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    GraphvizMissingError
        For ``.svg``, ``.png`` and ``.pdf`` when Graphviz's ``dot`` is missing.
    RenderError
        For an unknown extension, kind or option value.

    Examples
    --------
    >>> import tempfile, os
    >>> from nngraph.demo import lesson_model
    >>> folder = tempfile.mkdtemp()
    >>> render(lesson_model().graph, os.path.join(folder, "lesson.dot")).name
    'lesson.dot'
    """
    format_of(path)  # before drawing: a wrong extension should fail fast
    return write(diagram_of(obj, kind=kind, **options), path)
