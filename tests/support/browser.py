"""Chromium for the tests that draw pages: Debian's package, driven by Playwright. Where it is missing the
tests skip, saying why and how to get it (CI fails instead: it must run them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HOW_TO_GET = "install it with `sudo apt-get install chromium` (Debian, Ubuntu), or set PUBLISHER_TEST_CHROMIUM to " \
             "a Chromium binary"


def chromium_path() -> Path:
    return Path(os.environ.get("PUBLISHER_TEST_CHROMIUM") or "/usr/bin/chromium")


def playwright_api():
    """playwright.sync_api, once Chromium and Playwright are there; else the test skips with the reason."""
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)) and shutil.which(str(path)) is None:
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {path}: CI must install it (see .ci/run)")
        pytest.skip(f"browser test skipped: Chromium is missing at {path}; {HOW_TO_GET}")
    return pytest.importorskip("playwright.sync_api",
                               reason="browser test skipped: playwright is not installed (pip install -e '.[test]')")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots (not committed)
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]


def launch_chromium(playwright):
    """Debian's Chromium, headless, without the background traffic a test does not want."""
    return playwright.chromium.launch(executable_path=str(chromium_path()), args=LAUNCH_ARGS)
