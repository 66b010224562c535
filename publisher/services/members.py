"""Use cases of an editor looking after who is on a list: see them, add one, confirm one, remove one.

Consent rules hold here as everywhere: an address that unsubscribed or bounced is never put back silently;
the editor is told why it stays out and what lifts it (the person's own, fresh consent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import MailingList, Subscription, SubscriptionStatus, Suppression
from publisher.models.suppression import address_hash
from publisher.services import suppression
from publisher.services.signup import Confirmation, send_confirmation_now
from publisher.services.subscribers import (
    SuppressedAddressError,
    canonical_email,
    confirm,
    find_subscriber,
    normalize_email,
    subscribe,
    unsubscribe,
)

REASONS = {
    suppression.UNSUBSCRIBE: "unsubscribed",
    suppression.HARD_BOUNCE: "their mail server refused the address for good (hard bounce)",
    suppression.SOFT_BOUNCES: "mail to it bounced again and again",
    suppression.COMPLAINT: "they marked a digest as spam",
    suppression.WIPED: "their data was erased at their request (GDPR)",
}


@dataclass(frozen=True)
class SubscriberRow:
    """One person on one list, as the command line, the pages and the API show them."""

    email: str
    name: str | None
    list_name: str
    status: str
    source: str | None
    subscribed_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    cadence: str | None  # None: the list's
    timezone: str | None  # None: the list's


def subscriber_row(s: Subscription, list_name: str) -> SubscriberRow:
    return SubscriberRow(email=s.subscriber.email, name=s.subscriber.name, list_name=list_name, status=s.status,
                         source=s.source, subscribed_at=s.consent_at or s.created_at, confirmed_at=s.confirmed_at,
                         unsubscribed_at=s.unsubscribed_at, cadence=s.cadence, timezone=s.timezone)


@dataclass(frozen=True)
class Added:
    subscription: Subscription
    confirmation: Confirmation | None = None  # the confirmation mail queued for a pending addition


def members(session: Session, mailing_list: MailingList, *, status: str | None = None) -> list[SubscriberRow]:
    """Everyone on the list (or those of one status), in the order they joined."""
    if status is not None and status not in {s.value for s in SubscriptionStatus}:
        raise InvalidInputError(f"status must be one of {', '.join(s.value for s in SubscriptionStatus)}, "
                                f"got {status!r}")
    query = select(Subscription).where(Subscription.list_id == mailing_list.id).order_by(Subscription.id)
    if status is not None:
        query = query.where(Subscription.status == status)
    return [subscriber_row(s, mailing_list.name) for s in session.scalars(query)]


def add_member(session: Session, settings: Settings, mailing_list: MailingList, *, email: str,
               name: str | None = None, confirmed: bool = False, source: str = "cli") -> Added:
    """The editor adds someone. Confirmed: they consented already (say, on paper). Otherwise they are pending
    and get the confirmation mail now, as a sign-up would. A suppressed or unsubscribed address is refused
    with the reason and what lifts it."""
    address = normalize_email(email)
    _refuse_suppressed(session, mailing_list, address)
    subscription = subscribe(session, mailing_list, email=address, name=name, confirmed=confirmed, source=source)
    if subscription.status != SubscriptionStatus.PENDING:
        return Added(subscription)
    session.commit()  # the person exists before their mail goes (its link names them)

    return Added(subscription, send_confirmation_now(session, settings, mailing_list, subscription))


def _refuse_suppressed(session: Session, mailing_list: MailingList, address: str) -> None:
    for entry in session.scalars(select(Suppression).where(
            Suppression.email_hash == address_hash(address),
            Suppression.list_id.is_(None) | (Suppression.list_id == mailing_list.id))):
        raise SuppressedAddressError(suppressed_reason(entry, mailing_list, address))


def suppressed_reason(entry: Suppression, mailing_list: MailingList, address: str) -> str:
    """Why an address stays out, and the one way back: the person's own consent."""
    why = REASONS.get(entry.reason, entry.reason)
    when = entry.created_at.strftime("%Y-%m-%d") if entry.created_at else "earlier"
    if entry.list_id is not None:
        return (f"{address} stays off {mailing_list.name!r}: {why} on {when} ({entry.source}). Only their own "
                f"consent lifts this: they sign up again on the list's page (the confirmation they follow puts "
                f"them back), or, if they asked you in writing, `publisher subscribers confirm {address} "
                f"--list {mailing_list.name} --consent`")
    return (f"{address} is on the suppression list, for every list: {why} on {when} ({entry.source}). It gets no mail; "
            "a new sign-up by the person themselves (from a working mailbox) is the only way back")


def confirm_member(session: Session, mailing_list: MailingList, *, email: str, consent: bool = False
                   ) -> Subscription:
    """Pending -> confirmed by the editor (the person consented outside the app). An unsubscribed person
    comes back only with `consent` (they asked again); a globally suppressed address never this way."""
    subscription = _subscription(session, mailing_list, email)
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return subscription
    address = subscription.subscriber.email
    everywhere = session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(address),
                                                          Suppression.list_id.is_(None)))
    if everywhere is not None:
        raise SuppressedAddressError(suppressed_reason(everywhere, mailing_list, address))
    if subscription.status == SubscriptionStatus.UNSUBSCRIBED and not consent:
        entry = session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(address),
                                                         Suppression.list_id == mailing_list.id))
        if entry is not None:
            raise SuppressedAddressError(suppressed_reason(entry, mailing_list, address))
        raise SuppressedAddressError(f"{address} unsubscribed from {mailing_list.name!r}: add --consent only "
                                     "if they asked to come back")
    confirm(session, subscription)  # lifts the list's own unsubscribe entry
    return subscription


def remove_member(session: Session, mailing_list: MailingList, *, email: str) -> Subscription:
    """Take someone off the list as if they had unsubscribed: no more mail from it, and no re-import brings
    them back. (Erasing everything held on a person is `subscribers wipe`.)"""
    subscription = _subscription(session, mailing_list, email)
    return unsubscribe(session, subscriber_id=subscription.subscriber_id, list_id=mailing_list.id, source="cli")


def _subscription(session: Session, mailing_list: MailingList, email: str) -> Subscription:
    subscriber = find_subscriber(session, email)
    subscription = subscriber and session.scalar(select(Subscription).where(
        Subscription.list_id == mailing_list.id, Subscription.subscriber_id == subscriber.id))
    if subscription is None:
        raise NotFoundError(f"{canonical_email(email)} is not on {mailing_list.name!r} "
                            f"(see `publisher subscribers list --list {mailing_list.name}`)")
    return subscription
