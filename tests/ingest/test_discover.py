"""The autodiscovery stage on its own: what a page names, in what order, and what it must never yield."""

from __future__ import annotations

from publisher.ingest.discover import feed_candidates, looks_like_html

PAGE = "https://quips.example/blog/index.html"


def _urls(html: str, page: str = PAGE) -> list[str]:
    return [c.url for c in feed_candidates(page, html.encode())]


def test_relative_links_resolve_against_the_page_or_its_base():
    assert _urls('<link rel="alternate" type="application/rss+xml" href="feed.xml">') == [
        "https://quips.example/blog/feed.xml"]
    assert _urls('<base href="https://cdn.quips.example/x/"><link rel="alternate" '
                 'type="application/atom+xml" href="atom.xml">') == ["https://cdn.quips.example/x/atom.xml"]


def test_only_http_feeds_of_feed_types_are_taken():
    html = ('<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
            '<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">'
            '<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">'
            '<link rel="stylesheet" type="application/rss+xml" href="/not-alternate">'
            '<link rel="alternate" type="application/rss+xml">'
            '<link rel="ALTERNATE home" type="Application/RSS+XML; charset=utf-8" href="/ok.xml">')
    assert _urls(html) == ["https://quips.example/ok.xml"]


def test_the_same_feed_named_twice_is_listed_once():
    link = '<link rel="alternate" type="application/rss+xml" href="/feed/">'
    assert _urls(link * 3) == ["https://quips.example/feed/"]


def test_broken_html_still_yields_what_it_names():
    html = '<html><head><link rel=alternate type=application/atom+xml href=/atom.xml><title>unclosed <b><<<'
    assert _urls(html) == ["https://quips.example/atom.xml"]


def test_a_wordpress_blog_in_a_subfolder_gets_its_own_feed():
    html = '<link rel="stylesheet" href="/blog/wp-content/themes/x/style.css">'
    assert _urls(html, "https://quips.example/blog/") == ["https://quips.example/blog/feed/"]


def test_pages_and_feeds_are_told_apart():
    assert looks_like_html(b"<!DOCTYPE html><html>", None)
    assert looks_like_html(b"\xef\xbb\xbf  <html lang='en'>", "application/octet-stream")
    assert looks_like_html(b"anything", "text/html; charset=utf-8")
    assert not looks_like_html(b"<?xml version='1.0'?><rss version='2.0'>", "text/xml")
    assert not looks_like_html(b"<feed xmlns='http://www.w3.org/2005/Atom'>", "application/atom+xml")
    assert not looks_like_html(b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json")
