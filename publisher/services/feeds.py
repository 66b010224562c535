"""Use cases of the feed watcher: add a feed, check one without writing, refresh one, poll those due."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import AlreadyExistsError, FetchError, InvalidInputError, NotFoundError, PublisherError
from publisher.ingest.fetch import FetchResult, fetch_feed
from publisher.ingest.parse import ParsedEntry, ParsedFeed, parse_feed
from publisher.ingest.sanitize import sanitize_html
from publisher.models import Feed, Post
from publisher.models.base import utcnow


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
    parsed = parse_feed(base_url, data, content_type=content_type)
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


def get_feed(session: Session, url: str) -> Feed:
    feed = session.scalar(select(Feed).where(Feed.url == url))
    if feed is None:
        raise NotFoundError(f"no feed with URL {url} (see `publisher feeds list`)")
    return feed


def refresh_feed(session: Session, settings: Settings, feed: Feed,
                 client: httpx.Client | None = None) -> RefreshResult:
    """Fetch with conditional GET, store new posts, update edited ones, and record the feed's health."""
    result = RefreshResult(feed_url=feed.url)
    now = utcnow()
    feed.last_attempt_at = now
    try:
        fetched = _fetch(feed.url, settings, feed=feed, client=client)
        if fetched.status == 304:
            result.not_modified = True
        else:
            parsed = parse_feed(fetched.url, fetched.content, content_type=fetched.content_type)
            _remember_feed(feed, fetched, parsed)
            result.baseline = feed.baseline_at is None
            _store_posts(session, feed, clean_posts(parsed, parsed.link or fetched.url), result, now)
            feed.baseline_at = feed.baseline_at or now
    except PublisherError as exc:
        _record_failure(feed, exc, settings, now)
        result.error = f"{feed.url}: {exc}"
        return result
    feed.last_success_at = now
    feed.last_http_status = fetched.status
    feed.last_error = None
    feed.consecutive_failures = 0
    feed.next_poll_at = now + timedelta(minutes=settings.poll_interval_minutes)
    return result


def _fetch(url: str, settings: Settings, *, feed: Feed | None = None,
           client: httpx.Client | None = None) -> FetchResult:
    return fetch_feed(
        url, etag=feed.etag if feed else None, last_modified=feed.last_modified if feed else None,
        allow_private_networks=settings.allow_private_networks, timeout=settings.fetch_timeout,
        max_bytes=settings.max_feed_bytes, client=client,
    )


def _remember_feed(feed: Feed, fetched: FetchResult, parsed: ParsedFeed) -> None:
    feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    feed.title, feed.site_url, feed.hub_url = parsed.title or feed.title, parsed.link, parsed.hub_url
    if fetched.permanent_redirect_url:
        feed.url = fetched.permanent_redirect_url


def _store_posts(session: Session, feed: Feed, posts: list[CleanPost], result: RefreshResult,
                 now: datetime) -> None:
    known = {p.identity_hash: p for p in session.scalars(select(Post).where(Post.feed_id == feed.id))}
    for clean in posts:
        key = _sha256(clean.identity)
        stored = known.get(key)
        if stored is None:
            stored = Post(feed_id=feed.id, identity=clean.identity, identity_hash=key, first_seen_at=now,
                          is_baseline=feed.baseline_at is None)
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


def _copy(clean: CleanPost, post: Post) -> None:
    post.title, post.link, post.author = clean.title, clean.link, clean.author
    post.categories, post.content_html, post.image_url = clean.categories, clean.content_html, clean.image_url
    post.published_at, post.updated_at = clean.published, clean.updated
    post.content_hash = clean.content_hash


def _record_failure(feed: Feed, exc: PublisherError, settings: Settings, now: datetime) -> None:
    feed.last_error = str(exc)
    feed.last_http_status = getattr(exc, "status", None)
    feed.consecutive_failures += 1
    # Exponential backoff with jitter, capped at a day, so a dead feed costs little and herds don't form.
    base = settings.poll_interval_minutes * 2 ** min(feed.consecutive_failures - 1, 6)
    feed.next_poll_at = now + timedelta(minutes=min(base, 24 * 60) * random.uniform(0.8, 1.2))


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
