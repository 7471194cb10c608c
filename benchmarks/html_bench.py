"""How big the interactive HTML pages get and how fast they open: python benchmarks/html_bench.py [--repeat N].

For the lesson's 8-6-6-4 network and a 784-512-512-10 network, each traced on
100 samples: the time ``render_html`` takes to build the page (diagram, SVG
drawn by Graphviz's dot, data), the page's size, and, where Chromium and
chromedriver are installed, the time headless Chromium takes to load it (from
navigation to the end of the load event, by which the view is set up) and to
show another sample. The best of ``--repeat`` runs (default 1) counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from render_bench import best_time, wide_model

import nngraph
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model

SAMPLES = 100
LOAD = "var n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;"
STEP = ("var view = document.querySelector('.nngraph-view').nngraphView; var start = performance.now();"
        "view.setSample((view.sample + 1) % view.data.samples); return performance.now() - start;")


def pages(folder: Path, repeat: int) -> list[tuple[str, float, Path]]:
    """Build and write each page: (name, build seconds, path)."""
    rng = np.random.default_rng(0)
    lesson = lesson_model()
    lesson_x = np.vstack([SAMPLE, rng.uniform(0.0, 1.0, size=(SAMPLES - 1, 8))])
    wide = wide_model()
    wide_trace = nngraph.compile_network(wide.graph).trace(rng.uniform(0.0, 1.0, size=(SAMPLES, 784)))
    jobs = [
        ("lesson, no trace", lesson, {"output_labels": CLASS_NAMES}),
        (f"lesson, {SAMPLES} samples", lesson, {"trace": lesson.trace(lesson_x), "output_labels": CLASS_NAMES}),
        (f"784-512-512-10, {SAMPLES} samples", wide,
         {"trace": wide_trace, "output_labels": [str(digit) for digit in range(10)]}),
    ]
    built = []
    for index, (name, model, options) in enumerate(jobs):
        seconds, page = best_time(lambda: nngraph.render_html(model, **options), repeat)
        path = folder / f"page{index}.html"
        path.write_text(page, encoding="utf-8")
        built.append((name, seconds, path))
    return built


def browser_times(paths: list[Path], folder: Path, repeat: int) -> list[tuple[float, float]] | None:
    """(load ms, step ms) of each page in headless Chromium, or None without a browser."""
    if not (shutil.which("chromium") and shutil.which("chromedriver") and importlib.util.find_spec("selenium")):
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser import chromium  # tests/browser.py: Chromium as the browser tests drive it

    driver = chromium(folder / "profile")
    try:
        times = []
        for path in paths:
            load, step = float("inf"), float("inf")
            for _ in range(repeat):
                driver.get(path.as_uri())
                load = min(load, driver.execute_script(LOAD))
                if driver.execute_script("return document.querySelector('.nngraph-view').nngraphView.data.samples"):
                    step = min(step, driver.execute_script(STEP))
            times.append((load, step))
        return times
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        built = pages(Path(folder), repeat)
        times = browser_times([path for _, _, path in built], Path(folder), repeat)
        print(f"{'HTML page':<34}{'build (s)':>10}{'size (KB)':>11}{'load (ms)':>11}{'next sample (ms)':>18}")
        for index, (name, seconds, path) in enumerate(built):
            load, step = ("-", "-") if times is None else (f"{times[index][0]:.0f}", (
                f"{times[index][1]:.1f}" if times[index][1] != float("inf") else "-"))
            print(f"{name:<34}{seconds:>10.3f}{path.stat().st_size / 1024:>11.1f}{load:>11}{step:>18}")
    if times is None:
        print("(load times need chromium and chromedriver: apt-get install chromium chromium-driver)")


if __name__ == "__main__":
    main()
