"""Use cases for lists: create one over some feeds, look one up."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from publisher.compose.headers import has_control_characters, single_address
from publisher.compose.schedule import latest_slot
from publisher.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from publisher.models import Cadence, DigestPost, Feed, ListFeed, MailingList, Post
from publisher.models.base import utcnow
from publisher.services.feeds import get_feed
from publisher.services.subscribers import normalize_email

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_LIST_NAME = 200


def create_list(session: Session, *, name: str, feed_urls: list[str], cadence: str = "daily",
                send_at: str = "08:00", timezone: str = "UTC", sender: str | None = None,
                weekday: int = 0) -> MailingList:
    validate_new_list(session, name=name, feed_urls=feed_urls, cadence=cadence, send_at=send_at, timezone=timezone,
                      sender=sender)
    mailing_list = MailingList(name=name, cadence=cadence, send_at=send_at, timezone=timezone, sender=sender,
                               weekday=weekday,
                               # The first digest goes at the next slot, not at the one that just passed.
                               last_slot_at=latest_slot(utcnow(), cadence=cadence, send_at=send_at,
                                                        timezone=timezone, weekday=weekday))
    session.add(mailing_list)
    session.flush()
    for url in feed_urls:
        feed = get_feed(session, url)
        session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=_news_since(session, feed)))
    session.flush()
    return mailing_list


def validate_new_list(session: Session, *, name: str, feed_urls: list[str], cadence: str, send_at: str,
                      timezone: str, sender: str | None = None) -> None:
    """Everything about a new list that can be wrong before any feed is fetched."""
    validate_list_name(name)
    if sender is not None:
        validate_sender(sender)
    if session.scalar(select(MailingList).where(MailingList.name == name)):
        raise AlreadyExistsError(f"list {name!r} already exists")
    if not feed_urls:
        raise InvalidInputError("a list needs at least one --feed")
    _validate_schedule(cadence, send_at, timezone)


def validate_list_name(name: str) -> None:
    """A list's name goes into mail headers (List-Id, Subject), URLs and pages: one line of plain text."""
    if not name.strip():
        raise InvalidInputError("a list needs a name")
    if has_control_characters(name):
        raise InvalidInputError(f"list name {name!r} has a line break, tab or other control character: "
                                "use one line of plain text")
    if len(name) > MAX_LIST_NAME:
        raise InvalidInputError(f"list name is too long (at most {MAX_LIST_NAME} characters)")


def validate_sender(sender: str) -> None:
    """--from: exactly one address, optionally with a display name ("Blog <news@example.org>")."""
    if has_control_characters(sender):
        raise InvalidInputError(f"--from {sender!r} has a line break, tab or other control character: "
                                "give one address, like 'My Blog <news@example.org>'")
    address = single_address(sender)
    if address is None:
        raise InvalidInputError(f"--from {sender!r} must be one address, like 'My Blog <news@example.org>'")
    try:
        normalize_email(address.addr_spec)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--from: {exc}") from None


def _news_since(session: Session, feed: Feed):
    """A feed nobody has sent from yet brings its backfilled posts; one already in use brings only what
    comes after it joined this list."""
    already_sent = session.scalar(
        select(exists().where(DigestPost.post_id == Post.id, Post.feed_id == feed.id))
    )
    if already_sent or feed.baseline_at is None:
        return utcnow()
    return feed.baseline_at


def _validate_schedule(cadence: str, send_at: str, timezone: str) -> None:
    if cadence not in {c.value for c in Cadence}:
        raise InvalidInputError(f"cadence must be one of {', '.join(c.value for c in Cadence)}, got {cadence!r}")
    if not _HH_MM.match(send_at):
        raise InvalidInputError(f"--at must be HH:MM (24-hour), got {send_at!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone {timezone!r}; use an IANA name like Europe/Paris") from None


def get_list(session: Session, name: str) -> MailingList:
    mailing_list = session.scalar(select(MailingList).where(MailingList.name == name))
    if mailing_list is None:
        raise NotFoundError(f"no list named {name!r} (see `publisher lists list`)")
    return mailing_list


def all_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).order_by(MailingList.name)))
