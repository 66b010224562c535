"""Use cases of the feed watcher: add a feed, check one without writing, refresh one, poll those due."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import (
    FeedAlreadyAddedError,
    FeedMovedError,
    FeedParseError,
    FetchError,
    InvalidInputError,
    NotFoundError,
    PublisherError,
)
from publisher.ingest.backoff import after_failure, after_success, next_interval
from publisher.ingest.fetch import FetchResult, fetch_feed
from publisher.ingest.clean import CleanPost, sha256
from publisher.ingest.gather import Gatherer, Outcome, Request, read_clean
from publisher.ingest.parse import ParsedFeed
from publisher.ingest.ssrf import AIOHTTP, Policy, check_url
from publisher.models import Feed, Post
from publisher.models.base import utcnow
from publisher.services import crosspost, discovery, schedule
from publisher.store import chunked, poll_counts

# An item first seen after the baseline but published this long before it is an old post, not news.
BACKDATED_GRACE = timedelta(days=7)
MAX_CATCH_UP_PAGES = 10
# Due feeds go to workers in chunks: each chunk is polled concurrently within one task.
POLL_CHUNK = 50
COMMIT_EVERY = 50


@dataclass(frozen=True)
class StoredPost:
    """What a poll reports of a post it stored: enough to list it, not its content (a poll of 1,000 Blogger
    feeds stores 25,000 posts; holding them all until it ends would cost hundreds of megabytes)."""

    id: int
    title: str
    link: str | None
    is_baseline: bool
    published_at: datetime | None
    first_seen_at: datetime

    @classmethod
    def of(cls, post: Post) -> StoredPost:
        return cls(post.id, post.title, post.link, post.is_baseline, post.published_at, post.first_seen_at)


@dataclass
class RefreshResult:
    feed_url: str  # the feed's URL when the refresh started
    new: list[StoredPost] = field(default_factory=list)
    updated: list[StoredPost] = field(default_factory=list)
    not_modified: bool = False
    baseline: bool = False
    error: str | None = None
    feed_id: int | None = None
    # Where a permanent redirect points: stored as the feed's URL, unless another feed already has it.
    moved_to: str | None = None
    failure: PublisherError | None = None  # what `error` says, as the error it was
    discovery: discovery.Discovery | None = None  # the URL given was a blog's page that led to this feed


def check_feed(url_or_file: str, settings: Settings) -> tuple[ParsedFeed, list[CleanPost]]:
    """What the watcher would see, writing nothing: fetch (or read a local file), parse, sanitize."""
    parsed, posts, _discovery = check_feed_or_page(url_or_file, settings)
    return parsed, posts


def check_feed_or_page(url_or_file: str, settings: Settings
                       ) -> tuple[ParsedFeed, list[CleanPost], discovery.Discovery | None]:
    """check_feed, where the URL may also be a blog's page: then the feed it leads to is read (and said)."""
    path = Path(url_or_file)
    found = None
    if "://" not in url_or_file and path.is_file():
        base_url, data, content_type = path.resolve().as_uri(), path.read_bytes(), None
    else:
        result = _fetch(url_or_file, settings)
        found = discovery.discover_feed(url_or_file, settings, fetched=result)
        result = found.fetched if found else result
        base_url, data, content_type = result.url, result.content, result.content_type
    return (*read_clean(settings, base_url, data, content_type), found)


