"""The README's picture of the interactive view: the lesson's page with a neuron selected, as a PNG.

Run: python scripts/html_screenshot.py [OUT.png] (default docs/lesson_html.png). Needs Graphviz's dot,
Chromium and chromedriver (make setup installs them) and selenium (the dev extra).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import chromium  # noqa: E402 - tests/browser.py: Chromium as the browser tests drive it
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import nngraph  # noqa: E402
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model  # noqa: E402


def screenshot(out: Path) -> Path:
    """Write the lesson's page (the demo's sample and four more), select a neuron, and save the view."""
    model = lesson_model()
    x = np.vstack([SAMPLE, np.random.default_rng(2).uniform(0.0, 1.0, size=(4, 8))])
    with tempfile.TemporaryDirectory() as folder:
        page = nngraph.render(model, Path(folder) / "lesson.html", trace=model.trace(x), output_labels=CLASS_NAMES)
        driver = chromium(Path(folder) / "profile", width=1280, height=1000)
        try:
            driver.get(page.as_uri())
            WebDriverWait(driver, 20).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, ".nngraph-view[data-nngraph-ready]"))
            key = driver.execute_script(
                "return document.querySelector('.nngraph-view').nngraphView.data.neurons"
                ".find(function (n) { return n.name === 'dense_1/2'; }).key")
            driver.find_element(By.CSS_SELECTOR, f'g[data-key="{key}"]').click()  # selects and keeps it
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    return out


if __name__ == "__main__":
    print(f"wrote {screenshot(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / 'docs' / 'lesson_html.png')}")
