"""Fixtures with real parts: an SMTP server, a feed server, and (when available) Redis and PostgreSQL.

Redis and PostgreSQL tests run when PUBLISHER_TEST_REDIS_URL / PUBLISHER_TEST_DATABASE_URL are set (CI sets
both and fails rather than skips without them); elsewhere they are skipped with the reason printed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support.corpus import corpus_file
from tests.support.deploy import Publisher, base_env
from tests.support.feeds import Blog, FeedServer
from tests.support.smtp import SMTPSink



def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{variable} is not set: CI must run the {what} tests")
    pytest.skip(f"{what} tests skipped: set {variable} to run them")


@pytest.fixture
def redis_url() -> str:
    url = _service_url("PUBLISHER_TEST_REDIS_URL", "Redis")
    import redis

    redis.Redis.from_url(url).flushdb()  # the test database given is ours to use
    return url


@pytest.fixture
def postgres_url():
    """A fresh database on the test server, dropped afterwards."""
    admin_url = _service_url("PUBLISHER_TEST_DATABASE_URL", "PostgreSQL")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"publisher_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def smtp():
    with SMTPSink() as sink:
        yield sink


@pytest.fixture
def blog() -> Blog:
    return Blog()


@pytest.fixture
def feed_server(blog):
    with FeedServer(blog) as server:
        yield server


@pytest.fixture
def embedded(tmp_path, smtp) -> Publisher:
    return Publisher(tmp_path, base_env(tmp_path, PUBLISHER_SMTP_URL=smtp.url))


@pytest.fixture
def scaled(tmp_path, smtp, redis_url, postgres_url):
    publisher = Publisher(tmp_path, base_env(tmp_path, PUBLISHER_SMTP_URL=smtp.url, PUBLISHER_BROKER_URL=redis_url,
                                             PUBLISHER_DATABASE_URL=postgres_url), scaled=True)
    yield publisher
    publisher.stop_workers()


@pytest.fixture(params=["embedded", "scaled"])
def deployment(request) -> Publisher:
    """The same test, once on embedded defaults (SQLite, no broker) and once scaled (PostgreSQL + Redis)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def corpus() -> Path:
    """The shared feed corpus (PUBLISHER_TEST_CORPUS, default ../shared/corpus)."""
    return corpus_file(".")