def add_feed(session: Session, settings: Settings, *, url: str, name: str | None = None,
             backfill: int = 0) -> RefreshResult:
    """Register a feed and take its baseline at once, so a wrong URL is reported now, not at 3 a.m.
    The newest `backfill` posts of the baseline count as news. A URL that redirects permanently is stored
    as its final URL (`moved_to`); a blog's page, as the feed it leads to (`discovery`); the feed is
    `result.feed_id`. A feed that fails is not kept."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"feed URL must start with http:// or https://, got {url!r}")
    check_url(url, policy=Policy.of(settings), client=AIOHTTP, resolve_names=False)  # refused: never stored
    try:
        result = _add_with_baseline(session, settings, url=url, name=name)
    except FetchError as exc:
        if not isinstance(exc.__cause__, FeedParseError):
            raise
        # Not a feed: a blog's home page, most likely. Find the feed it names (one more request, only here).
        found = discovery.discover_feed(url, settings)
        if found is None:
            raise
        try:
            result = _add_with_baseline(session, settings, url=found.feed_url, name=name)
        except FeedAlreadyAddedError as known:
            raise FeedAlreadyAddedError(f"{url} leads to the feed {found.feed_url}, which is already added",
                                        url=known.url) from None
        result.discovery = found
    backfilled = sorted(result.new, key=_newest_first)[:backfill]
    for stored in backfilled:
        session.get(Post, stored.id).is_baseline = False
    result.new = [replace(p, is_baseline=False) if p in backfilled else p for p in result.new]
    return result


def _add_with_baseline(session: Session, settings: Settings, *, url: str, name: str | None) -> RefreshResult:
    if session.scalar(select(Feed).where(Feed.url == url)):
        raise FeedAlreadyAddedError(f"feed {url} is already added", url=url)
    feed = Feed(url=url, name=name)
    session.add(feed)
    session.flush()
    result = refresh_feed(session, settings, feed)
    if result.error:
        _forget(session, feed)
        raise FetchError(result.error) from result.failure
    if result.moved_to and feed.url != result.moved_to:  # moved onto a feed we already have
        _forget(session, feed)
        raise FeedMovedError(f"{url} moved permanently to {result.moved_to}, which is already added: "
                             "use that URL", url=result.moved_to)
    return result


def find_or_add_feed(session: Session, settings: Settings, url: str) -> tuple[Feed, RefreshResult | None]:
    """The feed at `url`, added now (with its baseline: the result) if we have none. A URL that moved
    permanently is found at its final URL, whether added now or before."""
    feed = find_feed(session, url)
    if feed is not None:
        return feed, None
    try:
        result = add_feed(session, settings, url=url)
    except FeedAlreadyAddedError as known:  # moved to, or (from a blog's page) found at, a feed we have
        return get_feed(session, known.url), None
    return session.get(Feed, result.feed_id), result


def _forget(session: Session, feed: Feed) -> None:
    """Undo a feed added a moment ago (its baseline posts too), so a caller that commits keeps nothing."""
    session.execute(delete(Post).where(Post.feed_id == feed.id))
    session.delete(feed)
    session.flush()


def find_feed(session: Session, url: str) -> Feed | None:
    return session.scalar(select(Feed).where(Feed.url == url))


def get_feed(session: Session, url: str) -> Feed:
    feed = find_feed(session, url)
    if feed is None:
        raise NotFoundError(f"no feed with URL {url} (see `publisher feeds list`)")
    return feed


def refresh_feed(session: Session, settings: Settings, feed: Feed) -> RefreshResult:
    """Fetch with conditional GET, store new posts, update edited ones, and record the feed's health."""
    with Gatherer(settings, concurrency=1) as gatherer:
        outcome = gatherer.gather(feed.url, feed.etag, feed.last_modified)
        return _apply_arrivals(session, settings, [(feed, outcome)], gatherer)[0]


def poll_feeds(session: Session, settings: Settings, feeds: list[Feed]) -> list[RefreshResult]:
    """Poll many feeds at once: the gatherer fetches and parses concurrently (a slow feed holds only its own
    slot) while this thread stores what has arrived in batches, one commit each (within about a second)."""
    if not feeds:
        return []
    results = []
    requests = [Request(f.url, f.etag, f.last_modified) for f in feeds]
    with Gatherer(settings) as gatherer:
        for batch in gatherer.gather_batches(requests, size=COMMIT_EVERY, wait=1.0):
            results += _apply_arrivals(session, settings, [(feeds[i], outcome) for i, outcome in batch], gatherer)
            # One commit per batch: a commit per feed would make the disk, not the network, the limit.
            session.commit()
    return results


