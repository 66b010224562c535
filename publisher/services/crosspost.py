"""Use cases of cross-posting: record the watcher's news in the ledger (one row per post x target), post one
row, sweep what was left in flight. The ledger moves to `posted` only after the platform said so; every retry
carries the same key, so a retry after an outcome we could not see never makes a second post."""

from __future__ import annotations

import functools
import hashlib
import random
from datetime import datetime, timedelta
from pathlib import Path

import jinja2
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.crosspost.bluesky import record_key
from publisher.crosspost.poster import Poster, Posted, Publication
from publisher.crosspost.summary import PostView, Rules, write_summary
from publisher.crosspost.text import clusters, lead_text, shorten, word_breaks
from publisher.errors import CrosspostRefusedError, CrosspostRetryError, PublisherError
from publisher.models import Crosspost, CrosspostStatus, CrosspostTarget, Post
from publisher.models.base import utcnow
from publisher.queue import enqueue
from publisher.services.crosspost_targets import keep_session, open_poster
from publisher.store import crossposts as store

Status = CrosspostStatus
MAX_RETRY_DELAY = timedelta(hours=6)


def record_news(session: Session, settings: Settings, results) -> list[int]:
    """The watcher's hook, where it records news (polled or pushed): a ledger row per new post x target that
    follows its feed, and edits requested where a target edits. Baseline posts and edits make no new post.
    Workers are woken once the watcher's transaction commits. Returns the rows to post."""
    news = [post.id for result in results for post in result.new if not post.is_baseline]
    edited = [post.id for result in results for post in result.updated]
    if not (news or edited) or not store.any_targets(session):
        return []
    now = utcnow()
    posts = store.posts_by_id(session, news)
    following = store.targets_following(session, {post.feed_id for post in posts})
    seen = store.links_with_rows(session, {post.link for post in posts if post.link})
    rows = []
    for post in posts:
        for target in following.get(post.feed_id, []):
            rows.append(_new_row(settings, post, target, now, seen))
            seen.add((target.id, post.link))
    wake = store.insert_rows(session, rows, now=now)
    wake += store.request_edits(session, edited, now=now, commit=False)
    _wake_after_commit(session, wake)
    return wake


def _new_row(settings: Settings, post: Post, target: CrosspostTarget, now: datetime,
             seen: set[tuple[int, str]]) -> dict:
    row = {"post_id": post.id, "target_id": target.id, "status": Status.PENDING.value, "attempts": 0,
           "created_at": now, "pending_since": now, "remote_key": _key(post, target, now)}
    max_age = timedelta(hours=target.max_age_hours or settings.crosspost_max_age_hours)
    published = post.published_at or post.first_seen_at
    if not post.link:
        row.update(status=Status.SKIPPED.value, last_error="skipped: the post has no link")
    elif (target.id, post.link) in seen:
        row.update(status=Status.SKIPPED.value,
                   last_error="skipped: the same link came through another feed and is cross-posted once")
    elif published < now - max_age:
        row.update(status=Status.SKIPPED.value,
                   last_error=f"skipped: published {published:%Y-%m-%d %H:%M} UTC, older than {max_age} allows")
    return row


def _key(post: Post, target: CrosspostTarget, now: datetime) -> str:
    seed = f"{post.feed_id}:{post.identity_hash}:{target.id}"
    if target.platform == "bluesky":
        return record_key(int(now.timestamp() * 1_000_000), seed)
    return "publisher-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


def _wake_after_commit(session: Session, ids: list[int]) -> None:
    """Queue the rows when the transaction that made them commits (a worker must see them)."""
    for crosspost_id in ids:
        enqueue(session, "crosspost", crosspost_id)


def deliver(session: Session, settings: Settings, crosspost_id: int, *, poster: Poster | None = None) -> str | None:
    """Post one ledger row (or edit it, if it was posted and the post changed). Returns the state it settled
    in, or None if another worker holds it or it is not pending."""
    now = utcnow()
    row = store.claim(session, crosspost_id, now=now)
    if row is None:
        return None
    post, target = session.get(Post, row.post_id), session.get(CrosspostTarget, row.target_id)
    feed_title = store.feed_title(session, post.feed_id)
    try:
        poster = poster or open_poster(settings, target)
    except PublisherError as exc:  # credentials we cannot decrypt (the secret key changed): a person must act
        store.settle(session, row.id, Status.FAILED, str(exc), now=utcnow(), next_attempt_at=None)
        return Status.FAILED.value
    try:
        status, reply, values = _attempt(settings, poster, row, post, feed_title, now)
    finally:
        keep_session(settings, target, poster)
        poster.close()
    store.settle(session, row.id, status, reply, now=utcnow(), **values)
    return status.value


