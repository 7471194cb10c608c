"""The README's Python examples run as written (in order, in one namespace, from a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.needs_dot  # the examples write SVG
def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README should show Python examples"
    monkeypatch.chdir(tmp_path)  # examples may write files
    namespace: dict[str, object] = {"print": lambda *args, **kwargs: None}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README


def test_readme_shows_lenet5_summary_and_plan_as_they_print() -> None:
    """The LeNet-5 summary and compiled plan the README shows are what the example prints."""
    import sys

    import nngraph

    sys.path.insert(0, str(README.parent / "examples"))
    from lenet5 import lenet5

    model = lenet5()
    blocks, block, language = [], None, ""
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            if block is None:
                block, language = [], line[3:]
            else:
                if not language:
                    blocks.append("\n".join(block))
                block = None
        elif block is not None:
            block.append(line)
    assert model.summary_text() in blocks
    assert str(nngraph.compile_network(model.graph)) in blocks
