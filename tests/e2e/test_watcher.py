"""The watcher as a user sees it through the CLI: one new post is news once, an edit is not news, the
RSS twin of a Blogger feed brings nothing twice, and a hostile feed cannot hold `feeds check`."""

from __future__ import annotations

import time


def test_one_new_post_and_one_edit_give_exactly_one_new_post(embedded, feed_server, blog, smtp):
    for n in range(3):
        blog.add_post(f"Post {n}")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    embedded.run("feeds", "add", feed_server.rss_url)  # Blogger's ?alt=rss twin of the same blog
    embedded.run("lists", "create", "news", "--feed", feed_server.url, "--feed", feed_server.rss_url)
    embedded.run("subscribers", "add", "reader@example.com", "--list", "news", "--confirmed")

    blog.add_post("Fresh post")
    blog.posts[1].body = "<p>Post 1, with a typo fixed.</p>"
    polled = embedded.run("poll").stdout
    assert polled.count("new     Fresh post") == 2  # once per feed: they are two feeds of one blog
    assert "1 new, 1 updated" in polled

    embedded.run("digest", "send", "--list", "news")
    [received] = smtp.messages
    text = received.message.get_body(("plain",)).get_content()
    assert text.count("Body of Fresh post") == 1  # the twin's copy is the same post: mailed once
    assert "Post 1" not in text  # an edit is not news

    again = embedded.run("poll").stdout
    assert "0 new, 0 updated" in again or "not modified" in again
    assert "Nothing new" in embedded.run("digest", "send", "--list", "news").stdout


def test_feeds_check_returns_quickly_on_a_feed_built_to_stall_the_parser(embedded, tmp_path):
    # feedparser 6.0.14 backtracks for minutes on a long <author>; the watcher caps and bounds parsing.
    hostile = tmp_path / "hostile.xml"
    hostile.write_text("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>x</title>"
                       f"<author>{'a' * 65536}@</author><description>&lt;script&gt;alert(1)&lt;/script&gt;"
                       "&lt;p onclick='x()'&gt;hi&lt;/p&gt;</description></item></channel></rss>")
    started = time.monotonic()
    result = embedded.run("feeds", "check", str(hostile), "--json", check=False, timeout=60)
    assert time.monotonic() - started < 15
    assert "script" not in result.stdout and "onclick" not in result.stdout


def test_lists_create_adds_a_feed_not_added_yet_as_a_baseline(embedded, feed_server, blog, smtp):
    blog.add_post("Already there")
    embedded.run("init")
    created = embedded.run("lists", "create", "news", "--feed", feed_server.url).stdout
    assert "1 existing posts taken as the baseline" in created
    embedded.run("subscribers", "add", "reader@example.com", "--list", "news", "--confirmed")
    blog.add_post("Brand new")
    embedded.run("poll")
    embedded.run("digest", "send", "--list", "news")
    [received] = smtp.messages
    assert "Brand new" in received.message["Subject"] and "Already there" not in received.data.decode()
