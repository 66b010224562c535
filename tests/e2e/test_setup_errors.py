"""Setting up goes wrong in ordinary ways: a password in a mistyped SMTP URL, a command run from the wrong
folder, a PostgreSQL database or role that does not exist yet, a provider's postgres:// URL. Each gets one line
that says what to do, gives away no secret, and leaves nothing behind; what init creates is private."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from sqlalchemy.engine import make_url

from publisher.config import parse_smtp_url
from publisher.errors import ConfigError

PASSWORD = "Sup3r-S3cret_pw"


@pytest.mark.parametrize("url", [
    f"smtp://ann:{PASSWORD}@mail.example.org:abc",            # non-numeric port
    f"smtp://ann:{PASSWORD}@mail.example.org:99999",          # port out of range
    f"smtp://ann:{PASSWORD}@mail.example.org:587?tls=maybe",  # bad option
    f"smtp://ann:{PASSWORD}@mail.example.org:587?weight=x",
    f"smpt://ann:{PASSWORD}@mail.example.org:587",            # mistyped scheme
    f"smtp://ann:{PASSWORD}/x@mail.example.org:587",          # "/" in the password: the URL parses oddly
    f"smtp://ann:{PASSWORD}?#@mail.example.org:587",
    f"smtp://ann:p@{PASSWORD}@mail.example.org:25x",          # "@" in the password
])
def test_a_bad_smtp_url_never_shows_its_password(url):
    with pytest.raises(ConfigError) as error:
        parse_smtp_url(url)
    assert PASSWORD not in str(error.value) and "***" in str(error.value)
    assert "PUBLISHER_SMTP_URL" in str(error.value)


def test_the_cli_masks_the_smtp_password_too(embedded, feed_server, blog):
    blog.add_post("First")
    embedded.env["PUBLISHER_SMTP_URL"] = f"smtp://ann:{PASSWORD}@127.0.0.1:notaport"
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    embedded.run("lists", "create", "news", "--feed", feed_server.url)
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed")
    blog.add_post("Second")
    embedded.run("poll")
    result = embedded.run("digest", "send", "--list", "news", check=False)
    assert result.returncode != 0
    assert PASSWORD not in result.stdout + result.stderr
    assert "the port must be a number" in result.stderr


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_creates_the_database_and_the_key_private(embedded, feed_server, blog):
    embedded.env.pop("PUBLISHER_SECRET_KEY")  # generated on first use
    blog.add_post("First")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)  # the first write creates the WAL files
    embedded.run("lists", "snippet", "nope", check=False)
    embedded.run("subscribers", "wipe", "x@example.com", "--yes", check=False)
    database = embedded.workdir / "publisher.db"
    assert _mode(database) == 0o600
    for extra in ("publisher.db-wal", "publisher.db-shm"):
        if (embedded.workdir / extra).exists():
            assert _mode(embedded.workdir / extra) == 0o600, extra
    data = embedded.workdir / ".publisher"
    assert (data / "secret_key").exists() and _mode(data / "secret_key") == 0o600
    assert _mode(data) == 0o700


def test_a_command_in_the_wrong_folder_names_the_path_and_creates_nothing(embedded, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    embedded.workdir = elsewhere
    embedded.env["PUBLISHER_DATABASE_URL"] = "sqlite:///./publisher.db"
    for command in (("feeds", "list"), ("status",), ("digest", "send", "--list", "news"), ("lists", "list")):
        result = embedded.run(*command, check=False)
        assert result.returncode == 2, command
        assert f"no database at {elsewhere / 'publisher.db'}" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not any(elsewhere.iterdir()), list(elsewhere.iterdir())
    embedded.run("init")
    assert (elsewhere / "publisher.db").exists()
    assert embedded.run("feeds", "list").returncode == 0


@pytest.mark.postgres
def test_a_missing_postgres_database_says_how_to_create_it_not_init_again(embedded, postgres_url):
    missing = make_url(postgres_url).set(database=f"nowhere_{uuid.uuid4().hex[:8]}")
    embedded.env["PUBLISHER_DATABASE_URL"] = missing.render_as_string(hide_password=False)
    for command in (("init",), ("feeds", "list")):
        result = embedded.run(*command, check=False)
        assert result.returncode == 2
        assert f"has no database '{missing.database}'" in result.stderr and "createdb" in result.stderr
        assert "run `publisher init` first" not in result.stderr


@pytest.mark.postgres
def test_a_missing_postgres_role_says_so(embedded, postgres_url):
    stranger = make_url(postgres_url).set(username=f"nobody_{uuid.uuid4().hex[:6]}")
    embedded.env["PUBLISHER_DATABASE_URL"] = stranger.render_as_string(hide_password=False)
    result = embedded.run("init", check=False)
    assert result.returncode == 2
    assert f"has no role '{stranger.username}'" in result.stderr and "createuser" in result.stderr


@pytest.mark.postgres
def test_an_uninitialised_postgres_database_says_init(embedded, postgres_url):
    embedded.env["PUBLISHER_DATABASE_URL"] = postgres_url
    result = embedded.run("feeds", "list", check=False)
    assert result.returncode == 2 and "is not initialised: run `publisher init`" in result.stderr


@pytest.mark.postgres
def test_a_providers_postgres_url_is_accepted(embedded, postgres_url, feed_server, blog):
    blog.add_post("First")
    embedded.env["PUBLISHER_DATABASE_URL"] = postgres_url.replace("postgresql://", "postgres://", 1)
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    assert feed_server.url in embedded.run("feeds", "list", "--json").stdout


@pytest.mark.parametrize("variable, value, says", [
    ("PUBLISHER_TRUSTED_PROXIES", "10.0.0.0/8, not-a-network", "'not-a-network' is not an IP address"),
    ("PUBLISHER_BATCH_SIZE", "lots", "valid integer"),
    ("PUBLISHER_ALLOW_PRIVATE_NETWORKS", "perhaps", "valid boolean"),
    ("PUBLISHER_SMTP_TIMEOUT", f"{PASSWORD}", "valid number"),
    ("PUBLISHER_FROM", f"Blog <news@example.org>\r\nBcc: {PASSWORD}@example.org", "line break"),
    ("PUBLISHER_FROM", f"Blog <news@example.org>\nX-Injected: {PASSWORD}", "line break"),
    ("PUBLISHER_FROM", f"news@example.org, {PASSWORD}@example.org", "one address"),
])
def test_a_malformed_setting_is_named_in_one_line(embedded, variable, value, says):
    embedded.env[variable] = value
    result = embedded.run("status", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {variable}: ") and says in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert PASSWORD not in result.stderr  # a setting's value may be a secret: it is never echoed
