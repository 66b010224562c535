"""Use cases of the feed watcher: add a feed, check one without writing, refresh one, poll those due."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import (
    AlreadyExistsError,
    FetchError,
    InvalidInputError,
    NotFoundError,
    PublisherError,
)
from publisher.ingest.cadence import after_failure, after_success, next_interval
from publisher.ingest.fetch import FetchResult, fetch_feed, make_client
from publisher.ingest.guard import parse_bounded
from publisher.ingest.parse import ParsedEntry, ParsedFeed
from publisher.ingest.sanitize import sanitize_html
from publisher.models import Feed, Post
from publisher.models.base import utcnow

# An item first seen after the baseline but published this long before it is an old post, not news.
BACKDATED_GRACE = timedelta(days=7)
MAX_CATCH_UP_PAGES = 10
# Due feeds go to workers in chunks: each chunk is polled concurrently within one task.
POLL_CHUNK = 50
COMMIT_EVERY = 50


@dataclass(frozen=True)
class CleanPost:
    """An entry as the watcher sees it: identity decided, HTML sanitized."""

    identity: str
    title: str
    link: str | None
    author: str | None
    categories: list[str]
    content_html: str
    image_url: str | None
    published: datetime | None
    updated: datetime | None

    @property
    def content_hash(self) -> str:
        return _sha256(f"{self.title}\x00{self.link}\x00{self.content_html}")

    def as_json(self) -> dict:
        return {
            "id": self.identity, "title": self.title, "link": self.link,
            "published": self.published.isoformat() if self.published else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "author": self.author, "categories": self.categories, "content_html": self.content_html,
            "image_url": self.image_url,
        }


@dataclass
class RefreshResult:
    feed_url: str
    new: list[Post] = field(default_factory=list)
    updated: list[Post] = field(default_factory=list)
    not_modified: bool = False
    baseline: bool = False
    error: str | None = None


def clean_posts(parsed: ParsedFeed, base_url: str) -> list[CleanPost]:
    return [_clean(entry, base_url) for entry in parsed.entries]


def _clean(entry: ParsedEntry, base_url: str) -> CleanPost:
    link_base = entry.link or base_url
    return CleanPost(
        identity=entry.identity, title=entry.title, link=entry.link, author=entry.author,
        categories=list(entry.categories), content_html=sanitize_html(entry.content_html, link_base),
        image_url=entry.image_url, published=entry.published, updated=entry.updated,
    )


def check_feed(url_or_file: str, settings: Settings) -> tuple[ParsedFeed, list[CleanPost]]:
    """What the watcher would see, writing nothing: fetch (or read a local file), parse, sanitize."""
    path = Path(url_or_file)
    if "://" not in url_or_file and path.is_file():
        base_url, data, content_type = path.resolve().as_uri(), path.read_bytes(), None
    else:
        result = _fetch(url_or_file, settings)
        base_url, data, content_type = result.url, result.content, result.content_type
    parsed = _parse(settings, base_url, data, content_type)
    return parsed, clean_posts(parsed, parsed.link or base_url)


def add_feed(session: Session, settings: Settings, *, url: str, name: str | None = None,
             backfill: int = 0) -> RefreshResult:
    """Register a feed and take its baseline at once, so a wrong URL is reported now, not at 3 a.m.
    The newest `backfill` posts of the baseline count as news."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"feed URL must start with http:// or https://, got {url!r}")
    if session.scalar(select(Feed).where(Feed.url == url)):
        raise AlreadyExistsError(f"feed {url} is already added")
    feed = Feed(url=url, name=name)
    session.add(feed)
    session.flush()
    result = refresh_feed(session, settings, feed)
    if result.error:
        raise FetchError(result.error)
    for post in sorted(result.new, key=_newest_first)[:backfill]:
        post.is_baseline = False
    return result


def find_feed(session: Session, url: str) -> Feed | None:
    return session.scalar(select(Feed).where(Feed.url == url))


def get_feed(session: Session, url: str) -> Feed:
    feed = find_feed(session, url)
    if feed is None:
        raise NotFoundError(f"no feed with URL {url} (see `publisher feeds list`)")
    return feed


@dataclass(frozen=True)
class _Outcome:
    """What one poll brought back from the network, before anything touches the database."""

    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None
    posts: list[CleanPost] | None = None  # sanitized in the fetching thread, off the storing one
    error: PublisherError | None = None


def refresh_feed(session: Session, settings: Settings, feed: Feed,
                 client: httpx.Client | None = None) -> RefreshResult:
    """Fetch with conditional GET, store new posts, update edited ones, and record the feed's health."""
    outcome = _gather(settings, feed.url, feed.etag, feed.last_modified, client)
    return _apply(session, settings, feed, outcome, client)


