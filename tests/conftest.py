"""Shared test set-up: tests marked ``needs_dot`` (Graphviz) or ``needs_browser`` (Chromium) skip without
what they need, but fail under CI=true, where set-up must have installed it."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

# Keras 3 runs on PyTorch here (the torch extra); set before any test imports keras.
os.environ.setdefault("KERAS_BACKEND", "torch")

#: Doctests that draw with Graphviz's dot: skipped without it, except under CI=true (where they fail).
DOT_DOCTESTS = ("nngraph.render.html.render_html", "nngraph.render.html.html_view")


def _missing(marker: str) -> str | None:
    """Why the tests marked ``marker`` cannot run here, or None when they can."""
    if marker == "needs_dot":
        return None if shutil.which("dot") else "Graphviz's dot is not installed (apt-get install graphviz)"
    absent = [program for program in ("chromium", "chromedriver") if shutil.which(program) is None]
    if absent:
        return f"{' and '.join(absent)} not installed (apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Doctests live in nngraph/, out of reach of this file's pytest_runtest_setup: mark them here.
    reason = _missing("needs_dot")
    if reason is None or os.environ.get("CI") == "true":
        return
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name.startswith(DOT_DOCTESTS):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, what in (("needs_dot", "Graphviz's dot"), ("needs_browser", "Chromium with chromedriver")):
        if marker not in item.keywords:
            continue
        reason = _missing(marker)
        if reason is None:
            continue
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is required under CI=true; set-up should have installed it ({reason})")
        pytest.skip(reason)
