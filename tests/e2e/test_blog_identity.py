"""The blog's identity as a reader meets it, driven through the CLI: the subject, the From name, the header
link, the greeting and the footer name the blog (not the list), follow the blog when it is renamed, and keep
what the editor set with `lists create --title ...`."""

from __future__ import annotations

import re

import lxml.html

BLOG_TITLE = "Quiltville's Quips & Snips!!"
SITE = "https://example-blog.blogspot.com/"


def _set_up(embedded, feed_server, blog, *options: str) -> None:
    blog.title = BLOG_TITLE
    blog.add_post("Old post")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    created = embedded.run("lists", "create", "weekly", "--feed", feed_server.url, *options)
    embedded.run("subscribers", "add", "alice@example.com", "--list", "weekly", "--name", "Alice", "--confirmed")
    return created


def _send(embedded) -> None:
    embedded.run("poll")
    sent = embedded.run("digest", "send", "--list", "weekly", "--wait")
    assert "sent 1" in sent.stdout, sent.stdout


def test_the_digest_names_the_blog_and_follows_it_when_renamed(embedded, feed_server, blog, smtp):
    created = _set_up(embedded, feed_server, blog)
    assert f"Readers see it as \"{BLOG_TITLE}\" from {SITE}" in created.stdout
    post = blog.add_post("Leader & Ender: a scrappy border")
    _send(embedded)
    [mail] = smtp.to("alice@example.com")
    message = mail.message
    assert message["Subject"] == post.title  # one post: its own title
    assert message["From"].addresses[0].display_name == BLOG_TITLE
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert f"Hi Alice,\n\nHere is the new post from {BLOG_TITLE}." in text
    assert f"You subscribed to {BLOG_TITLE} at {SITE}." in text
    page = lxml.html.fromstring(html)
    [header] = page.cssselect("a.blog-title")
    assert (header.get("href"), header.text_content()) == (SITE, BLOG_TITLE)  # the blog, not the app's root
    [footer] = page.cssselect("td.footer p")[:1]
    assert " ".join(footer.text_content().split()) == f"You subscribed to {BLOG_TITLE} at example-blog.blogspot.com."
    assert footer.cssselect("a.site-link")[0].get("href") == SITE
    assert "weekly" not in message["Subject"] and "from weekly" not in text
    [browser] = page.cssselect("a.view-in-browser")
    assert re.fullmatch(r"https://news.example.org/archive/weekly/\d+", browser.get("href"))

    blog.title = "Quiltville"  # renamed on Blogger: the next poll brings the new name
    blog.add_post("Star blocks")
    newest = blog.add_post("Binding")
    _send(embedded)
    renamed = smtp.to("alice@example.com")[1].message
    assert renamed["Subject"] == f"Quiltville: 2 new posts — {newest.title}"  # the newest leads the digest
    assert renamed["From"].addresses[0].display_name == "Quiltville"


def test_what_the_editor_sets_wins_over_the_feed(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog, "--title", "Bonnie's Quilts", "--site-url", "https://quilts.example.com/",
            "--description", "Scraps, stars and stories", "--accent", "#b5651d", "--logo",
            "https://img.example.com/logo.png")
    blog.title = "Renamed on Blogger"
    blog.add_post("One")
    blog.add_post("Two")
    _send(embedded)
    message = smtp.to("alice@example.com")[0].message
    assert message["Subject"] == "Bonnie's Quilts: 2 new posts — Two"  # the newest leads the digest
    html = message.get_body(("html",)).get_content()
    assert 'href="https://quilts.example.com/"' in html and "Renamed on Blogger" not in html
    [logo] = lxml.html.fromstring(html).cssselect("img.logo")
    assert (logo.get("src"), logo.get("alt"), logo.get("height")) == (
        "https://img.example.com/logo.png", "Bonnie's Quilts", "48")
    assert "color:#b5651d" in html.replace(": ", ":")  # the accent colours the post links


def test_bad_identity_options_are_refused_before_anything_is_created(embedded, feed_server, blog):
    blog.add_post("Old post")
    embedded.run("init")
    for option, value in [("--accent", "reddish"), ("--site-url", "javascript:alert(1)"),
                          ("--title", "Quilts\nBcc: victim@example.net")]:
        result = embedded.run("lists", "create", "weekly", "--feed", feed_server.url, option, value, check=False)
        assert result.returncode != 0 and option in result.stderr + result.stdout, (option, result.stderr)
    assert "weekly" not in embedded.run("lists", "list", "--json").stdout
