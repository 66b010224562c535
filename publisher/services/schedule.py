"""The scheduler's use case: which editions are due now; claim each slot once; compose their digests.

An edition is a list x effective cadence x effective time zone (a subscriber's own choice, else the list's
default). Each has its own slot record, so 08:00 in Paris and 08:00 in New York each fire once, at their
own local time, daylight-saving changes included."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from publisher.compose.schedule import latest_slot
from publisher.config import Settings
from publisher.models import (
    Digest,
    EditionSlot,
    MailingList,
    Subscription,
    SubscriptionStatus,
)
from publisher.services.digests import Edition, compose_edition
from publisher.services.lists import all_lists


def compose_due_digests(session: Session, settings: Settings, now: datetime) -> list[Digest]:
    """Digests composed for every edition whose slot has come (immediate: whenever there is news)."""
    composed = []
    for mailing_list in all_lists(session):
        if mailing_list.paused:
            continue
        for cadence, timezone in editions_of(session, mailing_list):
            slot = _claim(session, mailing_list, cadence, timezone, now)
            if slot is False:
                continue
            label = "immediate" if slot is None else f"{cadence} {timezone} {slot:%Y-%m-%dT%H:%MZ}"
            edition = Edition(cadence=cadence, timezone=None if cadence == "immediate" else timezone, label=label)
            try:
                composed += compose_edition(session, settings, mailing_list, edition=edition, now=now)
                session.commit()
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
