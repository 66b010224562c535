"""Which URL a feed is stored under, against real servers on loopback and a real SQLite database: a permanent
redirect stores the final URL (and `feeds add` / `lists create` say so), a redirect or a hub pointing inside
is refused and stores nothing, and an error names the feed's URL once."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import AlreadyExistsError, BlockedAddressError, FetchError
from publisher.models import Base, Feed, HubSubscription, Post
from publisher.services import feeds as watcher
from publisher.services import websub
from tests.services.test_feeds_watcher import RECENT, rss
from tests.support.servers import Internal, Recorder

# A sample of the spellings tests/ingest/test_ssrf.py covers in full, here through the services.
INSIDE = ["127。0。0。1", "１２７.０.０.１", "127.0.0.1.", "0x7f.1", "[::ffff:127.0.0.1]", "ｌｏｃａｌｈｏｓｔ"]


@pytest.fixture(scope="module")
def internal():
    with Internal() as servers:
        yield servers


@pytest.fixture(autouse=True)
def _forget_hits(internal):
    internal.forget()


@pytest.fixture
def site():
    """The blog: on 127.0.0.2, which the settings below let through while private networks are refused."""
    with Recorder("127.0.0.2") as server:
        server.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(("a", "A", RECENT)))
        yield server


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'urls.db'}", allow_private_networks=False,
                    allowed_private_addresses="127.0.0.2", base_url="https://news.example.org",
                    secret_key="k" * 32, fetch_timeout=5)


@pytest.fixture
def session(settings):
    engine = create_engine(settings.database_url)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        yield s


def _says_what_to_do(message: str) -> bool:
    """A refused address says how to allow private networks; a host that is no plain address, how to write it."""
    return ("set PUBLISHER_ALLOW_PRIVATE_NETWORKS=true" in message
            or "write an address as four decimal numbers" in message) and "\n" not in message


def _feeds(session) -> list[str]:
    return list(session.scalars(select(Feed.url)))


# --- a permanent redirect stores the final URL -------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 308])
def test_a_permanently_moved_feed_is_stored_at_its_final_url(site, session, settings, status):
    old = site.redirect("/old", site.url("/feed"), status)
    result = watcher.add_feed(session, settings, url=old)
    session.commit()
    assert result.moved_to == site.url("/feed") and result.error is None
    assert session.get(Feed, result.feed_id).url == site.url("/feed")
    assert _feeds(session) == [site.url("/feed")] and watcher.find_feed(session, old) is None


def test_moved_twice_permanently_stores_the_last_url(site, session, settings):
    site.redirect("/older", "/old", 301)
    site.redirect("/old", "/feed", 308)
    result = watcher.add_feed(session, settings, url=site.url("/older"))
    assert session.get(Feed, result.feed_id).url == site.url("/feed")


@pytest.mark.parametrize("chain", [[("/old", "/feed", 302)], [("/old", "/mid", 301), ("/mid", "/feed", 307)]])
def test_a_temporary_hop_keeps_the_url_from_that_hop_on(site, session, settings, chain):
    for path, location, status in chain:
        site.redirect(path, location, status)
    result = watcher.add_feed(session, settings, url=site.url("/old"))
    expected = site.url("/old") if chain[0][2] == 302 else site.url("/mid")
    assert session.get(Feed, result.feed_id).url == expected


def test_a_url_that_moved_onto_a_feed_we_have_is_refused_and_not_kept(site, session, settings):
    watcher.add_feed(session, settings, url=site.url("/feed"))
    session.commit()
    old = site.redirect("/old", "/feed", 301)
    with pytest.raises(AlreadyExistsError, match="moved permanently to .*/feed, which is already added"):
        watcher.add_feed(session, settings, url=old)
    session.commit()
    assert _feeds(session) == [site.url("/feed")]
    assert session.scalar(select(func.count(Post.id))) == 1  # the first feed's baseline, no copy of it


# --- nothing refused is stored -----------------------------------------------------------------------------

@pytest.mark.parametrize("host", INSIDE)
def test_add_feed_refuses_an_inside_address_before_storing_it(internal, session, settings, host):
    with pytest.raises(BlockedAddressError) as caught:
        watcher.add_feed(session, settings, url=internal.url(host))
    assert _says_what_to_do(str(caught.value))
    session.commit()
    assert _feeds(session) == [] and internal.hits == []


@pytest.mark.parametrize("host", INSIDE)
@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_inside_is_refused_and_never_stored(internal, site, session, settings, host, status):
    old = site.redirect("/old", internal.url(host), status)
    with pytest.raises(FetchError, match="refusing to fetch"):
        watcher.add_feed(session, settings, url=old)
    session.commit()
    assert _feeds(session) == [] and internal.hits == []


@pytest.mark.parametrize("host", INSIDE)
def test_a_known_feed_that_starts_redirecting_inside_keeps_its_url(internal, site, session, settings, host):
    feed = session.get(Feed, watcher.add_feed(session, settings, url=site.url("/feed")).feed_id)
    session.commit()
    site.redirect("/feed", internal.url(host), 301)
    refreshed = watcher.refresh_feed(session, settings, feed)
    [polled] = watcher.poll_feeds(session, settings, [feed])
    session.commit()
    for result in (refreshed, polled):
        assert "refusing to fetch" in result.error and _says_what_to_do(result.error)
    assert feed.url == site.url("/feed") and "refusing to fetch" in feed.last_error
    assert internal.hits == []


@pytest.mark.parametrize("host", INSIDE)
def test_a_hub_inside_is_refused_and_never_called(internal, site, session, settings, host):
    hub = internal.url(host, path="/hub")
    site.routes["/feed"] = (200, {"Link": f'<{hub}>; rel="hub"'.encode().decode("latin-1")}, rss(("a", "A", RECENT)))
    feed = session.get(Feed, watcher.add_feed(session, settings, url=site.url("/feed")).feed_id)
    session.commit()
    sub = websub.subscribe(session, settings, feed.id)
    assert sub.state == "failed" and "refusing to fetch" in sub.last_error
    assert session.scalar(select(HubSubscription.state)) == "failed"
    assert internal.hits == []


# --- errors name the URL once ------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused connection", "404", "not a feed", "too large", "inside", "redirect loop"])
def test_an_error_names_the_feed_url_exactly_once(internal, site, session, settings, kind):
    url = site.url("/feed")
    if kind == "refused connection":
        url = f"http://127.0.0.2:{_closed_port()}/feed"
    elif kind == "404":
        site.routes["/feed"] = (404, {}, b"no")
    elif kind == "not a feed":
        site.routes["/feed"] = (200, {"Content-Type": "text/html"}, b"<html><body>a blog</body></html>")
    elif kind == "too large":
        settings = settings.model_copy(update={"max_feed_bytes": 10})
    elif kind == "inside":
        url = site.redirect("/feed", internal.url("127.0.0.1"), 302)
    else:
        url = site.redirect("/feed", "/feed", 302)
    feed = Feed(url=url)
    session.add(feed)
    session.flush()
    result = watcher.refresh_feed(session, settings, feed)
    assert result.error.count(url) == 1, result.error
    with pytest.raises(FetchError) as caught:
        watcher.add_feed(session, settings, url=url.replace("/feed", "/feed?again"))
    assert str(caught.value).count(url.replace("/feed", "/feed?again")) == 1, str(caught.value)
