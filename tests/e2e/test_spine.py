"""The spine, as a user drives it: init → feeds add → lists create → subscribers add → poll → digest send,
mail received by a real SMTP server. Runs embedded (SQLite, no broker) and scaled (PostgreSQL + Redis with
separate `publisher worker` processes)."""

from __future__ import annotations

import re

import pytest


def _set_up(publisher, feed_server, blog):
    blog.add_post("First post", "<p>An old post.</p>")
    blog.add_post("Second post", "<p>Another old post.</p>")
    publisher.run("init")
    added = publisher.run("feeds", "add", feed_server.url, "--name", "Example Blog")
    assert "2 existing posts taken as the baseline" in added.stdout
    publisher.run("lists", "create", "news", "--feed", feed_server.url, "--cadence", "daily", "--at", "07:30",
                  "--tz", "Europe/Paris")
    publisher.run("subscribers", "add", "alice@example.com", "--list", "news", "--name", "Alice", "--confirmed")
    publisher.run("subscribers", "add", "bob@example.com", "--list", "news", "--confirmed")
    publisher.run("subscribers", "add", "carol@example.com", "--list", "news")  # never confirmed (mailed to ask)


CONFIRMATION = "Confirm your subscription to Example Blog"  # the blog, by its feed's title


def _digests(smtp) -> list:
    """What the sink received, but the confirmation mail Carol got when she was added."""
    return [m for m in smtp.messages if m.message["Subject"] != CONFIRMATION]


def test_new_post_reaches_every_confirmed_subscriber_once(deployment, feed_server, blog, smtp):
    publisher = deployment
    _set_up(publisher, feed_server, blog)
    new = blog.add_post("Rivanna Runner & the <Last> Stitch", '<p>Finished! <a href="/2026/11/more.html">more</a></p>'
                        '<script>alert(1)</script>')
    blog.posts[0].body = "<p>An old post, with a typo fixed.</p>"  # an edit is not news

    polled = publisher.run("poll")
    assert "1 new, 1 updated" in polled.stdout, polled.stdout
    if publisher.scaled:
        publisher.start_worker()
    sent = publisher.run("digest", "send", "--list", "news", "--wait")
    assert "sent 2, failed 0" in sent.stdout, sent.stdout + publisher.worker_logs() if publisher.scaled else ""

    assert [m.message["Subject"] for m in smtp.to("carol@example.com")] == [CONFIRMATION]
    assert sorted(r for m in _digests(smtp) for r in m.rcpt_tos) == ["alice@example.com", "bob@example.com"]
    for received in _digests(smtp):
        _assert_digest(received.message, new, feed_server.url)
    assert "Hi Alice," in smtp.to("alice@example.com")[0].message.get_body(("plain",)).get_content()

    again = publisher.run("digest", "send", "--list", "news", "--wait")
    assert "Nothing new" in again.stdout
    assert len(_digests(smtp)) == 2


def _assert_digest(message, post, feed_url: str) -> None:
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = parts[0].get_content(), parts[1].get_content()

    assert post.title in text and post.link in text
    assert "Rivanna Runner &amp; the &lt;Last&gt; Stitch" in html and f'href="{post.link}"' in html
    assert "First post" not in text and "Second post" not in text  # the baseline and the edit are not news
    assert "<script" not in html.lower() and "alert(1)" not in html
    # A relative link resolves against the feed document's URL (RFC 3986; Atom's base), made absolute.
    origin = feed_url.removesuffix("/feeds/posts/default")
    assert f'href="{origin}/2026/11/more.html"' in html
    # CSS is inlined: the card's title link carries its style, not just a class.
    assert re.search(rf'<a [^>]*href="{re.escape(post.link)}"[^>]*style="[^"]+"', html) or \
        re.search(rf'<a [^>]*style="[^"]+"[^>]*href="{re.escape(post.link)}"', html)
    # The text part has no HTML debris: no tags, no entities (the title's own "<Last>" is text, not a tag).
    assert not re.search(r"</?(p|a|div|span|table|td|br|img)\b|&(amp|lt|gt|nbsp);", text)

    unsubscribe = message["List-Unsubscribe"]
    assert re.fullmatch(r"<https://news\.example\.org/unsubscribe/[\w.-]+>,\s*<mailto:[^>]+>", unsubscribe)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "<news.example.org>"
    assert message["From"] == "Example Blog <news@example.org>"
    assert re.fullmatch(r"<digest-\d+\.subscriber-\d+\.[0-9a-f]{16}@example\.org>", message["Message-ID"])


def test_unconfirmed_and_unsubscribed_people_get_nothing(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    embedded.run("subscribers", "add", "alice@example.com", "--list", "news")  # re-adding changes nothing
    blog.add_post("Third post")
    embedded.run("poll")
    embedded.run("digest", "send", "--list", "news")
    assert sorted(r for m in _digests(smtp) for r in m.rcpt_tos) == ["alice@example.com", "bob@example.com"]


def test_outbox_is_used_when_no_smtp_server_is_configured(tmp_path, feed_server, blog):
    from tests.support.deploy import Publisher, base_env

    publisher = Publisher(tmp_path, base_env(tmp_path))
    _set_up(publisher, feed_server, blog)
    blog.add_post("Third post")
    publisher.run("poll")
    publisher.run("digest", "send", "--list", "news")
    files = [f for f in sorted((tmp_path / "outbox").glob("*.eml")) if CONFIRMATION.encode() not in f.read_bytes()]
    assert len(files) == 2
    assert all(b"Third post" in f.read_bytes() for f in files)


@pytest.mark.parametrize("args, message", [
    (("feeds", "add", "ftp://example.com/feed"), "must start with http:// or https://"),
    (("lists", "create", "x", "--feed", "http://127.0.0.1:9/none", "--at", "25:00"), "--at must be HH:MM"),
    (("subscribers", "add", "not-an-address", "--list", "news"), "not a valid email address"),
    (("digest", "send", "--list", "nope"), "no list named 'nope'"),
    (("feeds", "check", "/no/such/file.xml"), "error:"),
])
def test_bad_input_is_one_clear_line(embedded, feed_server, blog, args, message):
    _set_up(embedded, feed_server, blog)
    result = embedded.run(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_commands_before_init_say_so(embedded):
    result = embedded.run("feeds", "list", check=False)
    assert result.returncode != 0
    assert "run `publisher init`" in result.stderr
