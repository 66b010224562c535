"""A weekly digest of ten long Blogger posts stays under the HTML budget (Gmail clips past ~102 KB and hides
the rest, unsubscribe link included): its later posts become excerpts with "Read more", every post is listed,
and `digest lint` reports the size against the budget."""

from __future__ import annotations

import html
import json
from pathlib import Path

import lxml.html
import pytest

from publisher.ingest.parse import parse_feed

BUDGET_KB = 90  # the default of PUBLISHER_HTML_BUDGET_KB


def _longest_blogger_posts(corpus: Path, count: int = 10) -> list[tuple[str, str]]:
    """(title, content HTML) of the longest posts of the shared corpus's real Blogger feeds."""
    posts = []
    for path in sorted((corpus / "blogger").glob("*.atom")):
        feed = parse_feed("https://example-blog.blogspot.com/", path.read_bytes())
        posts += [(entry.title, entry.content_html) for entry in feed.entries if entry.title]
    posts.sort(key=lambda post: -len(post[1]))
    if len(posts) < count:
        pytest.skip(f"the corpus has {len(posts)} Blogger posts with titles; this test needs {count}")
    return posts[:count]


@pytest.fixture
def weekly_of_ten(embedded, feed_server, blog, corpus):
    long_posts = _longest_blogger_posts(corpus)
    blog.add_post("Old post", "<p>Baseline.</p>")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url, "--name", "Ruby Blogs")
    embedded.run("lists", "create", "weekly", "--feed", feed_server.url, "--cadence", "weekly")
    embedded.run("subscribers", "add", "reader@example.com", "--list", "weekly", "--confirmed")
    for title, body in long_posts:
        blog.add_post(title, body)
    embedded.run("poll")
    return long_posts


def test_ten_long_posts_fit_the_budget_and_are_all_listed(embedded, weekly_of_ten, smtp):
    full_text_kb = sum(len(body.encode()) for _, body in weekly_of_ten) / 1024
    assert full_text_kb > BUDGET_KB  # in full, these posts alone would pass the budget

    lint = json.loads(embedded.run("digest", "lint", "--list", "weekly", "--json").stdout)
    assert lint["size"]["budget_kb"] == BUDGET_KB and lint["size"]["posts"] == 10
    assert lint["size"]["html_kb"] <= BUDGET_KB and not lint["size"]["over_budget"]
    assert 0 < lint["size"]["excerpts"] < 10  # the first posts stay in full, the later ones are excerpts
    table = embedded.run("digest", "lint", "--list", "weekly").stdout
    assert f"within the {BUDGET_KB} KB budget" in table and "of 10 posts are excerpts" in table

    assert "sent 1, failed 0" in embedded.run("digest", "send", "--list", "weekly", "--wait").stdout
    [received] = smtp.messages
    text, body = (part.get_content() for part in received.message.iter_parts())
    assert len(body.encode()) <= BUDGET_KB * 1024
    tree = lxml.html.fromstring(body)
    titles = [" ".join(h.text_content().split()) for h in tree.find_class("post-title")]
    newest_first = list(reversed(weekly_of_ten))  # added oldest to newest; the digest leads with the newest
    assert titles == [" ".join(title.split()) for title, _ in newest_first]  # all ten, in order
    assert len(tree.find_class("read-more")) == 10  # each, excerpt or not, links to the post
    assert "Unsubscribe" in body and "Unsubscribe:" in text  # the footer is inside what Gmail shows
    shown = _letters(tree.text_content())
    first_ending, last_ending = (_letters(lxml.html.fromstring(post).text_content())[-60:]
                                 for post in (newest_first[0][1], newest_first[-1][1]))
    assert first_ending in shown  # the first post is there in full, to its last words
    assert last_ending not in shown  # the last one is an excerpt


def test_lint_fails_a_digest_over_its_budget(embedded, weekly_of_ten):
    embedded.env.update(PUBLISHER_HTML_BUDGET_KB="5")  # less than ten excerpts take
    result = embedded.run("digest", "lint", "--list", "weekly", "--json", check=False)
    assert result.returncode == 1
    size = json.loads(result.stdout)["size"]
    assert size["over_budget"] and size["excerpts"] == 10 and size["html_kb"] > 5


def _letters(text: str) -> str:
    """The text without its whitespace: how lines break differs between the feed and the mail."""
    return "".join(html.unescape(text).split())
