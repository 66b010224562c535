"""Login throttling, per account and per client address: ten attempts are free, the eleventh waits (it is
refused unchecked, with Retry-After, even with the right password), and each one after waits twice as long.
The base delay is a setting, so these tests never sleep: the growth is checked with an injected clock."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from publisher.config import Settings, get_settings
from publisher.db import make_engine
from publisher.models.base import utcnow
from publisher.services import login_throttle
from publisher.services.database import upgrade_database
from tests.support.editors import ADMIN, EDITOR, login_form_token, make_editor
from tests.web.conftest import client_from


@pytest.fixture
def slow_logins(settings, monkeypatch):
    monkeypatch.setenv("PUBLISHER_LOGIN_DELAY_SECONDS", "30")
    get_settings.cache_clear()
    return get_settings()


def _try(client, email: str, password: str):
    return client.post("/editor/login", data={"email": email, "password": password,
                                              "csrf_token": login_form_token(client)}, follow_redirects=False)


def test_the_eleventh_wrong_password_is_slowed(app, slow_logins):
    make_editor(EDITOR)
    client = client_from(app, "203.0.113.5")
    for _ in range(10):
        assert _try(client, EDITOR.email, "wrong password!").status_code == 401
    eleventh = _try(client, EDITOR.email, "wrong password!")
    assert eleventh.status_code == 429
    assert eleventh.headers["Retry-After"] == "30"
    assert "Try again in 30 seconds" in eleventh.text
    right = _try(client, EDITOR.email, EDITOR.password)  # not even checked while it must wait
    assert right.status_code == 429 and "publisher_session" not in client.cookies


def test_the_account_is_throttled_whatever_address_guesses(app, slow_logins):
    make_editor(EDITOR)
    for n in range(10):  # a botnet: each address guesses once
        assert _try(client_from(app, f"198.51.100.{n + 1}"), EDITOR.email, "wrong password!").status_code == 401
    assert _try(client_from(app, "198.51.100.99"), EDITOR.email, EDITOR.password).status_code == 429
    # Another account is untouched by guesses at this one.
    make_editor(ADMIN)
    assert _try(client_from(app, "198.51.100.100"), ADMIN.email, ADMIN.password).status_code == 303


def test_an_address_is_throttled_whatever_account_it_guesses(app, slow_logins):
    make_editor(ADMIN)
    client = client_from(app, "203.0.113.7")
    for n in range(10):  # password spraying: one guess per account
        assert _try(client, f"user{n}@example.org", "Summer2024!").status_code == 401
    assert _try(client, ADMIN.email, ADMIN.password).status_code == 429
    assert _try(client_from(app, "203.0.113.8"), ADMIN.email, ADMIN.password).status_code == 303


def test_ipv6_clients_are_counted_by_their_64(app, slow_logins):
    make_editor(EDITOR)
    for n in range(10):  # a host owns its /64: changing the last bits is no new client
        assert _try(client_from(app, f"2001:db8:1:2::{n + 1:x}"), f"u{n}@example.org", "guess guess").status_code == 401
    assert _try(client_from(app, "2001:db8:1:2:ffff::1"), EDITOR.email, EDITOR.password).status_code == 429


def test_a_success_forgets_the_accounts_failures(app, slow_logins):
    make_editor(EDITOR)
    for n in range(9):
        assert _try(client_from(app, f"192.0.2.{n + 1}"), EDITOR.email, "wrong password!").status_code == 401
    assert _try(client_from(app, "192.0.2.50"), EDITOR.email, EDITOR.password).status_code == 303
    for n in range(10):
        assert _try(client_from(app, f"192.0.2.{n + 100}"), EDITOR.email, "wrong password!").status_code == 401


def _settings(**values) -> Settings:
    return Settings(**{"login_free_attempts": 10, "login_delay_seconds": 2, "login_delay_max_seconds": 60,
                       "login_reset_minutes": 60, **values})


def test_delays_grow_after_the_free_attempts_up_to_the_cap(settings):
    rules = _settings()
    assert [login_throttle.delay_after(n, rules) for n in (1, 9, 10, 11, 12, 13, 14, 15, 40)] == [
        0, 0, 2, 4, 8, 16, 32, 60, 60]
    key = login_throttle.account_key("ann@example.org")
    now = utcnow()
    with _session() as session:
        assert all(login_throttle.claim(session, rules, [key], now=now) is None for _ in range(10))
        assert login_throttle.claim(session, rules, [key], now=now) == 2.0  # the 11th waits the base delay
        assert login_throttle.claim(session, rules, [key], now=now + timedelta(seconds=1)) == 1.0
        later = now + timedelta(seconds=2)
        assert login_throttle.claim(session, rules, [key], now=later) is None  # waited: checked
        assert login_throttle.claim(session, rules, [key], now=later) == 4.0  # and the next waits twice as long
        # Left alone long enough, the key starts afresh.
        fresh = later + timedelta(minutes=61)
        assert all(login_throttle.claim(session, rules, [key], now=fresh) is None for _ in range(10))


def _session():
    return sessionmaker(make_engine(get_settings().database_url), expire_on_commit=False)()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'throttle.db'}"
    return request.getfixturevalue("postgres_url")


def test_attempts_sent_at_once_are_each_counted(any_database, monkeypatch):
    """Fifty guesses racing in parallel: exactly the ten free ones are checked, not fifty."""
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", any_database)
    get_settings.cache_clear()
    upgrade_database()
    rules = _settings(login_delay_seconds=600)
    engine = make_engine(any_database)
    if engine.dialect.name == "postgresql":
        engine = create_engine(engine.url, pool_size=50)  # one connection each: all really at once
    factory = sessionmaker(engine, expire_on_commit=False)
    allowed, start = [], threading.Barrier(50)
    now = utcnow()

    def guess():
        with factory() as session:
            if engine.dialect.name == "postgresql":
                session.connection()  # connected before the start: the claims, not the connects, race
            start.wait(timeout=60)
            # One key: with two, the first one's row lock would serialise the second's claims anyway.
            wait = login_throttle.claim(session, rules, [login_throttle.account_key("ann@example.org")], now=now)
            session.commit()
            if wait is None:
                allowed.append(1)

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    get_settings.cache_clear()
    assert len(allowed) == 10, len(allowed)
