"""Headless Chromium for the browser tests, driven by Selenium through the system's chromedriver.

Selenium is given the paths of Debian's ``chromium`` and ``chromedriver`` and
runs offline (``SE_OFFLINE``), so Selenium Manager never downloads a browser or
a driver. The page's console messages and network events are logged, so that
tests can check a page logs no error and fetches nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions")


def chromium(profile: Path, *, width: int = 1400, height: int = 1000) -> webdriver.Chrome:
    """Start headless Chromium with its profile in the empty folder ``profile``; the caller quits it."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (*ARGUMENTS, f"--window-size={width},{height}",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


def requests(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    """Every request since the last call, as (URL, URL of the document that made it), from the
    DevTools network events. The browser's own pages (``chrome://``) make requests too."""
    made = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            made.append((message["params"]["request"]["url"], message["params"].get("documentURL", "")))
    return made
