"""The watcher against real HTTP servers on 127.0.0.1 and a real SQLite database: status codes, redirects,
adaptive schedule, identity and edits, backdated items, rel="next" catch-up, concurrent polling."""

from __future__ import annotations

import threading
from html import escape
import time
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Base, Feed, Post
from publisher.models.base import utcnow
from publisher.services import feeds as watcher

DATA = Path(__file__).resolve().parents[1] / "ingest" / "data"


class Site:
    """A server whose answer per path the test sets: (status, headers, body), optionally after a delay."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes, float]] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits.append(self.path)
                status, headers, body, delay = outer.routes.get(self.path, (404, {}, b"no", 0))
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", status: int = 200, delay: float = 0, **headers: str) -> str:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        self.routes[path] = (status, headers, body, delay)
        return self.url(path)


@pytest.fixture
def site():
    server = Site()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", allow_private_networks=True,
                    parse_time_limit=10, poll_interval_minutes=30, poll_min_minutes=5, poll_max_minutes=1440)


@pytest.fixture
def session(settings):
    engine = create_engine(settings.database_url)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        yield s


def rss(*items: tuple[str, str, str], next_url: str | None = None) -> bytes:
    """items: (guid, title, pubDate RFC 822)."""
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>https://blog.example/{g}</link>"
                   f"<pubDate>{d}</pubDate><description>&lt;p&gt;{t}&lt;/p&gt;</description></item>"
                   for g, t, d in items)
    paging = f'<atom:link rel="next" href="{next_url}"/>' if next_url else ""
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>Blog</title><link>https://blog.example/</link>{paging}{body}</channel></rss>").encode()


# Built from the clock, never a fixed day: a fixed "recent" date turns old a week later (the backdating grace).
RECENT = format_datetime(utcnow() - timedelta(days=1), usegmt=True)


def add(session, settings, url: str) -> Feed:
    watcher.add_feed(session, settings, url=url)
    session.commit()
    return session.scalar(select(Feed).where(Feed.url == url))


def test_gone_feed_is_retired_with_a_plain_reason(site, session, settings):
    url = site.serve("/feed", rss(("a", "A", RECENT)))
    feed = add(session, settings, url)
    site.serve("/feed", b"gone", status=410)
    result = watcher.refresh_feed(session, settings, feed)
    assert result.error and feed.status == "retired" and feed.next_poll_at is None
    assert "gone for good (HTTP 410 Gone)" in feed.last_error
    assert feed not in watcher.due_feeds(session, utcnow() + timedelta(days=365))


def test_429_waits_as_long_as_retry_after_asks(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    site.serve("/feed", b"slow down", status=429, Retry_After="7200")
    watcher.refresh_feed(session, settings, feed)
    assert feed.last_http_status == 429 and feed.consecutive_failures == 1
    assert feed.next_poll_at >= utcnow() + timedelta(minutes=119)
    assert "429" in feed.last_error


def test_errors_back_off_and_a_success_resets_health(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    site.serve("/feed", b"oops", status=500)
    for _ in range(3):
        watcher.refresh_feed(session, settings, feed)
    assert feed.consecutive_failures == 3 and feed.next_poll_at > utcnow() + timedelta(minutes=90)
    site.serve("/feed", rss(("a", "A", RECENT)))
    watcher.refresh_feed(session, settings, feed)
    assert (feed.consecutive_failures, feed.last_error, feed.last_http_status) == (0, None, 200)


def test_permanent_redirect_updates_the_stored_url(site, session, settings):
    feed = add(session, settings, site.serve("/old", rss(("a", "A", RECENT))))
    new_url = site.serve("/new", rss(("a", "A", RECENT)))
    site.serve("/old", status=301, Location="/new")
    watcher.refresh_feed(session, settings, feed)
    assert feed.url == new_url


def test_cache_control_max_age_delays_the_next_poll(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT)), Cache_Control="max-age=10800"))
    assert feed.next_poll_at >= utcnow() + timedelta(hours=3) - timedelta(minutes=1)


def test_quiet_feeds_are_polled_less_often_and_busy_ones_more(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    quiet = feed.poll_interval_minutes
    watcher.refresh_feed(session, settings, feed)
    assert feed.poll_interval_minutes > quiet
    site.serve("/feed", rss(("b", "B", RECENT), ("a", "A", RECENT)))
    before = feed.poll_interval_minutes
    assert len(watcher.refresh_feed(session, settings, feed).new) == 1
    assert feed.poll_interval_minutes < before
    for _ in range(30):
        watcher.refresh_feed(session, settings, feed)
    assert feed.poll_interval_minutes == settings.poll_max_minutes


def test_one_new_post_and_one_edit_then_the_rss_twin_adds_nothing(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT), ("b", "B", RECENT))))
    site.serve("/feed", rss(("c", "C", RECENT), ("a", "A", RECENT), ("b", "B, typo fixed", RECENT)))
    result = watcher.refresh_feed(session, settings, feed)
    assert [p.title for p in result.new] == ["C"] and [p.title for p in result.updated] == ["B, typo fixed"]
    assert not result.new[0].is_baseline
    again = watcher.refresh_feed(session, settings, feed)
    assert not again.new and not again.updated


def test_blogger_rss_twin_is_the_same_posts(site, session, settings):
    feed = add(session, settings, site.serve("/atom", (DATA / "blogger_twin.atom").read_bytes()))
    site.serve("/atom", (DATA / "blogger_twin.rss").read_bytes())
    result = watcher.refresh_feed(session, settings, feed)
    assert result.new == []
    assert session.scalar(select(Post.id).where(Post.feed_id == feed.id, Post.is_baseline.is_(False))) is None


def test_item_published_long_before_the_baseline_is_not_news(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    site.serve("/feed", rss(("a", "A", RECENT), ("old", "Old", "Mon, 04 Mar 2019 10:00:00 GMT")))
    result = watcher.refresh_feed(session, settings, feed)
    assert [p.title for p in result.new] == ["Old"] and result.new[0].is_baseline


def test_catch_up_follows_next_pages_until_a_known_post(site, session, settings):
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    site.serve("/feed", rss(("e", "E", RECENT), ("d", "D", RECENT), next_url=site.url("/page2")))
    site.serve("/page2", rss(("c", "C", RECENT), ("b", "B", RECENT), next_url=site.url("/page3")))
    site.serve("/page3", rss(("a", "A", RECENT), next_url=site.url("/page4")))
    result = watcher.refresh_feed(session, settings, feed)
    assert sorted(p.title for p in result.new) == ["B", "C", "D", "E"]
    assert all(not p.is_baseline for p in result.new)
    assert "/page4" not in site.hits


def test_a_slow_feed_does_not_hold_the_others(site, session, settings):
    slow = add(session, settings, site.serve("/slow", rss(("s", "S", RECENT))))
    fast = [add(session, settings, site.serve(f"/f{i}", rss((f"x{i}", "X", RECENT)))) for i in range(6)]
    site.serve("/slow", rss(("s", "S", RECENT)), delay=3)
    results = watcher.poll_feeds(session, settings, [slow, *fast])
    assert [r.feed_url for r in results][-1] == slow.url  # stored last: the others did not wait for it
    assert len(results) == 7 and not any(r.error for r in results)


def test_a_parse_that_hangs_fails_only_its_feed(site, session, settings):
    hostile = ('<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>T</title><item>'
               "<title>x</title><author>" + "a" * 65536 + "</author></item></channel></rss>").encode("utf-16")
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    site.serve("/feed", hostile)
    result = watcher.refresh_feed(session, settings.model_copy(update={"parse_time_limit": 2}), feed)
    assert "parsing took longer than 2s" in result.error and feed.consecutive_failures == 1


def test_hostile_html_in_a_polled_feed_is_stored_clean(site, session, settings):
    """feedparser's own sanitizer is off (ours runs in the parser process): what is stored must be clean."""
    feed = add(session, settings, site.serve("/feed", rss(("a", "A", RECENT))))
    hostile = ("<p onclick='steal()'>Hi <a href='javascript:alert(1)'>x</a><script>alert(2)</script>"
               "<iframe src='https://evil.example/'>framed</iframe><img src='/pixel.gif' width='1' height='1'>"
               "<img src='//cdn.example/photo.jpg' style='background:url(https://t.example/)'>"
               "<form action='/steal'><input name='card'></form><a href='/about'>about</a></p>")
    site.serve("/feed", (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
                         f"<link>https://blog.example/</link><item><guid>b</guid>"
                         f"<title>&lt;b&gt;New&lt;/b&gt; post</title><link>https://blog.example/b</link>"
                         f"<pubDate>{RECENT}</pubDate><description>{escape(hostile)}</description></item>"
                         "</channel></rss>").encode())
    [stored] = watcher.refresh_feed(session, settings, feed).new
    post = session.get(Post, stored.id)
    html = post.content_html.lower()
    for forbidden in ("onclick", "javascript:", "<script", "alert(2)", "<iframe", "framed", "pixel.gif",
                      "url(", "<form", "<input", "style="):
        assert forbidden not in html, forbidden
    assert 'src="https://cdn.example/photo.jpg"' in post.content_html
    assert f'href="{site.url("/about")}"' in post.content_html  # relative to the feed document
    assert post.title == "New post"
