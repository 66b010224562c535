"""The preference center: name, and per list: subscribed or not, cadence, time zone.
The signed link in every digest is the authority (it came by mail to this address), so joining another list
from here needs no second confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import (
    Cadence,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from publisher.models.base import utcnow
from publisher.services.identity import identity_of
from publisher.services.schedule import ensure_edition
from publisher.services.subscribers import clean_name, confirm, unsubscribe


@dataclass(frozen=True)
class ListChoice:
    list_id: int
    name: str
    subscribed: bool
    cadence: str  # "" = the list's default
    timezone: str  # "" = the list's default
    default_cadence: str
    default_timezone: str
    title: str = ""  # the blog's name, as readers know it


@dataclass(frozen=True)
class Choice:
    subscribed: bool
    cadence: str = ""
    timezone: str = ""


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError("we hold no subscription for this link any more")
    return subscriber


def list_choices(session: Session, subscriber_id: int) -> list[ListChoice]:
    mine = {s.list_id: s for s in session.scalars(select(Subscription).where(
        Subscription.subscriber_id == subscriber_id))}
    choices = []
    for ml in session.scalars(select(MailingList).order_by(MailingList.name)):
        sub = mine.get(ml.id)
        if ml.paused and sub is None:
            continue
        choices.append(ListChoice(
            list_id=ml.id, name=ml.name, subscribed=bool(sub and sub.status == SubscriptionStatus.CONFIRMED),
            cadence=(sub.cadence or "") if sub else "", timezone=(sub.timezone or "") if sub else "",
            default_cadence=ml.cadence, default_timezone=ml.timezone, title=identity_of(session, ml).title))
    return choices


def update_preferences(session: Session, subscriber_id: int, *, name: str | None,
                       choices: dict[int, Choice], now: datetime | None = None) -> None:
    subscriber = get_subscriber(session, subscriber_id)
    for choice in choices.values():
        _validate(choice)
    subscriber.name = clean_name(name)
    for list_id, choice in choices.items():
        mailing_list = session.get(MailingList, list_id)
        if mailing_list is None:
            continue
        _apply(session, subscriber, mailing_list, choice, now or utcnow())
    session.flush()


def _apply(session: Session, subscriber: Subscriber, mailing_list: MailingList, choice: Choice,
           now: datetime) -> None:
    sub = session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                                    Subscription.list_id == mailing_list.id))
    if not choice.subscribed:
        if sub is not None and sub.status != SubscriptionStatus.UNSUBSCRIBED:
            unsubscribe(session, subscriber_id=subscriber.id, list_id=mailing_list.id, source="preferences")
        return
    if sub is None:
        sub = Subscription(list_id=mailing_list.id, subscriber_id=subscriber.id, source="preferences",
                           status=SubscriptionStatus.PENDING.value, created_at=utcnow(), consent_at=utcnow())
        session.add(sub)
        session.flush()
    sub.cadence = choice.cadence or None
    sub.timezone = choice.timezone or None
    if sub.status != SubscriptionStatus.CONFIRMED:
        confirm(session, sub)
    # A new edition starts at its next slot, never at one that already passed.
    ensure_edition(session, mailing_list, sub.cadence or mailing_list.cadence,
                   sub.timezone or mailing_list.timezone, now)


def _validate(choice: Choice) -> None:
    if choice.cadence and choice.cadence not in {c.value for c in Cadence}:
        raise InvalidInputError(f"unknown cadence {choice.cadence!r}")
    if choice.timezone:
        try:
            ZoneInfo(choice.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInputError(f"unknown time zone {choice.timezone!r}; use a name like Europe/Paris") from None


def timezone_names() -> list[str]:
    return sorted(available_timezones())
