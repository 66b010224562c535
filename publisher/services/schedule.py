"""The scheduler's use case: which lists are due now; claim each slot once; compose their digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from publisher.compose.schedule import latest_slot
from publisher.config import Settings
from publisher.models import Digest, MailingList
from publisher.services.digests import compose_digest
from publisher.services.lists import all_lists


def compose_due_digests(session: Session, settings: Settings, now: datetime) -> list[Digest]:
    """Digests composed for every list whose slot has come (immediate lists: whenever there is news)."""
    composed = []
    for mailing_list in all_lists(session):
        if mailing_list.paused or not _claim_slot(session, mailing_list, now):
            continue
        try:
            digest = compose_digest(session, settings, mailing_list)
            session.commit()
        except IntegrityError:
            session.rollback()  # another scheduler composed these posts first
            continue
        if digest is not None:
            composed.append(digest)
    return composed


def _claim_slot(session: Session, mailing_list: MailingList, now: datetime) -> bool:
    slot = latest_slot(now, cadence=mailing_list.cadence, send_at=mailing_list.send_at,
                       timezone=mailing_list.timezone, weekday=mailing_list.weekday)
    if slot is None:
        return True  # immediate: the UNIQUE digest_posts rows keep concurrent composers honest
    won = session.execute(
        update(MailingList)
        .where(MailingList.id == mailing_list.id,
               or_(MailingList.last_slot_at.is_(None), MailingList.last_slot_at < slot))
        .values(last_slot_at=slot)
    ).rowcount
    session.commit()
    return won == 1
