"""The scheduler's use cases: the tick (poll what is due, compose what is due) and the sweep (hand back what
dead workers left); which editions are due now; claim each slot once; compose their digests.

An edition is a list x effective cadence x effective time zone (a subscriber's own choice, else the list's
default). Each has its own slot record, so 08:00 in Paris and 08:00 in New York each fire once, at their
own local time, daylight-saving changes included. An immediate edition has no slot: the watcher wakes it
when it stores news (`compose_on_news`), so a new post does not wait for the next tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from publisher.compose.schedule import latest_slot
from publisher.config import Settings
from publisher.models import (
    Digest,
    EditionSlot,
    ListFeed,
    MailingList,
    Subscription,
    SubscriptionStatus,
)
from publisher.queue import enqueue
from publisher.services import crosspost, delivery, feeds, mails, ratelimit, websub
from publisher.services.digests import Edition, compose_edition

IMMEDIATE = Edition(cadence="immediate", timezone=None, label="immediate")

# A feed claimed for polling is not claimed again for this long (its poll may wait for a worker).
POLL_LEASE = timedelta(minutes=5)


@dataclass
class Tick:
    polled: int = 0
    composed: list[int] = field(default_factory=list)


def tick(session: Session, settings: Settings, now: datetime) -> Tick:
    """The scheduler's heartbeat: queue polls of the feeds that are due, renew WebSub leases, forget old
    rate-limit traces, compose the editions whose slot has come and queue their sends. Claims (of a feed's
    poll, of an edition's slot) are committed as they are won: two schedulers never both take one."""
    due = feeds.claim_due_feeds(session, now, lease=POLL_LEASE)
    for start in range(0, len(due), feeds.POLL_CHUNK):
        enqueue(session, "poll_feed", *due[start:start + feeds.POLL_CHUNK])
    websub.renew_subscriptions(session, settings, now)
    ratelimit.prune(session, now=now)
    composed = [digest.id for digest in compose_due_digests(session, settings, now)]
    for digest_id in composed:
        enqueue(session, "send_digest", digest_id)
    return Tick(polled=len(due), composed=composed)


@dataclass
class Sweep:
    resumed: list[int]
    crossposts: list[int]
    mails: list[int]


def sweep(session: Session, settings: Settings) -> Sweep:
    """Hand back the rows of dead workers (their lease ended) and the retries now due; queue lost sends and
    cross-posts and transactional mails again."""
    resumed = delivery.sweep(session, settings)
    for digest_id in resumed:
        enqueue(session, "send_digest", digest_id)
    crossposts = crosspost.sweep(session, settings)
    for crosspost_id in crossposts:
        enqueue(session, "crosspost", crosspost_id)
    due_mails = mails.sweep(session, settings)
    for mail_id in due_mails:
        enqueue(session, "send_mail", mail_id)
    return Sweep(resumed=resumed, crossposts=crossposts, mails=due_mails)


def compose_due_digests(session: Session, settings: Settings, now: datetime) -> list[Digest]:
    """Digests composed for every edition whose slot has come (immediate: whenever there is news)."""
    composed = []
    # (Not services.lists.all_lists: lists imports the watcher, which calls compose_on_news here.)
    for mailing_list in list(session.scalars(select(MailingList).order_by(MailingList.name))):
        if mailing_list.paused:
            continue
        for cadence, timezone in editions_of(session, mailing_list):
            slot = _claim(session, mailing_list, cadence, timezone, now)
            if slot is False:
                continue
            label = "immediate" if slot is None else f"{cadence} {timezone} {slot:%Y-%m-%dT%H:%MZ}"
            edition = Edition(cadence=cadence, timezone=None if cadence == "immediate" else timezone, label=label)
            try:
                digests = compose_edition(session, settings, mailing_list, edition=edition, now=now)
                session.commit()  # each edition its own unit of work: one that fails leaves the others
                composed += digests
            except IntegrityError:
                session.rollback()
    return composed


def editions_of(session: Session, mailing_list: MailingList) -> list[tuple[str, str]]:
    """(cadence, time zone) pairs its confirmed subscribers need; immediate ignores the zone."""
    cadence = func.coalesce(Subscription.cadence, mailing_list.cadence)
    zone = func.coalesce(Subscription.timezone, mailing_list.timezone)
    rows = session.execute(
        select(cadence, zone).distinct()
        .where(Subscription.list_id == mailing_list.id, Subscription.status == SubscriptionStatus.CONFIRMED)
    ).all()
    return sorted({(c, "UTC" if c == "immediate" else z) for c, z in rows})


def ensure_edition(session: Session, mailing_list: MailingList, cadence: str, timezone: str,
                   now: datetime) -> None:
    """Record an edition's current slot as handled when a subscriber first chooses it: its first digest
    goes at the next slot, not at one that passed before the choice."""
    if cadence == "immediate" or session.get(EditionSlot, (mailing_list.id, cadence, timezone)):
        return
    if (cadence, timezone) == (mailing_list.cadence, mailing_list.timezone):
        initial = mailing_list.last_slot_at  # the list's own schedule, set when it was created
    else:
        initial = latest_slot(now, cadence=cadence, send_at=mailing_list.send_at, timezone=timezone,
                              weekday=mailing_list.weekday)
    try:
        with session.begin_nested():
            session.add(EditionSlot(list_id=mailing_list.id, cadence=cadence, timezone=timezone,
                                    last_slot_at=initial))
    except IntegrityError:
        pass  # another process recorded it first: same value


def _claim(session: Session, mailing_list: MailingList, cadence: str, timezone: str, now: datetime):
    """None: immediate (no slot); the slot instant when this caller won it; False when not due or lost."""
    slot = latest_slot(now, cadence=cadence, send_at=mailing_list.send_at, timezone=timezone,
                       weekday=mailing_list.weekday)
    if slot is None:
        return None  # the conditional watermark UPDATE keeps concurrent composers honest
    ensure_edition(session, mailing_list, cadence, timezone, now)
    won = session.execute(
        update(EditionSlot)
        .where(EditionSlot.list_id == mailing_list.id, EditionSlot.cadence == cadence,
               EditionSlot.timezone == timezone,
               or_(EditionSlot.last_slot_at.is_(None), EditionSlot.last_slot_at < slot))
        .values(last_slot_at=slot)
    ).rowcount
    if won and (cadence, timezone) == (mailing_list.cadence, mailing_list.timezone):
        mailing_list.last_slot_at = slot  # kept for `lists list` and older readers
    session.commit()
    return slot if won == 1 else False


def compose_on_news(session: Session, results) -> None:
    """The watcher's hook, where it records news (polled or pushed): once its transaction commits, the
    immediate editions of the lists following those feeds are composed (by a task), not at the next tick."""
    feed_ids = {post.feed_id for result in results for post in result.new if not post.is_baseline}
    if feed_ids:  # if the queue is unreachable, the next tick composes them
        enqueue(session, "compose_news", *sorted(feed_ids))


def compose_immediate(session: Session, settings: Settings, feed_ids, now: datetime) -> list[Digest]:
    """Digests for the immediate subscribers of the lists that follow these feeds. The conditional
    watermark UPDATE keeps this and a tick composing at the same moment from both sending a post."""
    list_ids = select(ListFeed.list_id).where(ListFeed.feed_id.in_(list(feed_ids)))
    composed = []
    following = select(MailingList).where(MailingList.id.in_(list_ids), MailingList.paused.is_(False))
    for mailing_list in list(session.scalars(following)):
        if ("immediate", "UTC") not in editions_of(session, mailing_list):
            continue
        try:
            composed += compose_edition(session, settings, mailing_list, edition=IMMEDIATE, now=now)
            session.commit()
        except IntegrityError:
            session.rollback()
    return composed
