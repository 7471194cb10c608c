"""The project's own promises: the demo's output, and the needs_dot and needs_browser markers' CI behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nngraph
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model, run_demo

pytest_plugins = ["pytester"]
CONFTEST = Path(__file__).with_name("conftest.py").read_text()


def test_demo_prints_summary_every_neuron_and_labelled_probabilities() -> None:
    lines: list[str] = []
    trace = run_demo(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 124" in text
    for layer in ("dense (6, relu)", "dense_1 (6, relu)", "dense_2 (4, softmax)"):
        assert layer in text
    expected = nngraph.run_reference(lesson_model().graph, SAMPLE)
    np.testing.assert_array_equal(trace.values, expected.values)
    assert f"{expected.weighted_sum('dense_1/4')[0]:.4f}" in text
    for label, probability in zip(CLASS_NAMES, expected.outputs[0]):
        assert f"{label:<8} {probability:8.4f}" in text
    assert text.count("<- prediction") == 1
    assert "Diagrams" not in text


def test_demo_writes_the_four_diagrams_and_says_where(tmp_path: Path) -> None:
    lines: list[str] = []
    run_demo(print_fn=lines.append, diagram_folder=tmp_path / "lesson")
    text = "\n".join(lines)
    written = sorted(path.name for path in (tmp_path / "lesson").iterdir())
    assert [name.split(".")[0] for name in written] == [
        "lesson_layers", "lesson_neurons", "lesson_neurons_values", "lesson_plan"]
    assert f"Diagrams written to {tmp_path / 'lesson'}/" in text
    assert all(name in text for name in written)
    neurons = next(path for path in (tmp_path / "lesson").iterdir() if path.stem == "lesson_neurons_values")
    assert "cat" in neurons.read_text() and "74.8%" in neurons.read_text()


def _run_marked_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str,
                     marker: str = "needs_dot") -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(f"[pytest]\nmarkers =\n    {marker}: needs a program\n")
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_draws():\n    pass\n")
    monkeypatch.setenv("PATH", str(pytester.path))  # no dot, chromium or chromedriver on this PATH
    monkeypatch.setenv("CI", ci)
    return pytester.runpytest_inprocess("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def test_needs_dot_skips_without_graphviz_outside_ci(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _run_marked_test(pytester, monkeypatch, ci="").assert_outcomes(skipped=1)


def test_needs_dot_fails_without_graphviz_under_ci(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_marked_test(pytester, monkeypatch, ci="true")
    result.assert_outcomes(errors=1)  # fails at set-up, so the run is red
    result.stdout.fnmatch_lines(["*Graphviz's dot is required under CI=true*"])


def test_needs_browser_skips_without_chromium_outside_ci(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_marked_test(pytester, monkeypatch, ci="", marker="needs_browser")
    result.assert_outcomes(skipped=1)
    result.stdout.no_fnmatch_line("*required under CI=true*")


def test_needs_browser_fails_without_chromium_under_ci(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_marked_test(pytester, monkeypatch, ci="true", marker="needs_browser")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Chromium with chromedriver is required under CI=true*"
                                 "*chromium and chromedriver not installed*"])