def ingest_pushed(session: Session, settings: Settings, feed: Feed, data: bytes,
                  content_type: str | None) -> RefreshResult:
    """Content a WebSub hub pushed: the same parse and store as a poll, so a pushed post and its polled
    copy are one post (same identity)."""
    result = RefreshResult(feed_url=feed.url)
    try:
        _parsed, posts = read_clean(settings, feed.url, data, content_type)
    except PublisherError as exc:
        result.error = with_url(feed.url, f"pushed content: {exc}")
        return result
    _store_posts(session, feed, posts, result, utcnow())
    session.flush()
    crosspost.record_news(session, settings, [result])
    schedule.compose_on_news(session, [result])
    return _reported(result)


def _apply_arrivals(session: Session, settings: Settings, arrivals: list[tuple[Feed, Outcome]],
                    gatherer: Gatherer) -> list[RefreshResult]:
    """Store a batch of outcomes. What we hold of the changed feeds' posts is read in one query for the
    whole batch: the database is asked a handful of times per batch, not several times per feed."""
    known = _known_posts(session, [(feed, outcome.posts) for feed, outcome in arrivals if outcome.posts])
    results = [_apply(session, settings, feed, outcome, gatherer, known.get(feed.id)) for feed, outcome in arrivals]
    poll_counts.count_polls(session, [outcome for _feed, outcome in arrivals])
    session.flush()  # new posts get their ids, and the next read of what we hold sees them
    crosspost.record_news(session, settings, results)
    schedule.compose_on_news(session, results)
    return [_reported(result) for result in results]


def _reported(result: RefreshResult) -> RefreshResult:
    """Once flushed, the result lets go of the stored posts (and their content) for a StoredPost each."""
    result.new = [StoredPost.of(post) for post in result.new]
    result.updated = [StoredPost.of(post) for post in result.updated]
    return result


def _apply(session: Session, settings: Settings, feed: Feed, outcome: Outcome, gatherer: Gatherer,
           known: KnownPosts | None) -> RefreshResult:
    result = RefreshResult(feed_url=feed.url, feed_id=feed.id)
    now = utcnow()
    feed.last_attempt_at = now
    if outcome.error is not None:
        _record_failure(feed, outcome.error, settings, now)
        result.error, result.failure = with_url(feed.url, outcome.error), outcome.error
        return result
    fetched = outcome.fetched
    if outcome.parsed is None:
        result.not_modified = True
    else:
        result.moved_to = _remember_feed(session, feed, fetched, outcome.parsed)
        result.baseline = feed.baseline_at is None
        known = _store_posts(session, feed, outcome.posts, result, now, known)
        if not result.baseline:
            _catch_up(session, feed, outcome.parsed, result, now, gatherer, known)
        feed.baseline_at = feed.baseline_at or now
    feed.last_success_at, feed.last_http_status = now, fetched.status
    feed.last_error, feed.consecutive_failures = None, 0
    interval = next_interval(feed.poll_interval_minutes or settings.poll_interval_minutes,
                             found_news=any(not p.is_baseline for p in result.new),
                             lower=settings.poll_min_minutes, upper=settings.poll_max_minutes)
    feed.poll_interval_minutes = interval
    feed.next_poll_at = after_success(now, interval, max_age=fetched.max_age, upper=settings.poll_max_minutes)
    return result


def _catch_up(session: Session, feed: Feed, parsed: ParsedFeed, result: RefreshResult, now: datetime,
              gatherer: Gatherer, known: KnownPosts) -> None:
    """When every entry of a page is new, more may have been published than one page holds: follow
    rel="next" (Atom paging, Blogger's start-index) until a page holds a post we know."""
    page, fresh, seen = parsed, len(result.new), {feed.url}
    for _ in range(MAX_CATCH_UP_PAGES):
        if not page.entries or fresh < len(page.entries) or not page.next_url or page.next_url in seen:
            return
        seen.add(page.next_url)
        outcome = gatherer.gather(page.next_url)
        if outcome.parsed is None:
            return  # an older page failing is no reason to fail the poll
        before, page = len(result.new), outcome.parsed
        # An older page holds identities the first page did not: learn what we hold of those too.
        known.hashes.update(_known_posts(session, [(feed, outcome.posts)])[feed.id].hashes)
        _store_posts(session, feed, outcome.posts, result, now, known)
        fresh = len(result.new) - before