def poll_feeds(session: Session, settings: Settings, feeds: list[Feed]) -> list[RefreshResult]:
    """Poll many feeds at once over one connection pool: fetching and parsing run in threads, so a slow
    feed holds only its own thread; each result is stored as soon as it arrives (committed within a second)."""
    if not feeds:
        return []
    workers = max(1, min(settings.poll_concurrency, len(feeds)))
    results = []
    with make_client(allow_private_networks=settings.allow_private_networks, timeout=settings.fetch_timeout,
                     max_connections=workers) as client, ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(_gather, settings, f.url, f.etag, f.last_modified, client): f for f in feeds}
        committed_at = time.monotonic()
        for done, future in enumerate(as_completed(futures), 1):
            results.append(_apply(session, settings, futures[future], future.result(), client))
            # Commit in small groups: one commit per feed would make the disk, not the network, the limit.
            if done % COMMIT_EVERY == 0 or time.monotonic() - committed_at > 1.0:
                session.commit()
                committed_at = time.monotonic()
        session.commit()
    return results


def ingest_pushed(session: Session, settings: Settings, feed: Feed, data: bytes,
                  content_type: str | None) -> RefreshResult:
    """Content a WebSub hub pushed: the same parse and store as a poll, so a pushed post and its polled
    copy are one post (same identity)."""
    result = RefreshResult(feed_url=feed.url)
    try:
        parsed = _parse(settings, feed.url, data, content_type)
    except PublisherError as exc:
        result.error = f"{feed.url}: pushed content: {exc}"
        return result
    _store_posts(session, feed, clean_posts(parsed, parsed.link or feed.url), result, utcnow())
    return result


def _gather(settings: Settings, url: str, etag: str | None, last_modified: str | None,
            client: httpx.Client | None) -> _Outcome:
    """Fetch and parse, no database: safe to run in a thread."""
    try:
        fetched = fetch_feed(url, etag=etag, last_modified=last_modified,
                             allow_private_networks=settings.allow_private_networks,
                             timeout=settings.fetch_timeout, max_bytes=settings.max_feed_bytes, client=client)
        if fetched.status == 304:
            return _Outcome(fetched=fetched)
        parsed = _parse(settings, fetched.url, fetched.content, fetched.content_type)
        return _Outcome(fetched=fetched, parsed=parsed, posts=clean_posts(parsed, parsed.link or fetched.url))
    except PublisherError as exc:
        return _Outcome(error=exc)


def _parse(settings: Settings, base_url: str, data: bytes, content_type: str | None) -> ParsedFeed:
    return parse_bounded(base_url, data, content_type=content_type, time_limit=settings.parse_time_limit)


def _apply(session: Session, settings: Settings, feed: Feed, outcome: _Outcome,
           client: httpx.Client | None) -> RefreshResult:
    result = RefreshResult(feed_url=feed.url)
    now = utcnow()
    feed.last_attempt_at = now
    if outcome.error is not None:
        _record_failure(feed, outcome.error, settings, now)
        result.error = f"{feed.url}: {outcome.error}"
        return result
    fetched = outcome.fetched
    if outcome.parsed is None:
        result.not_modified = True
    else:
        _remember_feed(session, feed, fetched, outcome.parsed)
        result.baseline = feed.baseline_at is None
        _store_posts(session, feed, outcome.posts, result, now)
        if not result.baseline:
            _catch_up(session, settings, feed, outcome.parsed, result, now, client)
        feed.baseline_at = feed.baseline_at or now
    feed.last_success_at, feed.last_http_status = now, fetched.status
    feed.last_error, feed.consecutive_failures = None, 0
    interval = next_interval(feed.poll_interval_minutes or settings.poll_interval_minutes,
                             found_news=any(not p.is_baseline for p in result.new),
                             lower=settings.poll_min_minutes, upper=settings.poll_max_minutes)
    feed.poll_interval_minutes = interval
    feed.next_poll_at = after_success(now, interval, max_age=fetched.max_age, upper=settings.poll_max_minutes)
    return result


def _catch_up(session: Session, settings: Settings, feed: Feed, parsed: ParsedFeed, result: RefreshResult,
              now: datetime, client: httpx.Client | None) -> None:
    """When every entry of a page is new, more may have been published than one page holds: follow
    rel="next" (Atom paging, Blogger's start-index) until a page holds a post we know."""
    page, fresh, seen = parsed, len(result.new), {feed.url}
    for _ in range(MAX_CATCH_UP_PAGES):
        if not page.entries or fresh < len(page.entries) or not page.next_url or page.next_url in seen:
            return
        seen.add(page.next_url)
        outcome = _gather(settings, page.next_url, None, None, client)
        if outcome.parsed is None:
            return  # an older page failing is no reason to fail the poll
        before, page = len(result.new), outcome.parsed
        _store_posts(session, feed, outcome.posts, result, now)
        fresh = len(result.new) - before


