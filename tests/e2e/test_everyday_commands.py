"""The everyday commands, run as a user runs them (the real `publisher` in a subprocess): see, confirm and remove
subscribers; show, edit and delete a list; pause, resume and remove a feed. Each listing has --json."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.feeds import Blog, FeedServer


def _set_up(publisher, feed_server, blog):
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "news", "--feed", feed_server.url)


def _members(publisher, *extra) -> dict[str, str]:
    rows = json.loads(publisher.run("subscribers", "list", "--list", "news", "--json", *extra).stdout)
    return {row["email"]: row["status"] for row in rows}


def test_subscribers_added_confirmed_listed_and_removed(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    added = embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--name", "Ann")
    assert "pending" in added.stdout and "Sent the confirmation mail to ann@example.com" in added.stdout
    assert added.stderr == ""  # nothing but the answer (kombu once warned of a missing broker host here)
    mail = smtp.to("ann@example.com")[-1].message
    assert re.search(r"/confirm/\S+", mail.get_body(("plain",)).get_content())
    embedded.run("subscribers", "add", "bob@example.com", "--list", "news", "--confirmed")
    assert not smtp.to("bob@example.com")  # consent obtained already: no confirmation mail
    assert _members(embedded) == {"ann@example.com": "pending", "bob@example.com": "confirmed"}
    assert _members(embedded, "--status", "pending") == {"ann@example.com": "pending"}

    embedded.run("subscribers", "confirm", "ann@example.com", "--list", "news")
    removed = embedded.run("subscribers", "remove", "bob@example.com", "--list", "news")
    assert "bob@example.com removed from news" in removed.stdout
    assert _members(embedded) == {"ann@example.com": "confirmed", "bob@example.com": "unsubscribed"}
    table = embedded.run("subscribers", "list", "--list", "news").stdout
    assert "ann@example.com" in table and "2 subscriber(s)" in table

    missing = embedded.run("subscribers", "remove", "carol@example.com", "--list", "news", check=False)
    assert missing.returncode == 2 and "carol@example.com is not on 'news'" in missing.stderr


def test_a_removed_subscriber_is_not_re_added_without_their_consent(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    embedded.run("subscribers", "add", "bob@example.com", "--list", "news", "--confirmed")
    embedded.run("subscribers", "remove", "bob@example.com", "--list", "news")
    again = embedded.run("subscribers", "add", "bob@example.com", "--list", "news", "--confirmed", check=False)
    assert again.returncode == 2
    assert "stays off 'news': unsubscribed on" in again.stderr
    assert "they sign up again" in again.stderr and "--consent" in again.stderr
    plain = embedded.run("subscribers", "confirm", "bob@example.com", "--list", "news", check=False)
    assert plain.returncode == 2 and "--consent" in plain.stderr
    assert _members(embedded) == {"bob@example.com": "unsubscribed"}
    embedded.run("subscribers", "confirm", "bob@example.com", "--list", "news", "--consent")
    assert _members(embedded) == {"bob@example.com": "confirmed"}


def _show(publisher, name="news") -> dict:
    return json.loads(publisher.run("lists", "show", name, "--json").stdout)


def test_a_list_shown_edited_and_deleted(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed")
    shown = _show(embedded)
    assert shown["cadence"] == "daily" and shown["feeds"][0]["url"] == feed_server.url
    assert shown["subscribers"]["confirmed"] == 1 and shown["last_digest"] is None
    assert "news" in embedded.run("lists", "show", "news").stdout

    other_blog = Blog(title="Other Blog")
    other_blog.add_post("Elsewhere")
    with FeedServer(other_blog) as other:
        edited = embedded.run("lists", "edit", "news", "--cadence", "weekly", "--day", "friday", "--at", "09:30",
                              "--tz", "Europe/Paris", "--from", "Quips <quips@example.org>", "--content", "excerpt",
                              "--add-feed", other.url, "--remove-feed", feed_server.url)
        assert f"added feed {other.url}" in edited.stdout and f"removed feed {feed_server.url}" in edited.stdout
    shown = _show(embedded)
    assert (shown["cadence"], shown["day"], shown["at"], shown["tz"]) == ("weekly", "friday", "09:30", "Europe/Paris")
    assert shown["sender"] == "Quips <quips@example.org>" and shown["content"] == "excerpt"
    assert [f["url"] for f in shown["feeds"]] == [other.url]

    last = embedded.run("lists", "edit", "news", "--remove-feed", other.url, check=False)
    assert last.returncode == 2 and "at least one feed" in last.stderr
    bad = embedded.run("lists", "edit", "news", "--tz", "Mars/Olympus", "--at", "07:00", check=False)
    assert bad.returncode == 2 and "unknown time zone" in bad.stderr
    assert _show(embedded)["at"] == "09:30"  # a refused edit changes nothing

    embedded.run("lists", "edit", "news", "--from", "")
    assert _show(embedded)["sender"] is None
    embedded.run("lists", "delete", "news", "--yes")
    assert json.loads(embedded.run("lists", "list", "--json").stdout) == []
    gone = embedded.run("lists", "show", "news", check=False)
    assert gone.returncode == 2 and "no list named 'news'" in gone.stderr
    assert other.url in embedded.run("feeds", "list", "--json").stdout  # feeds stay


def _feed(publisher, url) -> dict:
    return next(f for f in json.loads(publisher.run("feeds", "list", "--json").stdout) if f["url"] == url)


def test_a_feed_paused_resumed_and_removed(embedded, feed_server, blog):
    _set_up(embedded, feed_server, blog)
    embedded.run("feeds", "pause", feed_server.url)
    assert _feed(embedded, feed_server.url)["status"] == "paused"
    asked = len(feed_server.requests)
    embedded.run("poll")
    assert len(feed_server.requests) == asked  # a paused feed is not fetched
    embedded.run("feeds", "resume", feed_server.url)
    assert _feed(embedded, feed_server.url)["status"] == "active"
    embedded.run("poll")
    assert len(feed_server.requests) == asked + 1

    refused = embedded.run("feeds", "remove", feed_server.url, check=False)
    assert refused.returncode == 2
    assert f"`publisher lists edit news --remove-feed {feed_server.url}`" in refused.stderr
    removed = embedded.run("feeds", "remove", feed_server.url, "--force")
    assert "taken off news" in removed.stdout
    assert json.loads(embedded.run("feeds", "list", "--json").stdout) == []
    assert _show(embedded)["feeds"] == []


@pytest.mark.parametrize("command", [("feeds", "pause"), ("feeds", "resume"), ("feeds", "remove")])
def test_an_unknown_feed_is_named(embedded, command):
    embedded.run("init")
    result = embedded.run(*command, "https://nowhere.example/feed", check=False)
    assert result.returncode == 2 and "no feed with URL https://nowhere.example/feed" in result.stderr
