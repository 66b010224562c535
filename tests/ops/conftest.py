"""The web app in-process, on the same database (and broker) as a `publisher` deployment run by the tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

OPS_TOKEN = "ops-token-for-tests"


def ops_client(publisher, monkeypatch) -> TestClient:
    """A client of the web app configured like `publisher` (its environment, the API token set)."""
    from publisher.config import get_settings
    from publisher.web.app import create_app
    from workers.celery_app import reconfigure

    publisher.env["PUBLISHER_API_TOKEN"] = OPS_TOKEN
    for key, value in publisher.env.items():
        if key.startswith("PUBLISHER_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(publisher.workdir)
    get_settings.cache_clear()
    reconfigure()
    return TestClient(create_app(), base_url="https://news.example.org",
                      headers={"Authorization": f"Bearer {OPS_TOKEN}"})


@pytest.fixture(autouse=True)
def _fresh_settings():
    yield
    from publisher.config import get_settings
    from workers.celery_app import reconfigure

    get_settings.cache_clear()
    reconfigure()


def news_list(publisher, feed_url: str, blog, *readers: str) -> None:
    """A list of confirmed readers on one feed, with one post that is news (ready to send)."""
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_url)
    publisher.run("lists", "create", "news", "--feed", feed_url)
    for reader in readers:
        publisher.run("subscribers", "add", reader, "--list", "news", "--confirmed")
    blog.add_post("Something new")
    publisher.run("poll")
