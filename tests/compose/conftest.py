"""Fixtures shared by the compose tests."""

import pytest

from publisher.compose.render import RenderedDigest, render_digest
from tests.compose.sample import TEMPLATES, make_context


@pytest.fixture(scope="session")
def rendered() -> RenderedDigest:
    return render_digest(make_context(), templates_dir=TEMPLATES)