def _fetch(url: str, settings: Settings) -> FetchResult:
    return fetch_feed(url, policy=Policy.of(settings), timeout=settings.fetch_timeout,
                      max_bytes=settings.max_feed_bytes)


def with_url(url: str, error: Exception | str) -> str:
    """The error, led by the feed's URL unless the message already names it (no "URL: ... fetching URL")."""
    message = str(error)
    return message if url in message else f"{url}: {message}"


def _remember_feed(session: Session, feed: Feed, fetched: FetchResult, parsed: ParsedFeed) -> str | None:
    """Keep what the fetch taught us; the URL a permanent redirect moved the feed to, if any (every hop of
    it passed the SSRF guard: a refused one fails the fetch, so it is never stored)."""
    feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    feed.title, feed.site_url = parsed.title or feed.title, parsed.link
    # The HTTP Link header is authoritative for WebSub discovery; the document's <link rel="hub"> next.
    feed.hub_url = fetched.hub_url or parsed.hub_url
    moved = fetched.permanent_redirect_url
    if not moved or moved == feed.url:
        return None
    taken = session.scalar(select(Feed.id).where(Feed.url == moved, Feed.id != feed.id))
    if taken is None:  # never collide with a feed already at that URL
        feed.url = moved
    return moved


@dataclass
class KnownPosts:
    """What we hold of one feed's posts, enough to tell a new entry from an edit from a repeat: the stored
    content hash by identity hash (only for identities on the pages at hand), and the newest date."""

    hashes: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # identity hash -> (id, content)
    newest: datetime | None = None
    added: dict[str, Post] = field(default_factory=dict)  # created during this poll, not flushed yet


def _known_posts(session: Session, pages: list[tuple[Feed, list[CleanPost]]]) -> dict[int, KnownPosts]:
    known = {feed.id: KnownPosts() for feed, _posts in pages}
    if not known:
        return known
    keys = list({sha256(post.identity) for _feed, posts in pages for post in posts})
    with session.no_autoflush:  # other feeds' pending updates go out together at the next commit
        for feed_ids in chunked(list(known)):
            for key_chunk in chunked(keys):
                rows = session.execute(select(Post.feed_id, Post.identity_hash, Post.id, Post.content_hash).where(
                    Post.feed_id.in_(feed_ids), Post.identity_hash.in_(key_chunk)))
                for feed_id, key, post_id, content_hash in rows:
                    known[feed_id].hashes[key] = (post_id, content_hash)
            newest = session.execute(select(Post.feed_id, func.max(Post.published_at))
                                     .where(Post.feed_id.in_(feed_ids)).group_by(Post.feed_id))
            for feed_id, published in newest:
                known[feed_id].newest = published
    return known


def _store_posts(session: Session, feed: Feed, posts: list[CleanPost], result: RefreshResult,
                 now: datetime, known: KnownPosts | None = None) -> KnownPosts:
    if known is None:
        known = _known_posts(session, [(feed, posts)])[feed.id]
    for clean in posts:
        key = sha256(clean.identity)
        if key in known.added:  # the same identity twice in one poll: the later copy is the one we keep
            stored = known.added[key]
            if stored.content_hash != clean.content_hash:
                _copy(clean, stored)
            continue
        if key not in known.hashes:
            stored = Post(feed_id=feed.id, identity=clean.identity, identity_hash=key, first_seen_at=now,
                          is_baseline=not _is_news(feed, clean, known.newest))
            _copy(clean, stored)
            session.add(stored)
            known.added[key] = stored
            result.new.append(stored)
            continue
        post_id, content_hash = known.hashes[key]
        if content_hash != clean.content_hash:
            # An edit (a typo fixed, a picture added): update what we keep, but it is not news again.
            stored = session.get(Post, post_id)
            _copy(clean, stored)
            stored.last_changed_at = now
            known.hashes[key] = (post_id, clean.content_hash)
            result.updated.append(stored)
    return known


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


def _newest_first(post: StoredPost) -> tuple:
    stamp = post.published_at or post.first_seen_at
    return (-stamp.timestamp(),)
