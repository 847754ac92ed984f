"""A headless Chromium for the UI tests: the system's chromium and chromedriver (`make browser`
installs Debian's). The driver is always passed explicitly: Selenium Manager would otherwise try
to download one, which fails offline."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

INSTALL_HINT = "run `make browser` (or `make test`, which installs it)"


def _require(*names: str) -> str:
    for name in names:
        if path := shutil.which(name):
            return path
    pytest.fail(
        f"this test needs {names[0]!r}, which is not on PATH; {INSTALL_HINT}", pytrace=False
    )


@contextmanager
def headless_chrome(page_load_timeout: float = 30.0) -> Iterator[webdriver.Chrome]:
    """A headless Chrome driver on the system chromium, quit on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = _require("chromium", "chromium-browser", "google-chrome")
    options.add_argument("--headless=new")
    options.add_argument("--window-size=1400,1000")
    # Containers often give /dev/shm only 64 MiB, too little for the renderer.
    options.add_argument("--disable-dev-shm-usage")
    # Chromium refuses to run as root with its sandbox on; only then is it turned off.
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    driver = webdriver.Chrome(options=options, service=Service(_require("chromedriver")))
    try:
        driver.set_page_load_timeout(page_load_timeout)
        yield driver
    finally:
        driver.quit()
