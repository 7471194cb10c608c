"""The layout's import rules, read from every module's source (imports inside functions and under
``TYPE_CHECKING`` count too).

Imports go one way, stage after stage::

    names <- errors <- (core, files, extras) <- ir <- compiler <- execute <- keras <- (models, layers)
           <- population <- (render, interop, io, dask) <- (the nngraph package, demo) <- cli <- __main__

A module may import its own package and any earlier stage, never a later one or another package of
its own stage. The Keras-style front end comes after the executors because its models run
themselves (``model.predict``, ``model.trace``); nothing before it imports it. The reference pass
reaches only the core, the errors (and the names they print) and the two executor modules it shares with the compiled one
(the ``Trace`` and the input checks). Only ``nngraph.render`` imports graphviz.

One exception: a class may show itself in Jupyter by importing ``nngraph.render.notebook`` inside its
``_repr_html_`` method. That import happens only when a notebook asks for the view, never when
nngraph runs, so it adds no dependency to the stage that holds the class.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nngraph"
STAGES = [("names",), ("errors",), ("core", "files", "extras"), ("ir",), ("compiler",), ("execute",), ("keras",), ("models", "layers"),
          ("population",), ("render", "interop", "io", "dask"), ("nngraph", "demo"), ("cli",), ("__main__",)]
RANK = {part: rank for rank, parts in enumerate(STAGES) for part in parts}
ORACLE = "nngraph.execute.reference"
SHARED_WITH_THE_ORACLE = {"nngraph.execute.trace", "nngraph.execute.inputs"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The stage a module belongs to: its first name after ``nngraph.`` (``nngraph`` for the package)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "nngraph"


def imports(source: str, module: str, *, is_package: bool) -> list[tuple[str, int]]:
    """Every module that ``source`` imports, with its line: ``from a.b import c`` counts as ``a.b.c``
    when that is a module of nngraph, else as ``a.b``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = any((PACKAGE.parent / candidate.replace(".", "/")).with_suffix(suffix).exists()
                                for suffix in ("", ".py"))
                found.append((candidate if is_module else base, node.lineno))
    return found


NOTEBOOK_VIEW = "nngraph.render.notebook"


def notebook_hook_lines(source: str) -> set[int]:
    """The lines of imports inside ``_repr_html_`` methods (Jupyter's display hook)."""
    return {node.lineno for function in ast.walk(ast.parse(source))
            if isinstance(function, ast.FunctionDef) and function.name == "_repr_html_"
            for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))}


def violations(path: Path, source: str) -> list[str]:
    """What ``source`` (the text of the module at ``path``) imports against the rules."""
    module = module_name(path)
    own = part_of(module)
    found = []
    hooks = notebook_hook_lines(source)
    for imported, line in imports(source, module, is_package=path.name == "__init__.py"):
        if imported == NOTEBOOK_VIEW and line in hooks:
            continue
        where = f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {imported}"
        if imported.split(".")[0] == "graphviz" and own != "render":
            found.append(f"{where}: graphviz is imported only under nngraph/render")
        if imported.split(".")[0] != "nngraph":
            continue
        target = part_of(imported)
        if target != own and RANK[target] >= RANK[own]:
            allowed = ", ".join(part for part in RANK if RANK[part] < RANK[own])
            found.append(f"{where}: {own} may import only its own package and {allowed}")
        if module in {ORACLE, *SHARED_WITH_THE_ORACLE} and not (
                target in ("names", "errors", "core") or imported in SHARED_WITH_THE_ORACLE):
            found.append(f"{where}: the reference pass reaches only the core, the errors and "
                         f"{', '.join(sorted(SHARED_WITH_THE_ORACLE))}")
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_stage() -> None:
    unknown = {part_of(module_name(path)) for path in MODULES} - set(RANK)
    assert not unknown, f"modules outside the stages of {__name__}: {unknown}; add them to STAGES"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_imports_go_one_way(path: Path) -> None:
    found = violations(path, path.read_text(encoding="utf-8"))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("path", "source", "message"), [
    ("core/network.py", "def f():\n    from nngraph.compiler import build_plan\n",
     "nngraph/core/network.py:2: nngraph.core.network imports nngraph.compiler: core may import only "
     "its own package and names, errors"),
    ("ir/plan.py", "from nngraph.execute.compiled import run_plan\n", "ir may import only"),
    ("compiler/codegen.py", "from nngraph import compile_network\n", "imports nngraph: compiler may"),
    ("execute/reference.py", "from nngraph.ir.plan import Plan\n", "the reference pass reaches only"),
    ("execute/trace.py", "from nngraph.execute import compiled\n", "the reference pass reaches only"),
    ("execute/compiled.py", "import graphviz\n", "graphviz is imported only under nngraph/render"),
    ("render/plan.py", "from ..io import load\n", "nngraph.render.plan imports nngraph.io: render may"),
    ("keras/sequential.py", "from nngraph.render import render\n", "keras may import only"),
    ("ir/plan.py", "def show():\n    from nngraph.render.notebook import notebook_html\n", "ir may import only"),
])
def test_a_forbidden_import_is_named(path: str, source: str, message: str) -> None:
    found = violations(PACKAGE / path, source)
    assert any(message in line for line in found), found


def test_the_whole_exception_tree_lives_in_errors_py() -> None:
    import nngraph
    from nngraph import errors

    defined_elsewhere = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: class {node.name}"
                         for path in MODULES if path.name != "errors.py"
                         for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                         if isinstance(node, ast.ClassDef) and any(
                             getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception"))
                             for base in node.bases)]
    assert not defined_elsewhere, "\n".join(defined_elsewhere)
    tree = [value for value in vars(errors).values()
            if isinstance(value, type) and issubclass(value, errors.NNGraphError)]
    assert all(getattr(nngraph, error.__name__) is error for error in tree)  # all public
    # the root, and what the environment lacks: a program, a library
    environment = {errors.NNGraphError, errors.GraphvizMissingError, errors.ExtraMissingError}
    for error in tree:
        assert issubclass(error, ValueError) != (error in environment), error
    assert issubclass(errors.GraphvizMissingError, RuntimeError)