def _fetch(url: str, settings: Settings) -> FetchResult:
    return fetch_feed(url, allow_private_networks=settings.allow_private_networks, timeout=settings.fetch_timeout,
                      max_bytes=settings.max_feed_bytes)


def _remember_feed(session: Session, feed: Feed, fetched: FetchResult, parsed: ParsedFeed) -> None:
    feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    feed.title, feed.site_url = parsed.title or feed.title, parsed.link
    # The HTTP Link header is authoritative for WebSub discovery; the document's <link rel="hub"> next.
    feed.hub_url = fetched.hub_url or parsed.hub_url
    moved = fetched.permanent_redirect_url
    taken = moved and session.scalar(select(Feed.id).where(Feed.url == moved, Feed.id != feed.id))
    if moved and moved != feed.url and taken is None:  # never collide with a feed already at that URL
        feed.url = moved


def _store_posts(session: Session, feed: Feed, posts: list[CleanPost], result: RefreshResult,
                 now: datetime) -> None:
    with session.no_autoflush:  # other feeds' pending updates go out together at the next commit
        known = {p.identity_hash: p for p in session.scalars(select(Post).where(Post.feed_id == feed.id))}
    newest_known = max((p.published_at for p in known.values() if p.published_at), default=None)
    for clean in posts:
        key = _sha256(clean.identity)
        stored = known.get(key)
        if stored is None:
            stored = Post(feed_id=feed.id, identity=clean.identity, identity_hash=key, first_seen_at=now,
                          is_baseline=not _is_news(feed, clean, newest_known))
            _copy(clean, stored)
            session.add(stored)
            known[key] = stored
            result.new.append(stored)
        elif stored.content_hash != clean.content_hash:
            # An edit (a typo fixed, a picture added): update what we keep, but it is not news again.
            _copy(clean, stored)
            stored.last_changed_at = now
            result.updated.append(stored)
    session.flush()


def _is_news(feed: Feed, clean: CleanPost, newest_known: datetime | None) -> bool:
    """New to us is not always news: the baseline fetch is not, and neither is an item published long
    before the baseline that shows up later (an old post resurfacing, a feed re-sorted or restored).
    An item newer than everything we know is news even if its date looks old (blogs with wrong clocks)."""
    if feed.baseline_at is None:
        return False
    if clean.published is None or clean.published >= feed.baseline_at - BACKDATED_GRACE:
        return True
    return newest_known is not None and clean.published > newest_known


def _copy(clean: CleanPost, post: Post) -> None:
    post.title, post.link, post.author = clean.title, clean.link, clean.author
    post.categories, post.content_html, post.image_url = clean.categories, clean.content_html, clean.image_url
    post.published_at, post.updated_at = clean.published, clean.updated
    post.content_hash = clean.content_hash


def _record_failure(feed: Feed, exc: PublisherError, settings: Settings, now: datetime) -> None:
    status = getattr(exc, "status", None)
    feed.last_error, feed.last_http_status = str(exc), status
    feed.consecutive_failures += 1
    if status == 410:
        # The publisher told us the feed is gone for good: stop asking, and say so in plain words.
        feed.status, feed.next_poll_at = "retired", None
        feed.last_error = f"retired: the server says the feed is gone for good (HTTP 410 Gone) — {exc}"
        return
    feed.next_poll_at = after_failure(now, feed.poll_interval_minutes or settings.poll_interval_minutes,
                                      feed.consecutive_failures, retry_after=getattr(exc, "retry_after", None),
                                      upper=settings.poll_max_minutes)


def feeds_by_id(session: Session, feed_ids) -> list[Feed]:
    return list(session.scalars(select(Feed).where(Feed.id.in_(list(feed_ids)), Feed.status == "active")))


def due_feeds(session: Session, now: datetime) -> list[Feed]:
    return list(session.scalars(
        select(Feed).where(Feed.status == "active", (Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
    ))


def claim_due_feeds(session: Session, now: datetime, *, lease: timedelta) -> list[int]:
    """Due feeds, each pushed `lease` into the future first, so the next tick does not queue it again
    while this poll is still waiting for a worker."""
    claimed = []
    for feed in due_feeds(session, now):
        # Conditional on the value we read: of two schedulers, only one moves it.
        unchanged = (Feed.next_poll_at.is_(None) if feed.next_poll_at is None
                     else Feed.next_poll_at == feed.next_poll_at)
        won = session.execute(
            update(Feed).where(Feed.id == feed.id, unchanged).values(next_poll_at=now + lease)
        ).rowcount
        if won:
            claimed.append(feed.id)
    session.commit()
    return claimed


def _newest_first(post: Post) -> tuple:
    stamp = post.published_at or post.first_seen_at
    return (-stamp.timestamp(),)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
