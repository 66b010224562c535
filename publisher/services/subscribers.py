"""Use cases for subscribers: add one, confirm, unsubscribe, count, export."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TextIO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.csvfiles import write_rows
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
from publisher.store.watermarks import list_watermark

MAX_EMAIL = 320
MAX_NAME = 100
_JOINERS = {"\u200c", "\u200d"}  # zero-width non-joiner and joiner


class SuppressedAddressError(InvalidInputError):
    """The address is on the suppression list: it is never (re-)added."""


def normalize_email(raw: str) -> str:
    """The address as we store and send it: validated, domain lower-cased and (IDN) in punycode, so both
    spellings of an international domain are one subscriber and every mail server can take it. A local part
    must be ASCII: mailing one needs SMTPUTF8 from every server on the way, which we cannot promise."""
    text = raw.strip()
    if not text:
        raise InvalidInputError("the email address is missing")
    if len(text) > MAX_EMAIL:
        raise InvalidInputError(f"the email address is too long (at most {MAX_EMAIL} characters)")
    if not text.rpartition("@")[0].isascii():
        raise InvalidInputError(f"{text!r} has non-ASCII characters before the @, which we cannot mail: "
                                "please use an address whose part before the @ is plain ASCII")
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise InvalidInputError(f"{text!r} is not a valid email address: {exc}") from None


def canonical_email(raw: str) -> str:
    """For looking an address up: its stored form when it is valid, else as given (lower-cased)."""
    try:
        return normalize_email(raw).lower()
    except InvalidInputError:
        return raw.strip().lower()


def clean_name(raw: str | None) -> str | None:
    """A subscriber's name as it may appear in To: and "Hi ...": one line of printable text, bounded.
    Bad names are refused, not repaired: the person sees why."""
    name = unicodedata.normalize("NFC", raw or "")
    if any(_is_control(c) for c in name):
        raise InvalidInputError("the name must be one line of plain text: no line breaks, tabs, control or "
                                "text-direction characters")
    name = " ".join(name.split())  # other spaces (no-break, ideographic ...) become plain ones
    if not name:
        return None
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"the name is too long (at most {MAX_NAME} characters)")
    return name


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls (CR, LF, NUL, TAB ...); Zl/Zp: line and paragraph separators; Cs: lone surrogates;
    # Cf: invisible format characters (bidi overrides, zero-width spaces), except the joiners scripts and
    # emoji sequences need.
    category = unicodedata.category(char)
    return category in ("Cc", "Zl", "Zp", "Cs") or (category == "Cf" and char not in _JOINERS)


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == canonical_email(email)))


def subscribe(session: Session, mailing_list: MailingList, *, email: str, name: str | None = None,
              confirmed: bool = False, source: str = "cli", consent_at: datetime | None = None,
              consent_ip: str | None = None) -> Subscription:
    """Add (or update) a subscriber on a list. An unsubscribed person is never re-subscribed silently, and
    a suppressed address is refused. Consent provenance is kept from the first time we heard of it."""
    address = normalize_email(email)
    name = clean_name(name)
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
    """Every subscription of the list, in the generic import format (plus a few columns): re-importable.
    Cells a spreadsheet would run as formulas are written with a leading apostrophe (the import drops it)."""
    rows = session.scalars(select(Subscription).where(Subscription.list_id == mailing_list.id)
                           .order_by(Subscription.id)).all()
    write_rows(out, [EXPORT_COLUMNS] + [
        [s.subscriber.email, s.subscriber.name or "", s.status, _iso(s.consent_at or s.created_at),
         s.consent_ip or "", s.source or "", _iso(s.confirmed_at), _iso(s.unsubscribed_at), s.cadence or "",
         s.timezone or ""] for s in rows])
    return len(rows)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
