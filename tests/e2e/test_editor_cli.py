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
    assert "Subject: [Test] " in sent.stdout and sent.stdout.rstrip().endswith("to editor@example.org: sent")
    assert [list(m.rcpt_tos) for m in smtp.messages] == [["editor@example.org"]]
    assert smtp.messages[0].message["Subject"].startswith("[Test] ")
    status = json.loads(embedded.run("status", "--json").stdout)
    assert status["sends"] == []  # nothing was recorded as a send
    [listed] = json.loads(embedded.run("lists", "list", "--json").stdout)
    assert (listed["name"], listed["cadence"], listed["day"], listed["subscribers"]["confirmed"]) == \
        ("news", "weekly", "friday", 1)
    bad = embedded.run("digest", "test", "--list", "news", "--to", "not-an-address", check=False)
    assert bad.returncode == 2 and "error" in bad.stderr


def test_what_the_command_line_does_is_in_the_audit_log(embedded, feed_server, blog, smtp, tmp_path):
    """Sent, paused, resumed, cancelled, imported and wiped from a terminal: audited as "cli", as the pages
    and the API audit their editors."""
    blog.add_post("First post")
    embedded.run("init")
    embedded.run("lists", "create", "news", "--feed", feed_server.url)
    people = tmp_path / "people.csv"
    people.write_text("email,name,status\nalice@example.com,Alice,confirmed\nbob@example.com,Bob,confirmed\n")
    embedded.run("subscribers", "import", str(people), "--list", "news")
    blog.add_post("Second post")
    embedded.run("poll")
    embedded.run("digest", "send", "--list", "news")
    [(digest_id,)] = embedded.query("SELECT id FROM digests")
    for reader in ("alice@example.com", "bob@example.com"):  # the next send waits to retry: it can be paused
        smtp.refuse_rcpt(reader, "451 4.3.0 try again later")
    blog.add_post("Third post")
    embedded.run("poll")
    embedded.run("digest", "send", "--list", "news", check=False)
    [(held,)] = embedded.query(f"SELECT id FROM digests WHERE id > {digest_id}")
    for act in ("pause", "resume", "cancel"):
        embedded.run("digest", act, str(held))
    embedded.run("subscribers", "wipe", "bob@example.com", "--yes")

    log = embedded.audit_log()
    assert {actor for actor, _, _ in log} == {"cli"}
    actions = [(action, target) for _, action, target in log]
    assert actions == [("imported", "news"), ("sent", f"digest #{digest_id}"), ("sent", f"digest #{held}"),
                       ("paused", f"digest #{held}"), ("resumed", f"digest #{held}"),
                       ("cancelled", f"digest #{held}"), ("wiped", "a person (address not kept)")]
    assert all("bob@example.com" not in target for _, target in actions)
