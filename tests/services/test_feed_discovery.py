"""A blog's address in place of its feed, against real HTTP servers on loopback serving real-shaped pages: the
feed a Blogger, WordPress or any page names (or its platform's convention implies) is found, said, and stored;
the other feeds are listed; a page naming no feed gets a clear error; every request passes the SSRF guard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from publisher.errors import AlreadyExistsError, FeedNotFoundError
from publisher.models import Feed
from publisher.services import feeds as watcher
from tests.services.test_feed_urls import _forget_hits, internal, session, settings  # noqa: F401 - fixtures
from tests.services.test_feeds_watcher import RECENT, rss
from tests.support.servers import Recorder

HTML = {"Content-Type": "text/html; charset=UTF-8"}
ATOM = (b"<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Quips</title>"
        b"<id>tag:blogger.com,1999:blog-1</id><link rel='alternate' href='https://quips.example/'/>"
        b"<entry><id>tag:blogger.com,1999:blog-1.post-1</id><title>Leader</title>"
        b"<published>2026-01-01T00:00:00Z</published><link rel='alternate' href='https://quips.example/1'/></entry>"
        b"</feed>")


def blogger_page(site: Recorder, *, links: bool = True) -> bytes:
    """The head of a Blogger home page (Contempo theme), links made absolute to the test server."""
    alternates = f"""
<link rel="alternate" type="application/atom+xml" title="Quilt Quips - Atom" href="{site.url('/feeds/posts/default')}" />
<link rel="alternate" type="application/rss+xml" title="Quilt Quips - RSS" href="{site.url('/feeds/posts/default?alt=rss')}" />
<link rel="service.post" type="application/atom+xml" title="Quilt Quips - Atom" href="https://www.blogger.com/feeds/1/posts/default" />
<link rel="alternate" type="application/atom+xml" title="Quilt Quips - Atom" href="{site.url('/feeds/1234/comments/default')}" />"""
    return f"""<!DOCTYPE html>
<html dir='ltr' lang='en'>
<head>
<meta content='width=device-width, initial-scale=1' name='viewport'/>
<title>Quilt Quips</title>
<meta content='text/html; charset=UTF-8' http-equiv='Content-Type'/>
<meta content='blogger' name='generator'/>
<link href='{site.url('/favicon.ico')}' rel='icon' type='image/x-icon'/>
<link href='{site.url('/')}' rel='canonical'/>{alternates if links else ''}
<link href='https://www.blogger.com/dyn-css/authorization.css?targetBlogID=1' media='none' rel='stylesheet'/>
</head><body><h1>Quilt Quips</h1></body></html>""".encode()


def wordpress_page(*, links: bool = True) -> bytes:
    alternates = """
<link rel="alternate" type="application/rss+xml" title="Snips &raquo; Comments Feed" href="/comments/feed/" />
<link rel="alternate" type="application/rss+xml" title="Snips &raquo; Feed" href="/feed/" />
<link rel="alternate" type="application/json+oembed" href="/wp-json/oembed/1.0/embed?url=x" />"""
    return f"""<!doctype html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<title>Snips &#8211; a quilting blog</title>{alternates if links else ''}
<link rel='stylesheet' id='wp-block-library-css' href='/wp-includes/css/dist/block-library/style.min.css' media='all' />
<meta name="generator" content="WordPress 6.5.2" />
</head><body class="home blog"><p>Hello</p></body></html>""".encode()


@pytest.fixture
def site():
    """The blog, on 127.0.0.2, which the settings let through while private networks are refused."""
    with Recorder("127.0.0.2") as server:
        yield server


def _stored(session) -> list[str]:
    return list(session.scalars(select(Feed.url)))


def test_a_blogger_home_page_leads_to_its_posts_feed(site, session, settings):
    site.routes["/"] = (200, HTML, blogger_page(site))
    site.routes["/feeds/posts/default"] = (200, {"Content-Type": "application/atom+xml"}, ATOM)
    result = watcher.add_feed(session, settings, url=site.url("/"))
    session.commit()
    assert _stored(session) == [site.url("/feeds/posts/default")]
    found = result.discovery
    assert found.page_url == site.url("/") and found.picked.kind == "Atom"
    assert found.picked.title == "Quilt Quips - Atom"
    assert [o.url for o in found.others] == [site.url("/feeds/posts/default?alt=rss"),
                                             site.url("/feeds/1234/comments/default")]
    assert len(result.new) == 1


def test_a_wordpress_home_page_leads_to_its_posts_feed_not_the_comments(site, session, settings):
    site.routes["/"] = (200, HTML, wordpress_page())
    site.routes["/feed/"] = (200, {"Content-Type": "application/rss+xml"}, rss(("a", "A", RECENT)))
    result = watcher.add_feed(session, settings, url=site.url("/"))
    assert result.discovery.picked.url == site.url("/feed/")
    assert result.discovery.picked.title == "Snips » Feed"
    assert [o.url for o in result.discovery.others] == [site.url("/comments/feed/")]  # oEmbed is no feed


@pytest.mark.parametrize("page, feed_path, platform", [
    ("blogger", "/feeds/posts/default", "blogger"),
    ("wordpress", "/feed/", "wordpress"),
])
def test_a_page_naming_no_feed_falls_back_on_its_platforms_convention(site, session, settings, page, feed_path,
                                                                     platform):
    html = blogger_page(site, links=False) if page == "blogger" else wordpress_page(links=False)
    site.routes["/"] = (200, HTML, html)
    site.routes[feed_path] = (200, {"Content-Type": "application/rss+xml"}, rss(("a", "A", RECENT)))
    result = watcher.add_feed(session, settings, url=site.url("/"))
    assert result.discovery.picked.url == site.url(feed_path) and result.discovery.picked.source == platform
    assert _stored(session) == [site.url(feed_path)]


def test_of_several_alternates_atom_is_picked_and_check_reads_it_with_one_more_request(site, settings):
    site.routes["/"] = (200, HTML, f"""<html><head>
