"""Hostile input is bounded: long fields, parser backtracking, entity bombs, external entities, JSON Feed."""

from __future__ import annotations

import time

import pytest

from publisher.errors import FeedParseError
from publisher.ingest.guard import FIELD_CAP, cap_fields, parse_bounded
from publisher.ingest.parse import parse_feed

LONG = 64 * 1024


def _rss(author: bytes, encoding: str = "utf-8") -> bytes:
    return (b'<?xml version="1.0" encoding="' + encoding.encode() + b'"?><rss version="2.0"><channel><title>T</title>'
            b"<item><title>Post</title><link>https://blog.example/p</link><author>" + author +
            b"</author><description>Body</description></item></channel></rss>")


def test_64kb_author_is_capped_and_the_post_still_read():
    # feedparser 6.0.14 alone spends minutes on this (a backtracking e-mail regex on the author field).
    started = time.monotonic()
    parsed = parse_bounded("https://blog.example/feed", _rss(b"a" * LONG), time_limit=10)
    assert time.monotonic() - started < 10  # the bound: a poll is never held for long
    assert parsed.entries[0].title == "Post"
    assert len(parsed.entries[0].author) == FIELD_CAP


def test_cdata_author_is_capped_too():
    parsed = parse_bounded("https://blog.example/feed", _rss(b"<![CDATA[" + b"b" * LONG + b"]]>"), time_limit=10)
    assert len(parsed.entries[0].author) == FIELD_CAP


def test_cap_never_cuts_inside_a_character_or_an_entity():
    text = "é" * (FIELD_CAP // 2) + "&amp;" + "x" * FIELD_CAP
    capped = cap_fields(_rss(text.encode()))
    author = parse_feed("https://blog.example/feed", capped).entries[0].author
    assert author.startswith("é" * (FIELD_CAP // 2))
    assert "\ufffd" not in author


def test_a_parse_past_the_time_limit_is_killed_with_a_clear_error():
    # UTF-16 hides the field from the byte-level cap, so only the time limit can stop this one.
    slow = _rss(("a" * LONG).encode("ascii"), "utf-16").decode("ascii").encode("utf-16")
    started = time.monotonic()
    with pytest.raises(FeedParseError, match=r"parsing took longer than 2s"):
        parse_bounded("https://blog.example/feed", slow, time_limit=2)
    assert time.monotonic() - started < 10


def test_parse_errors_cross_the_process_boundary_typed():
    with pytest.raises(FeedParseError, match="is not an RSS or Atom feed"):
        parse_bounded("https://blog.example/feed", b"<html><body>hi</body></html>", time_limit=10)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
<rss version="2.0"><channel><title>&i;</title>
<item><title>Laughs &i;</title><link>https://blog.example/1</link><description>&i;</description></item>
</channel></rss>"""


def test_entity_bomb_expands_to_nothing():
    started = time.monotonic()
    parsed = parse_bounded("https://blog.example/feed", BILLION_LAUGHS, time_limit=10)
    assert time.monotonic() - started < 10
    assert len(parsed.title) < 100 and "aaaa" not in parsed.title
    assert all("aaaa" not in e.content_html and len(e.title) < 100 for e in parsed.entries)


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            '<rss version="2.0"><channel><title>T &x;</title><item><title>I &x;</title>'
            '<link>https://blog.example/1</link><description>D &x;</description></item></channel></rss>').encode()
    parsed = parse_bounded("https://blog.example/feed", data, time_limit=10)
    seen = parsed.title + "".join(e.title + e.content_html for e in parsed.entries)
    assert "TOP-SECRET-VALUE" not in seen


JSON_FEED = b"""{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON Blog", "home_page_url": "https://json.example/", "feed_url": "https://json.example/feed.json",
  "hubs": [{"type": "WebSub", "url": "https://hub.example/"}],
  "next_url": "/feed.json?page=2",
  "items": [
    {"id": "p2", "url": "/2026/11/second", "title": "Second", "content_html": "<p>Two</p>",
     "date_published": "2026-11-02T10:00:00+01:00", "authors": [{"name": "Ada"}], "tags": ["x", "y"],
     "image": "//cdn.json.example/i.png"},
    {"id": 1, "external_url": "https://elsewhere.example/first", "content_text": "One\\n\\nTwo",
     "date_modified": "2026-11-01T10:00:00Z"}
  ]
}"""


def test_json_feed_1_1_is_read_like_any_feed():
    parsed = parse_feed("https://json.example/feed.json", JSON_FEED)
    assert (parsed.title, parsed.link, parsed.hub_url) == ("JSON Blog", "https://json.example/",
                                                           "https://hub.example/")
    assert parsed.next_url == "https://json.example/feed.json?page=2"
    second, first = parsed.entries
    assert (second.identity, second.link, second.author, second.categories) == (
        "p2", "https://json.example/2026/11/second", "Ada", ("x", "y"))
    assert second.published.isoformat() == "2026-11-02T09:00:00+00:00"
    assert second.image_url == "https://cdn.json.example/i.png"
    assert (first.identity, first.link, first.content_html) == ("1", "https://elsewhere.example/first",
                                                               "<p>One</p><p>Two</p>")


def test_json_feed_1_0_author_object():
    data = (b'{"version": "https://jsonfeed.org/version/1", "title": "Old", "items": '
            b'[{"id": "a", "title": "T", "content_html": "<p>x</p>", "author": {"name": "Bob"}}]}')
    assert parse_feed("https://json.example/feed.json", data).entries[0].author == "Bob"
