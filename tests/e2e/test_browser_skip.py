"""Without Chromium, the tests that draw pages in it skip at once and say why and how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
BROWSER_TESTS = ["tests/e2e/test_digest_preview.py::test_preview_renders_in_chromium_without_overflow",
                 "tests/e2e/test_consent.py::test_sign_up_in_a_real_browser"]


def test_browser_tests_skip_saying_why_when_chromium_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # CI fails instead of skipping, by design
    env["PUBLISHER_TEST_CHROMIUM"] = str(tmp_path / "no-chromium-here")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *BROWSER_TESTS],
                            cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert result.stdout.count(f"Chromium is missing at {tmp_path / 'no-chromium-here'}") == 2
    assert "sudo apt-get install chromium" in result.stdout
