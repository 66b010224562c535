"""`publisher editors` as an admin runs it: add (the password asked twice, or read from stdin by scripts),
list, remove, a new password; errors are one line and a password never appears in anything printed."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from publisher.cli import app as cli_app
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import editors


def _run(publisher, *args, stdin: str = "", check: bool = True):
    result = subprocess.run(publisher.command(*args), cwd=publisher.workdir, env=publisher.env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_add_and_list_editors_as_a_script_would(embedded):
    """The real command, in a subprocess: what a deploy script runs."""
    embedded.run("init")
    added = _run(embedded, "editors", "add", "Ann@Example.org", "--admin", "--password-stdin",
                 stdin="correct horse battery\n")
    assert added.stdout.strip() == "Added admin ann@example.org"
    twice = _run(embedded, "editors", "add", "ANN@example.org", "--password-stdin", stdin="another password\n",
                 check=False)
    assert twice.returncode == 2 and twice.stderr.strip() == "error: an editor ann@example.org already exists"
    listed = json.loads(_run(embedded, "editors", "list", "--json").stdout)
    assert [(e["email"], e["role"]) for e in listed] == [("ann@example.org", "admin")]
    for result in (added, twice):
        assert "correct horse" not in result.stdout + result.stderr and "another" not in result.stderr


@pytest.fixture
def database(tmp_path, monkeypatch):
    from publisher.services.database import upgrade_database

    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PUBLISHER_DATA_DIR", str(tmp_path / ".publisher"))
    get_settings.cache_clear()
    upgrade_database()
    yield
    get_settings.cache_clear()


def test_add_asks_for_the_password_twice(database):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["editors", "add", "ann@example.org"],
                           input="first try password\nfirst try pasword\ncorrect horse battery\ncorrect horse battery\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password:") == 2 and "do not match" in result.output
    assert "correct horse" not in result.output  # hidden input is not echoed
    with session_scope() as session:
        assert editors.authenticate(session, email="ann@example.org", password="correct horse battery") is not None
        assert editors.authenticate(session, email="ann@example.org", password="first try password") is None
        assert editors.get_editor(session, "ann@example.org").password_hash.startswith("$argon2id$")


def test_a_new_password_ends_the_editors_sessions(database):
    from publisher.services import web_sessions

    with session_scope() as session:
        ann = editors.add_editor(session, email="ann@example.org", password="correct horse battery")
        cookie, _ = web_sessions.start(session, ann, days=1)
    result = CliRunner().invoke(cli_app, ["editors", "password", "ann@example.org", "--password-stdin"],
                                input="a brand new password\n")
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        assert web_sessions.find(session, cookie) is None
        assert editors.authenticate(session, email="ann@example.org", password="a brand new password") is not None


def test_remove_and_refusals(database):
    runner = CliRunner()

    def run(*args, stdin=""):
        return runner.invoke(cli_app, list(args), input=stdin)

    assert run("editors", "add", "ann@example.org", "--admin", "--password-stdin", stdin="correct horse battery\n"
               ).exit_code == 0
    assert run("editors", "add", "bob@example.org", "--password-stdin", stdin="bobs long password\n").exit_code == 0
    short = run("editors", "add", "cy@example.org", "--password-stdin", stdin="short\n")
    assert "at least 10 characters" in str(short.exception)
    same = run("editors", "add", "cy@example.org", "--password-stdin", stdin="cy@example.org\n")
    assert "must not be the email address" in str(same.exception)
    assert "last admin" in str(run("editors", "remove", "ann@example.org").exception)
    removed = run("editors", "remove", "bob@example.org")
    assert removed.exit_code == 0 and removed.output.strip() == "Removed bob@example.org"
    assert str(run("editors", "remove", "bob@example.org").exception) == "no editor bob@example.org"
    listed = run("editors", "list", "--json")
    assert [e["email"] for e in json.loads(listed.output)] == ["ann@example.org"]
