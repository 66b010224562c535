"""Where the shared feed corpus is: PUBLISHER_TEST_CORPUS (absolute, or relative to the repository), by default
../shared/corpus beside the repository. Every corpus test finds it here, and skips saying so when it is not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def corpus_path() -> Path:
    return (REPOSITORY / os.environ.get("PUBLISHER_TEST_CORPUS", "../shared/corpus")).resolve()


def corpus_file(relative: str) -> Path:
    """A file of the corpus, or a skip that says where it was looked for and how to point elsewhere."""
    path = corpus_path() / relative
    if not path.exists():
        missing = "" if relative == "." else f" ({relative} missing)"
        pytest.skip(f"the shared feed corpus is not at {corpus_path()}{missing}: set "
                    "PUBLISHER_TEST_CORPUS to where it is (it ships beside the repository, at ../shared/corpus, in CI)")
    return path
