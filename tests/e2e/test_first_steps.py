"""A new user's wrong steps, each answered with what to do (the real `publisher` command in subprocesses): a
command run from another folder finds its publisher (or says where it looked, creating nothing), a refused
private address names the setting that allows it, a send to a list nobody confirmed says so, a confirmation
mail that cannot go says how else to confirm, and a fetch error names its URL once."""

from __future__ import annotations

import json

import pytest

from tests.support.servers import Recorder
from tests.support.smtp import free_port


def _instance(publisher, feed_server, blog):
    """A publisher as `./run` makes one: relative defaults, settings in its folder's .env."""
    for name in ("PUBLISHER_DATABASE_URL", "PUBLISHER_OUTBOX_DIR", "PUBLISHER_DATA_DIR", "PUBLISHER_FROM"):
        publisher.env.pop(name)
    (publisher.workdir / ".env").write_text("PUBLISHER_FROM=Quips <quips@example.org>\n")
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "news", "--feed", feed_server.url)


def test_a_command_finds_its_publisher_from_a_subfolder_or_publisher_home(embedded, feed_server, blog, tmp_path):
    _instance(embedded, feed_server, blog)
    home = embedded.workdir
    deeper = home / "notes" / "2026"
    deeper.mkdir(parents=True)
    embedded.workdir = deeper
    assert feed_server.url in embedded.run("feeds", "list", "--json").stdout
    shown = embedded.run("lists", "show", "news").stdout
    assert "Quips <quips@example.org> (PUBLISHER_FROM)" in shown  # its .env was read, from two folders up
    assert not any(deeper.iterdir())

    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    embedded.workdir = elsewhere
    lost = embedded.run("feeds", "list", check=False)
    assert lost.returncode == 2
    assert f"no database at {elsewhere / 'publisher.db'}" in lost.stderr and "PUBLISHER_HOME" in lost.stderr
    assert not any(elsewhere.iterdir())  # nothing left behind
    embedded.env["PUBLISHER_HOME"] = str(home)
    assert feed_server.url in embedded.run("feeds", "list", "--json").stdout
    assert not any(elsewhere.iterdir())


def test_another_projects_env_is_not_taken_for_a_publisher(embedded, tmp_path):
    (tmp_path / ".env").write_text("DJANGO_DEBUG=1\n")
    inner = tmp_path / "app"
    inner.mkdir()
    embedded.workdir = inner
    embedded.env["PUBLISHER_DATABASE_URL"] = "sqlite:///./publisher.db"
    result = embedded.run("lists", "list", check=False)
    assert result.returncode == 2 and f"no database at {inner / 'publisher.db'}" in result.stderr


def test_a_send_to_a_list_nobody_confirmed_says_so(embedded, feed_server, blog, smtp):
    _instance(embedded, feed_server, blog)
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news")  # pending
    blog.add_post("New post")
    embedded.run("poll")
    result = embedded.run("digest", "send", "--list", "news")
    assert "news has no confirmed subscribers (1 pending" in result.stdout
    assert "confirmation mail" in result.stdout and "Nothing new" not in result.stdout
    embedded.run("subscribers", "confirm", "ann@example.com", "--list", "news")
    embedded.run("digest", "send", "--list", "news")
    assert any("New post" in m.message["Subject"] for m in smtp.to("ann@example.com"))
    again = embedded.run("digest", "send", "--list", "news")
    assert "Nothing new for news" in again.stdout


def test_a_confirmation_mail_that_cannot_go_says_how_else_to_confirm(embedded, feed_server, blog):
    _instance(embedded, feed_server, blog)
    embedded.env["PUBLISHER_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens
    added = embedded.run("subscribers", "add", "ann@example.com", "--list", "news")
    assert "ann@example.com on news: pending" in added.stdout
    assert "the confirmation mail could not be sent" in added.stderr
    assert "`publisher subscribers confirm ann@example.com --list news`" in added.stderr
    assert "/subscribe/news" in added.stderr


def test_a_wiped_address_stays_out_and_the_reason_is_given(embedded, feed_server, blog):
    _instance(embedded, feed_server, blog)
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed")
    embedded.run("subscribers", "wipe", "ann@example.com", "--yes")
    refused = embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed", check=False)
    assert refused.returncode == 2
    assert "on the suppression list, for every list: their data was erased at their request" in refused.stderr
    assert "a new sign-up by the person themselves" in refused.stderr


@pytest.mark.parametrize("command", ["add", "check"])
def test_a_refused_private_address_names_the_setting(embedded, command):
    embedded.run("init")
    embedded.env["PUBLISHER_ALLOW_PRIVATE_NETWORKS"] = "false"
    with Recorder() as server:
        result = embedded.run("feeds", command, server.url("/feed"), check=False)
        assert not server.hits  # refused before any request
    assert result.returncode == 2
    assert "is a loopback address" in result.stderr
    assert "set PUBLISHER_ALLOW_PRIVATE_NETWORKS=true" in result.stderr


@pytest.mark.parametrize("command", ["add", "check"])
def test_a_fetch_error_names_its_url_once(embedded, command):
    embedded.run("init")
    with Recorder() as server:
        server.routes["/gone"] = (404, {}, b"not here")
        server.routes["/page"] = (200, {"Content-Type": "text/plain"}, b"just text")
        for url in (server.url("/gone"), server.url("/page"), f"http://127.0.0.1:{free_port()}/feed"):
            result = embedded.run("feeds", command, url, check=False)
            assert result.returncode == 2, url
            assert result.stderr.count(url) == 1, result.stderr


def test_a_blogs_address_is_accepted_in_place_of_its_feed(embedded, feed_server, blog):
    """feed_server answers every path with the blog's feed except the home page, which is Blogger's HTML."""
    from tests.services.test_feed_discovery import HTML, blogger_page

    blog.add_post("Old post")
    embedded.run("init")
    with Recorder() as site:
        site.routes["/"] = (200, HTML, blogger_page(site))
        site.routes["/feeds/posts/default"] = (200, {"Content-Type": "application/atom+xml"}, blog.atom())
        checked = embedded.run("feeds", "check", site.url("/"), "--json")
        found = json.loads(checked.stdout)["discovered"]
        assert found["feed"] == site.url("/feeds/posts/default") and found["kind"] == "Atom"
        assert [o["url"] for o in found["others"]][0] == site.url("/feeds/posts/default?alt=rss")
        added = embedded.run("feeds", "add", site.url("/"))
        assert f"{site.url('/')} is a web page: using its feed {site.url('/feeds/posts/default')} (Atom" in added.stdout
        assert "Other feeds it names" in added.stdout and site.url("/feeds/posts/default?alt=rss") in added.stdout
        assert "moved permanently" not in added.stdout
        embedded.run("lists", "create", "news", "--feed", site.url("/"))  # found again, not added twice
    assert [f["url"] for f in json.loads(embedded.run("feeds", "list", "--json").stdout)] == [
        site.url("/feeds/posts/default")]
