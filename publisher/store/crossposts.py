"""Named queries on the cross-post ledger. The same discipline as the delivery ledger: every change is a
conditional UPDATE on the row's current state (a task that runs twice, or two workers, cannot post a row
twice), and every change leaves a CrosspostEvent with its time and the platform's answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from publisher.models import (
    Crosspost,
    CrosspostEvent,
    CrosspostStatus,
    CrosspostTarget,
    CrosspostTargetFeed,
    Feed,
    Post,
)

Status = CrosspostStatus


def targets_following(session: Session, feed_ids: Iterable[int]) -> dict[int, list[CrosspostTarget]]:
    """For each feed, the targets that follow it: those naming it, and those naming no feed (every feed)."""
    feed_ids = set(feed_ids)
    targets = list(session.scalars(select(CrosspostTarget).order_by(CrosspostTarget.id)))
    if not targets or not feed_ids:
        return {}
    named: dict[int, set[int]] = {}
    for target_id, feed_id in session.execute(select(CrosspostTargetFeed.target_id, CrosspostTargetFeed.feed_id)):
        named.setdefault(target_id, set()).add(feed_id)
    return {feed_id: [t for t in targets if t.id not in named or feed_id in named[t.id]] for feed_id in feed_ids}


def links_with_rows(session: Session, links: set[str]) -> set[tuple[int, str]]:
    """(target, link) pairs that have a ledger row already: the same post may come through two feeds (a
    blog's Atom feed and its RSS twin), and a reader of the account should see it once."""
    if not links:
        return set()
    return set(session.execute(select(Crosspost.target_id, Post.link).join(Post, Post.id == Crosspost.post_id)
                               .where(Post.link.in_(list(links)))).all())


def any_targets(session: Session) -> bool:
    return session.scalar(select(exists().where(CrosspostTarget.id.is_not(None))))


def posts_by_id(session: Session, post_ids: list[int]) -> list[Post]:
    return list(session.scalars(select(Post).where(Post.id.in_(post_ids)).order_by(Post.id))) if post_ids else []


def insert_rows(session: Session, rows: list[dict], *, now: datetime) -> list[int]:
    """Ledger rows for new (post, target) pairs, each with its first event; a pair already there is left alone
    (UNIQUE). Returns the ids of the rows created pending (the ones to post)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(Crosspost).on_conflict_do_nothing(index_elements=["post_id", "target_id"])
    created = []
    for row in rows:  # one by one: RETURNING with ON CONFLICT is per statement
        for crosspost_id in session.scalars(statement.values(**row).returning(Crosspost.id)):
            created.append((crosspost_id, Status(row["status"]), row.get("last_error") or "recorded as news"))
    record(session, created, now)
    return [crosspost_id for crosspost_id, status, _ in created if status is Status.PENDING]


def claim(session: Session, crosspost_id: int, *, now: datetime) -> Crosspost | None:
    """Move one pending row to SENDING; the row if this caller won it, else None."""
    session.commit()  # start from a fresh snapshot: SQLite cannot upgrade a stale read to a write
    won = session.scalars(
        update(Crosspost)
        .where(Crosspost.id == crosspost_id, Crosspost.status == Status.PENDING)
        .values(status=Status.SENDING.value, claimed_at=now,
                first_claimed_at=func.coalesce(Crosspost.first_claimed_at, now))
        .returning(Crosspost)
        .execution_options(populate_existing=True, synchronize_session=False)
    ).first()
    if won is not None:
        record(session, [(won.id, Status.SENDING, None)], now)
    session.commit()
    return won


def settle(session: Session, crosspost_id: int, status: CrosspostStatus, reply: str, *, now: datetime,
           **values) -> bool:
    """Record the outcome of an attempt; only a row still held in SENDING moves. True if it moved."""
    moved = session.execute(
        update(Crosspost)
        .where(Crosspost.id == crosspost_id, Crosspost.status == Status.SENDING)
        .values(status=status.value, last_error=None if status is Status.POSTED else reply[:1000],
                attempts=Crosspost.attempts + 1, claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        record(session, [(crosspost_id, status, reply)], now)
    session.commit()
    return bool(moved)


def requeue_stuck_and_due(session: Session, *, now: datetime, sending_timeout: timedelta) -> list[int]:
    """Sweeper: rows left in SENDING by a dead worker, and retries whose time has come, go back to PENDING."""
    stuck = and_(Crosspost.status == Status.SENDING, Crosspost.claimed_at < now - sending_timeout)
    due = and_(Crosspost.status == Status.RETRYING, Crosspost.next_attempt_at <= now)
    return _to_pending(session, stuck | due, now, "requeued by the sweeper")


def stalled(session: Session, *, now: datetime, quiet_for: timedelta) -> list[int]:
    """Pending rows no worker took for `quiet_for`: their queue message was lost. Marked queued again now."""
    return _to_pending(session, and_(Crosspost.status == Status.PENDING, Crosspost.pending_since < now - quiet_for),
                       now, None)


def request_edits(session: Session, post_ids: list[int], *, now: datetime, commit: bool = True) -> list[int]:
    """Posted rows of edited posts, on targets that edit: back to PENDING (with remote_id kept, so the worker
    edits the existing status instead of posting a new one)."""
    if not post_ids:
        return []
    edits = select(CrosspostTarget.id).where(CrosspostTarget.on_edit == "edit").scalar_subquery()
    return _to_pending(session, and_(Crosspost.post_id.in_(post_ids), Crosspost.status == Status.POSTED,
                                     Crosspost.target_id.in_(edits)), now, "the post was edited: edit requested",
                       commit=commit)


def _to_pending(session: Session, condition, now: datetime, reason: str | None, *, commit: bool = True) -> list[int]:
    ids = session.scalars(
        update(Crosspost).where(condition)
        .values(status=Status.PENDING.value, claimed_at=None, pending_since=now)
        .returning(Crosspost.id).execution_options(synchronize_session=False)
    ).all()
    if reason:
        record(session, [(i, Status.PENDING, reason) for i in ids], now)
    if commit:
        session.commit()
    return sorted(ids)


def counts(session: Session) -> dict[str, int]:
    """Rows per state (every state present, zero when none)."""
    found = dict(session.execute(select(Crosspost.status, func.count()).group_by(Crosspost.status)).all())
    return {status.value: found.get(status.value, 0) for status in Status}


def recent(session: Session, *, limit: int) -> list[tuple[Crosspost, Post, CrosspostTarget]]:
    return list(session.execute(
        select(Crosspost, Post, CrosspostTarget)
        .join(Post, Post.id == Crosspost.post_id).join(CrosspostTarget, CrosspostTarget.id == Crosspost.target_id)
        .order_by(Crosspost.id.desc()).limit(limit)
    ).all())


def find_post(session: Session, reference: str) -> Post | None:
    """A post by its id or its link (the newest, if two feeds carry the same link)."""
    if reference.isdigit():
        return session.get(Post, int(reference))
    return session.scalars(select(Post).where(Post.link == reference).order_by(Post.id.desc())).first()


def feed_by_url(session: Session, url: str) -> Feed | None:
    return session.scalar(select(Feed).where(Feed.url == url))


def feed_title(session: Session, feed_id: int) -> str | None:
    feed = session.get(Feed, feed_id)
    return feed.display_name if feed else None


def record(session: Session, changes: Iterable[tuple[int, CrosspostStatus, str | None]], now: datetime) -> None:
    rows = [{"crosspost_id": i, "status": status.value, "reply": reply[:1000] if reply else None, "at": now}
            for i, status, reply in changes]
    if rows:
        session.execute(insert(CrosspostEvent), rows)
