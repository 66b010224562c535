"""What the editor's dashboard shows: recent posts, the next digests per list and cadence, sends in progress,
failing feeds. Reads only. (Past digests with their figures: services.history.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from publisher.compose.schedule import next_slot
from publisher.models import Digest, Feed, Post
from publisher.services import controls
from publisher.services.schedule import editions_of
from publisher.store import overview as store

RECENT_POSTS = 10


@dataclass(frozen=True)
class NextDigest:
    list_name: str
    cadence: str
    timezone: str
    at: datetime | None  # None: immediate (as posts arrive)
    subscribers_waiting: bool  # False: nobody has this cadence yet, the list's own schedule is shown


@dataclass(frozen=True)
class Dashboard:
    recent_posts: list[tuple[Post, Feed]]
    next_digests: list[NextDigest]
    sends: list[tuple[Digest, controls.Progress]]
    failing_feeds: list[Feed]


def dashboard(session: Session, *, now: datetime) -> Dashboard:
    sends = [(digest, controls.progress(session, digest.id)) for digest in controls.sends_in_progress(session)]
    return Dashboard(recent_posts=store.recent_posts(session, limit=RECENT_POSTS),
                     next_digests=next_digests(session, now=now), sends=sends,
                     failing_feeds=store.failing_feeds(session))


def next_digests(session: Session, *, now: datetime) -> list[NextDigest]:
    """Per list not paused, per (cadence, zone) its confirmed subscribers need, the next slot, soonest first."""
    upcoming = []
    for mailing_list in store.active_lists(session):
        editions = editions_of(session, mailing_list)
        for cadence, zone in editions or [(mailing_list.cadence, mailing_list.timezone)]:
            at = next_slot(now, cadence=cadence, send_at=mailing_list.send_at, timezone=zone,
                           weekday=mailing_list.weekday)
            upcoming.append(NextDigest(list_name=mailing_list.name, cadence=cadence, timezone=zone, at=at,
                                       subscribers_waiting=bool(editions)))
    return sorted(upcoming, key=lambda d: (d.at is not None, d.at or now, d.list_name))
