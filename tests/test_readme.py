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