def _attempt(settings: Settings, poster: Poster, row: Crosspost, post: Post, feed_title: str | None,
             now: datetime) -> tuple[Status, str, dict]:
    try:
        publication = _publication(settings, feed_title, post, row, poster.rules())
        posted = None
        if row.remote_id is None and _outcome_unseen_long_ago(settings, row, now):
            # Mastodon forgets an Idempotency-Key after an hour: look before posting again.
            posted = poster.find(publication)
        posted = posted or poster.publish(publication)
    except CrosspostRetryError as exc:
        return _retry_or_give_up(settings, row, exc, now)
    except CrosspostRefusedError as exc:
        return Status.FAILED, str(exc), {"next_attempt_at": None}
    except PublisherError as exc:  # a template that fails, credentials we cannot decrypt: a person must act
        return Status.FAILED, str(exc), {"next_attempt_at": None}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # an answer not of the API's shape: retried, then given up
        unexpected = CrosspostRetryError(f"{poster.platform}: unexpected answer ({type(exc).__name__}: {exc})")
        return _retry_or_give_up(settings, row, unexpected, now)
    return Status.POSTED, posted.reply, _posted_values(posted, publication, post, now)


def _posted_values(posted: Posted, publication: Publication, post: Post, now: datetime) -> dict:
    return {"remote_id": posted.remote_id, "remote_url": posted.remote_url, "text": publication.summary.text,
            "posted_hash": post.content_hash, "posted_at": now, "next_attempt_at": None}


def _outcome_unseen_long_ago(settings: Settings, row: Crosspost, now: datetime) -> bool:
    """An earlier claim of this row ended without a known outcome (a timeout, a killed worker), longer ago
    than the platform keeps our idempotency key."""
    earlier = row.first_claimed_at is not None and row.first_claimed_at < row.claimed_at
    return earlier and now - row.first_claimed_at >= timedelta(seconds=settings.crosspost_idempotency_seconds)


def _retry_or_give_up(settings: Settings, row: Crosspost, exc: CrosspostRetryError,
                      now: datetime) -> tuple[Status, str, dict]:
    attempts = row.attempts + 1
    if attempts >= settings.crosspost_max_attempts:
        return Status.FAILED, f"gave up after {attempts} attempts: {exc}", {"next_attempt_at": None}
    delay = timedelta(seconds=settings.crosspost_retry_base_seconds * 2 ** row.attempts * random.uniform(0.8, 1.2))
    when = now + delay
    if exc.retry_at is not None:  # the platform said when (429 RateLimit-Reset, Retry-After): its word wins
        when = min(max(exc.retry_at, now), now + MAX_RETRY_DELAY)
    return Status.RETRYING, str(exc), {"next_attempt_at": min(when, now + MAX_RETRY_DELAY)}


def _publication(settings: Settings, feed_title: str | None, post: Post, row: Crosspost,
                 rules: Rules) -> Publication:
    summary = write_summary(post_view(post, feed_title), rules, template(settings.resolved_templates_dir(),
                                                                          rules.platform))
    return Publication(key=row.remote_key, summary=summary, document=document(post, feed_title),
                       created_at=row.created_at, revision=post.content_hash, image_url=post.image_url,
                       description=description(post.content_html), remote_id=row.remote_id)


def post_view(post: Post, feed_title: str | None = None) -> PostView:
    return PostView(title=post.title or "", link=post.link or "", content_html=post.content_html or "",
                    categories=tuple(post.categories or ()), author=post.author, feed_title=feed_title)


def document(post: Post, feed_title: str | None) -> dict:
    """The whole post, as the webhook's receivers get it."""
    stamp = lambda moment: moment.isoformat() if moment else None  # noqa: E731
    return {"id": post.id, "guid": post.identity, "title": post.title, "link": post.link, "author": post.author,
            "categories": list(post.categories or []), "content_html": post.content_html,
            "image_url": post.image_url, "published": stamp(post.published_at), "updated": stamp(post.updated_at),
            "feed": feed_title, "content_hash": post.content_hash}


def description(html: str, limit: int = 300) -> str:
    """A link card's description: the lead, shortened between words to fewer than `limit` clusters."""
    text = lead_text(html)
    head = clusters(text[:limit * 20])  # a cluster is rarely over 20 characters: no need to split the rest
    if len(head) <= limit and len(text) <= limit * 20:
        return text
    cut = "".join(head[:limit - 1])
    breaks = word_breaks(cut)
    return shorten(cut, breaks[-1]) if breaks else ""


@functools.cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    # Plain text, not HTML: no autoescape (a title with "&" stays "&").
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir / "crosspost"), autoescape=False)


def template(templates_dir: Path, platform: str) -> jinja2.Template:
    try:
        return _environment(templates_dir).get_template(f"{platform}.txt")
    except jinja2.TemplateError as exc:
        raise PublisherError(f"the template crosspost/{platform}.txt in {templates_dir} cannot be used: {exc}") from exc


def sweep(session: Session, settings: Settings) -> list[int]:
    """Rows with work again: stuck in `sending` (a dead worker), retries now due, pending rows whose queue
    message was lost. The caller queues them."""
    now = utcnow()
    stuck = store.requeue_stuck_and_due(
        session, now=now, sending_timeout=timedelta(seconds=settings.crosspost_sending_timeout_seconds))
    lost = store.stalled(session, now=now, quiet_for=timedelta(seconds=settings.crosspost_stall_seconds))
    return sorted(set(stuck) | set(lost))
