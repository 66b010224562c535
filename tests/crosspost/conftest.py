"""Cross-posting against real parts: the watcher polling a real feed server, a real database (SQLite and,
when PUBLISHER_TEST_DATABASE_URL is set, PostgreSQL), fakes of Mastodon and Bluesky speaking their APIs over
HTTP, a webhook receiver. Tasks run in-process (embedded mode), as `publisher poll` runs them."""

from __future__ import annotations

import pytest

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import crosspost_targets
from publisher.services import feeds as watcher
from publisher.services.database import upgrade_database
from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_mastodon import FakeMastodon
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path, monkeypatch):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else \
        f"sqlite:///{tmp_path / 'p.db'}"
    for name, value in {"DATABASE_URL": url, "SECRET_KEY": "k" * 40, "ALLOW_PRIVATE_NETWORKS": "true",
                        "DATA_DIR": str(tmp_path / "data"), "BROKER_URL": "embedded", "CROSSPOST_TIMEOUT": "1",
                        "CROSSPOST_RETRY_BASE_SECONDS": "0", "WEBSUB": "false"}.items():
        monkeypatch.setenv(f"PUBLISHER_{name}", value)
    get_settings.cache_clear()
    upgrade_database()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def mastodon():
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def bluesky():
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def webhook():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def fakes(mastodon, bluesky, webhook) -> dict:
    return {"mastodon": mastodon, "bluesky": bluesky, "webhook": webhook}


def add_target(settings, platform: str, server, name: str | None = None, **options) -> None:
    credentials = {
        "mastodon": dict(url=server.url, secret=getattr(server, "token", None)),
        "bluesky": dict(url=server.url, handle=getattr(server, "handle", None), secret=getattr(server, "password", None)),
        "webhook": dict(url=f"{server.url}/hook", secret=getattr(server, "secret", None)),
    }[platform]
    with session_scope() as session:
        crosspost_targets.add_target(session, settings, platform=platform, name=name or platform,
                                     **{**credentials, **options})


def add_feed(settings, url: str) -> None:
    with session_scope() as session:
        watcher.add_feed(session, settings, url=url)


def poll(settings) -> None:
    with session_scope() as session:
        watcher.poll_feeds(session, settings, watcher.due_feeds(session, _far()))


def _far():
    from datetime import timedelta

    from publisher.models.base import utcnow

    return utcnow() + timedelta(days=1)


def posted(platform: str, server) -> int:
    """How many posts the platform shows (not how many requests it got)."""
    return {"mastodon": lambda: len(server.statuses), "bluesky": lambda: len(server.records),
            "webhook": lambda: len(server.events)}[platform]()
