"""The web app on a fresh SQLite database, with a real SMTP server behind the Mailer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services.database import upgrade_database
from publisher.web.app import create_app
from tests.support.consent import make_list
from tests.support.deploy import base_env


@pytest.fixture
def settings(tmp_path, smtp, monkeypatch):
    for key, value in base_env(tmp_path, PUBLISHER_SMTP_URL=smtp.url).items():
        if key.startswith("PUBLISHER_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    upgrade_database()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def news(settings):
    with session_scope() as session:
        return make_list(session, name="news")


@pytest.fixture
def app(settings):
    return create_app()


@pytest.fixture
def client(app):
    return TestClient(app, base_url="https://news.example.org")


def client_from(app, ip: str) -> TestClient:
    return TestClient(app, base_url="https://news.example.org", client=(ip, 40000))
