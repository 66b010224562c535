"""The use cases the CLI shares with the pages and the API, as a user runs them: a feed paused, resumed and
removed (refused while a list uses it), the next digest test-sent to one address without recording a send,
and `lists list` from the same summary the API returns."""

from __future__ import annotations

import json


def test_feeds_pause_resume_and_remove(embedded, feed_server, blog):
    blog.add_post("First post")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    assert "Paused" in embedded.run("feeds", "pause", feed_server.url).stdout
    assert [f["status"] for f in json.loads(embedded.run("feeds", "list", "--json").stdout)] == ["paused"]
    embedded.run("feeds", "resume", feed_server.url)
    assert [f["status"] for f in json.loads(embedded.run("feeds", "list", "--json").stdout)] == ["active"]
    embedded.run("lists", "create", "news", "--feed", feed_server.url)
    refused = embedded.run("feeds", "remove", feed_server.url, check=False)
    assert refused.returncode == 2 and "used by list(s) news" in refused.stderr
    missing = embedded.run("feeds", "pause", "https://nowhere.example/feed", check=False)
    assert missing.returncode == 2 and "no feed with URL" in missing.stderr


def test_a_test_send_reaches_one_address_and_records_no_send(embedded, feed_server, blog, smtp):
    blog.add_post("First post", "<p>Hello.</p>")
    embedded.run("init")
    embedded.run("lists", "create", "news", "--feed", feed_server.url, "--cadence", "weekly", "--day", "friday")
    embedded.run("subscribers", "add", "alice@example.com", "--list", "news", "--confirmed")
    sent = embedded.run("digest", "test", "--list", "news", "--to", "editor@example.org")
    assert "Sent '[Test] " in sent.stdout
    assert [list(m.rcpt_tos) for m in smtp.messages] == [["editor@example.org"]]
    assert smtp.messages[0].message["Subject"].startswith("[Test] ")
    status = json.loads(embedded.run("status", "--json").stdout)
    assert status["sends"] == []  # nothing was recorded as a send
    [listed] = json.loads(embedded.run("lists", "list", "--json").stdout)
    assert (listed["name"], listed["cadence"], listed["day"], listed["subscribers"]["confirmed"]) == \
        ("news", "weekly", "friday", 1)
    bad = embedded.run("digest", "test", "--list", "news", "--to", "not-an-address", check=False)
    assert bad.returncode == 2 and "error" in bad.stderr
