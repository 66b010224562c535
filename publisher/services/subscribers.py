"""Use cases for subscribers: add one, confirm, unsubscribe, count, export."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from publisher.models.base import utcnow
from publisher.models.suppression import address_hash
from publisher.services import suppression
from publisher.services.digests import list_watermark


class SuppressedAddressError(InvalidInputError):
    """The address is on the suppression list: it is never (re-)added."""


def normalize_email(raw: str) -> str:
    if not raw.strip():
        raise InvalidInputError("the email address is missing")
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInputError(f"{raw.strip()!r} is not a valid email address: {exc}") from None


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == email.strip().lower()))


def subscribe(session: Session, mailing_list: MailingList, *, email: str, name: str | None = None,
              confirmed: bool = False, source: str = "cli", consent_at: datetime | None = None,
              consent_ip: str | None = None) -> Subscription:
    """Add (or update) a subscriber on a list. An unsubscribed person is never re-subscribed silently, and
    a suppressed address is refused. Consent provenance is kept from the first time we heard of it."""
    address = normalize_email(email)
    _refuse_suppressed(session, address)
    subscriber = find_subscriber(session, address)
    if subscriber is None:
        subscriber = Subscriber(email=address, name=name, created_at=utcnow())
        session.add(subscriber)
        session.flush()
    elif name and not subscriber.name:
        subscriber.name = name
    subscription = session.scalar(select(Subscription).where(
        Subscription.list_id == mailing_list.id, Subscription.subscriber_id == subscriber.id))
    if subscription is None:
        subscription = Subscription(list_id=mailing_list.id, subscriber_id=subscriber.id, source=source[:100],
                                    status=SubscriptionStatus.PENDING.value, created_at=utcnow(),
                                    consent_at=consent_at or utcnow(), consent_ip=consent_ip)
        session.add(subscription)
        session.flush()
    if confirmed and subscription.status == SubscriptionStatus.PENDING:
        confirm(session, subscription)
    session.flush()
    return subscription


def _refuse_suppressed(session: Session, address: str) -> None:
    entry = session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(address),
                                                     Suppression.list_id.is_(None)))
    if entry is not None:
        raise SuppressedAddressError(f"{address} is on the suppression list ({entry.reason}): it gets no mail")


def confirm(session: Session, subscription: Subscription) -> None:
    """Pending -> confirmed. The subscriber starts after the list's latest digest, never with old news."""
    subscription.status = SubscriptionStatus.CONFIRMED.value
    subscription.confirmed_at = utcnow()
    subscription.unsubscribed_at = None
    subscription.seen_until = list_watermark(session, subscription.list_id)
    suppression.lift_list_suppression(session, subscription.subscriber.email, list_id=subscription.list_id)


def unsubscribe(session: Session, *, subscriber_id: int, list_id: int, source: str = "link") -> Subscription:
    """Idempotent; the address goes on the list's suppression list, so no re-import brings it back."""
    subscription = session.scalar(select(Subscription).where(
        Subscription.list_id == list_id, Subscription.subscriber_id == subscriber_id))
    if subscription is None:
        raise NotFoundError("no such subscription (it may have been removed)")
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED.value
        subscription.unsubscribed_at = utcnow()
        suppression.suppress(session, subscription.subscriber.email, reason=suppression.UNSUBSCRIBE,
                             source=source, list_id=list_id)
    return subscription


def subscriber_counts(session: Session, list_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Subscription.status).where(Subscription.list_id == list_id)
    ).scalars().all()
    return {status.value: rows.count(status.value) for status in SubscriptionStatus}


EXPORT_COLUMNS = ["email", "name", "status", "subscribed_at", "ip", "source", "confirmed_at", "unsubscribed_at",
                  "cadence", "timezone"]


def export_csv(session: Session, mailing_list: MailingList, out: TextIO) -> int:
    """Every subscription of the list, in the generic import format (plus a few columns): re-importable."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = session.scalars(select(Subscription).where(Subscription.list_id == mailing_list.id)
                           .order_by(Subscription.id)).all()
    for s in rows:
        writer.writerow([s.subscriber.email, s.subscriber.name or "", s.status, _iso(s.consent_at or s.created_at),
                         s.consent_ip or "", s.source or "", _iso(s.confirmed_at), _iso(s.unsubscribed_at),
                         s.cadence or "", s.timezone or ""])
    return len(rows)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
