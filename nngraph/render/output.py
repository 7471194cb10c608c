"""Writing diagrams: ``render(obj, path)`` picks the diagram for ``obj`` and the format from the path.

``.dot`` (or ``.gv``) is the DOT source and needs no program; ``.svg``, ``.png``
and ``.pdf`` are drawn by Graphviz's ``dot`` program (every diagram's source
names its own layout, so ``dot`` is the only program ever called); ``.html`` is
the interactive view of the neuron diagram (``nngraph.render.html``), drawn as SVG.
``dot`` draws into memory, and every file is written atomically
(``nngraph.files.atomic_write``): a drawing that fails, or a write that fails,
leaves the previous file as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from nngraph.compiler import build_plan
from nngraph.errors import GraphvizMissingError, RenderError
from nngraph.files import as_path, atomic_write, write_failure
from nngraph.render.checks import choice, graph_of, is_plan

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot", ".html": "html"}
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
        obj = build_plan(graph_of(obj, function="render"))  # it validates the graph
    return render_plan(obj, **options)


def format_of(path: str | os.PathLike) -> str:
    """The output format that ``path``'s extension asks for, or ``RenderError`` naming ``path``."""
    suffix = as_path(path, function="render").suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"render: path {str(path)!r} has extension {suffix or '(none)'!r}; "
                          f"expected one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def write(diagram: graphviz.Digraph | graphviz.Graph | graphviz.Source, path: str | os.PathLike) -> Path:
    """Write ``diagram`` to ``path`` in the format of its extension and return the path.

    Raises ``GraphvizMissingError`` for SVG, PNG and PDF when Graphviz's ``dot``
    program is not installed (``.dot`` always works), and ``RenderError`` when
    ``dot`` fails or the file cannot be written.
    """
    fmt = format_of(path)
    path = Path(path)
    if fmt == "dot":
        return write_text(diagram.source, path)
    return write_bytes(draw(diagram, fmt, what=repr(path.name)), path)


def draw(diagram: graphviz.Digraph | graphviz.Graph | graphviz.Source, fmt: str, *, what: str) -> bytes:
    """``diagram`` drawn by Graphviz's ``dot`` in ``fmt``; errors name ``what`` is being drawn.

    Raises ``GraphvizMissingError`` (saying how to install it) when ``dot`` is not on PATH,
    and ``RenderError`` when ``dot`` fails.
    """
    try:
        # The whole source at once (not line by line, as diagram.pipe writes it), so that a dot
        # that dies early gives its return code rather than a broken pipe.
        drawn = graphviz.pipe("dot", fmt, diagram.source.encode(diagram.encoding or "utf-8"))
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(
            f"render: writing {what} needs Graphviz's 'dot' program, which is not on PATH; "
            f"{INSTALL}. A .dot file needs no program.") from None
    except graphviz.CalledProcessError as error:
        raise RenderError(dot_failure(error, what)) from None
    return drawn


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically, making missing folders; return the path."""
    return write_bytes(text.encode("utf-8"), path)


def write_bytes(content: bytes, path: str | os.PathLike) -> Path:
    """Write ``content`` to ``path`` atomically (``nngraph.files.atomic_write``); return the path."""
    path = Path(path)
    try:
        with atomic_write(path, binary=True) as stream:
            stream.write(content)
    except OSError as error:
        raise RenderError(f"{path}: {write_failure(error)}") from None
    return path


def dot_failure(error: subprocess.CalledProcessError, what: str) -> str:
    """One line on why Graphviz's ``dot`` did not draw ``what``: its own message, or the signal that ended it.

    A negative return code means a signal ended ``dot`` (killed for memory or
    time, or crashed); its output is then of no use, so the line says what to
    try instead.

    Examples
    --------
    >>> import signal, subprocess
    >>> dot_failure(subprocess.CalledProcessError(-signal.SIGKILL, ["dot"]), "'deep.svg'").split(";")[0]
    "render: Graphviz's dot was killed by SIGKILL while drawing 'deep.svg'"
    """
    if error.returncode < 0:
        try:
            name = signal.Signals(-error.returncode).name
        except ValueError:
            name = f"signal {-error.returncode}"
        return (f"render: Graphviz's dot was killed by {name} while drawing {what}; "
                f"write a .dot file and draw it with another Graphviz program (for example "
                f"'sfdp -Tsvg'), or fold more of the diagram (smaller collapse_above, "
                f"collapse_columns_above or collapse_boxes_above)")
    detail = " ".join((error.stderr or b"").decode(errors="replace").split())
    return f"render: Graphviz's dot failed to draw {what} (exit code {error.returncode}): {detail}"


def render(obj: Any, path: str | os.PathLike, *, kind: str | None = None, **options: Any) -> Path:
    """Draw ``obj`` and write it to ``path`` as ``.svg``, ``.png``, ``.pdf``, ``.dot`` or ``.html`` (by extension).

    Parameters
    ----------
    obj : networkx.DiGraph, model, Plan or graphviz.Digraph
        A network or a model (``Sequential``) gives its neuron diagram; a
        compiled plan gives its plan diagram; a diagram already built by
        ``render_neurons``, ``render_layers`` or ``render_plan`` (or any
        graphviz graph) is written as it is.
    path : str or os.PathLike
        Where to write; the extension picks the format. Missing folders are made.
        ``.html`` writes the interactive view of the neuron diagram (``render_html``);
        its options are ``render_html``'s.
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
        For ``.svg``, ``.png``, ``.pdf`` and ``.html`` when Graphviz's ``dot`` is missing.
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
    if format_of(path) == "html":  # before drawing: a wrong extension should fail fast
        from nngraph.render.html import render_html

        if kind not in (None, "neurons"):
            raise RenderError(f"render: an .html file is the interactive neuron diagram; kind={kind!r} "
                              "is drawn as .svg, .png, .pdf or .dot")
        return write_text(render_html(obj, **options), path)
    return write(diagram_of(obj, kind=kind, **options), path)
