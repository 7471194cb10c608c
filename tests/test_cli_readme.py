"""The README's command-line examples run as written.

Each ``$ `` line of a ``console`` block runs in a shell, in order, in one
scratch folder, and must print exactly the lines that follow it (standard
output and standard error together). ``nngraph`` on the shell's PATH runs this
checkout's ``python -m nngraph``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def console_steps(text: str) -> list[tuple[str, str]]:
    """Every ``(command, expected output)`` pair of the ``console`` blocks in ``text``, in order.

    Examples
    --------
    >>> console_steps("```console\\n$ echo hi\\nhi\\n$ true\\n```\\n")
    [('echo hi', 'hi\\n'), ('true', '')]
    """
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], ""))
            elif steps:
                steps[-1] = (steps[-1][0], steps[-1][1] + line + "\n")
    return steps


@pytest.mark.needs_dot  # the example draws an SVG
def test_readme_command_line_examples_print_what_they_show(tmp_path: Path) -> None:
    steps = console_steps(README.read_text(encoding="utf-8"))
    if not steps:
        pytest.skip("the README shows no command-line examples yet")
    shims = tmp_path / "bin"
    shims.mkdir()
    shim = shims / "nngraph"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nngraph "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": os.pathsep.join([str(shims), os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    work = tmp_path / "work"
    work.mkdir()
    for command, expected in steps:
        result = subprocess.run(["sh", "-c", command], cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=120)
        assert result.stdout == expected, f"$ {command}"