<link rel="alternate" type="application/feed+json" title="JSON" href="/feed.json">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/atom.xml">
</head><body></body></html>""".encode())
    site.routes["/atom.xml"] = (200, {"Content-Type": "application/atom+xml"}, ATOM)
    parsed, posts, found = watcher.check_feed_or_page(site.url("/"), settings)
    assert found.feed_url == site.url("/atom.xml") and parsed.title == "Quips" and [p.title for p in posts] == [
        "Leader"]
    assert [(o.kind, o.url) for o in found.others] == [("RSS", site.url("/rss.xml")),
                                                       ("JSON Feed", site.url("/feed.json"))]
    assert [path for _, path, _ in site.hits] == ["/", "/atom.xml"]


def test_a_page_naming_no_feed_says_what_to_do_and_stores_nothing(site, session, settings):
    site.routes["/"] = (200, HTML, b"<!DOCTYPE html><html><head><title>Just a page</title></head><body></body></html>")
    for attempt in (lambda: watcher.add_feed(session, settings, url=site.url("/")),
                    lambda: watcher.check_feed_or_page(site.url("/"), settings)):
        with pytest.raises(FeedNotFoundError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(f"{site.url('/')} is a web page that names no feed")
        assert "give the feed's own address" in message and "not well-formed" not in message
    session.commit()
    assert _stored(session) == []


def test_feeds_a_page_names_that_fail_are_each_reported(site, session, settings):
    site.routes["/"] = (200, HTML, wordpress_page())
    site.routes["/feed/"] = (404, {}, b"")
    site.routes["/comments/feed/"] = (200, HTML, b"<html><body>comments</body></html>")
    with pytest.raises(FeedNotFoundError) as caught:
        watcher.add_feed(session, settings, url=site.url("/"))
    message = str(caught.value)
    assert "none of the feeds it leads to could be read" in message
    assert f"{site.url('/feed/')} answered 404" in message and f"{site.url('/comments/feed/')} is a web page" in message
    session.commit()
    assert _stored(session) == []


def test_a_page_cannot_point_the_fetcher_inside(internal, site, session, settings):  # noqa: F811
    site.routes["/"] = (200, HTML, f"""<html><head>
<link rel="alternate" type="application/rss+xml" href="{internal.url('127.0.0.1')}">
<link rel="alternate" type="application/atom+xml" href="{internal.url('[::1]', path='/atom')}">
</head></html>""".encode())
    for attempt in (lambda: watcher.add_feed(session, settings, url=site.url("/")),
                    lambda: watcher.check_feed_or_page(site.url("/"), settings)):
        with pytest.raises(FeedNotFoundError) as caught:
            attempt()
        assert "refusing to fetch" in str(caught.value)
        assert "set PUBLISHER_ALLOW_PRIVATE_NETWORKS=true" in str(caught.value)
    session.commit()
    assert _stored(session) == [] and internal.hits == []


def test_a_page_leading_to_a_feed_already_added_says_so(site, session, settings):
    site.routes["/"] = (200, HTML, blogger_page(site))
    site.routes["/feeds/posts/default"] = (200, {"Content-Type": "application/atom+xml"}, ATOM)
    watcher.add_feed(session, settings, url=site.url("/feeds/posts/default"))
    with pytest.raises(AlreadyExistsError, match="leads to the feed .*/feeds/posts/default, which is already added"):
        watcher.add_feed(session, settings, url=site.url("/"))
    feed, added = watcher.find_or_add_feed(session, settings, site.url("/"))  # as `lists create` asks
    assert added is None and feed.url == site.url("/feeds/posts/default")
