"""GDPR: everything we hold on a person (Art. 15), and erasing it (Art. 17) while keeping only a hashed
suppression entry, so an erased person is never added again by an import or a form."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from publisher.errors import NotFoundError
from publisher.models import (
    BounceEvent,
    Delivery,
    Mail,
    Subscriber,
    Subscription,
    Suppression,
)
from publisher.models.suppression import address_hash
from publisher.services import ratelimit, suppression
from publisher.services.subscribers import canonical_email, find_subscriber


def export_data(session: Session, email: str) -> dict:
    """All rows about the address, as JSON-ready values."""
    email = canonical_email(email)
    subscriber = find_subscriber(session, email)
    entries = session.scalars(select(Suppression).where(Suppression.email_hash == address_hash(email))).all()
    if subscriber is None and not entries:
        raise NotFoundError(f"we hold nothing on {email}")
    data: dict = {"email": email, "subscriber": None, "subscriptions": [], "deliveries": [], "bounces": [],
                  "suppressions": [_row(e, "list_id", "reason", "source", "created_at") for e in entries]}
    if subscriber is None:
        return data
    data["subscriber"] = _row(subscriber, "id", "email", "name", "created_at")
    subs = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id)).all()
    data["subscriptions"] = [
        _row(s, "list_id", "status", "source", "created_at", "confirmed_at", "unsubscribed_at", "cadence",
             "timezone", "consent_at", "consent_ip") for s in subs]
    rows = session.scalars(select(Delivery).where(_delivery_of(subscriber)).order_by(Delivery.id)).all()
    data["deliveries"] = [_row(d, "digest_id", "email", "name", "status", "attempts", "last_reply", "sent_at",
                               "created_at") for d in rows]
    bounces = session.scalars(select(BounceEvent).where(BounceEvent.subscriber_id == subscriber.id)).all()
    data["bounces"] = [_row(b, "digest_id", "kind", "status", "diagnostic", "at") for b in bounces]
    return data


def wipe(session: Session, email: str) -> dict[str, int]:
    """Delete every personal row; keep one global suppression entry holding only the address's hash.
    Returns how many rows of each kind went."""
    subscriber = find_subscriber(session, email)
    address = subscriber.email if subscriber else canonical_email(email)
    counts = {"subscribers": 0, "subscriptions": 0, "deliveries": 0, "bounces": 0, "rate_events": 0,
              "mails": 0}
    suppression.suppress(session, address, reason=suppression.WIPED, source="gdpr wipe")
    # Confirmations and test sends hold the address, the name and the text mailed to them.
    mails_of = func.lower(Mail.email) == address.lower()
    if subscriber is not None:
        mails_of |= Mail.subscriber_id == subscriber.id
    counts["mails"] = session.execute(delete(Mail).where(mails_of)).rowcount
    if subscriber is not None:
        ips = {ip for ip in session.scalars(select(Subscription.consent_ip).where(
            Subscription.subscriber_id == subscriber.id)) if ip}
        # Deliveries carry copies of the address and name (and replies quoting them): they go too, with
        # their events (ON DELETE CASCADE).
        counts["deliveries"] = session.execute(delete(Delivery).where(_delivery_of(subscriber))).rowcount
        counts["bounces"] = session.execute(
            delete(BounceEvent).where(BounceEvent.subscriber_id == subscriber.id)).rowcount
        counts["subscriptions"] = session.execute(
            delete(Subscription).where(Subscription.subscriber_id == subscriber.id)).rowcount
        session.delete(subscriber)
        counts["subscribers"] = 1
        counts["rate_events"] = sum(ratelimit.forget(session, ratelimit.network(ip)) for ip in ips)
    counts["rate_events"] += ratelimit.forget(session, address) + ratelimit.forget(session, ratelimit.mailbox(address))
    # Only the hash stays: no address in clear in any suppression entry.
    session.execute(update(Suppression).where(Suppression.email_hash == address_hash(address))
                    .values(email=None, source="gdpr wipe"))
    session.flush()
    return counts


def _delivery_of(subscriber: Subscriber):
    return (Delivery.subscriber_id == subscriber.id) | (func.lower(Delivery.email) == subscriber.email.lower())


def _row(obj, *names: str) -> dict:
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
