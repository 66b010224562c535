"""Abuse limits counted in the database (works across web processes, workers and machines).
Keys are hashes: the table holds no address or IP in clear."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from publisher.models import RateEvent

SIGNUP_PER_IP = "signup_ip"
CONFIRM_MAIL = "confirm_mail"

# Providers known to deliver every dotted spelling of a local part to the same mailbox.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(address: str) -> str:
    """The mailbox an address reaches, for counting mails to it: lower-cased, without its +tag (and, at
    Gmail, without dots). victim+1@x and VICTIM+news@X are one mailbox. For limits only: the address
    itself stays as it was typed."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def network(ip: str) -> str:
    """The unit a per-IP limit counts: the address itself, or its /64 for IPv6 (one customer's network: a
    single host can use any of its 2^64 addresses)."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def rate_key(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def count_recent(session: Session, kind: str, value: str, *, window: timedelta, now: datetime) -> int:
    """On PostgreSQL, concurrent requests for the same key queue up here until the counting transaction
    ends, so two web processes cannot both pass the last free slot."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int(rate_key(f"{kind}:{value}")[:15], 16)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    return session.scalar(select(func.count()).where(RateEvent.kind == kind, RateEvent.key == rate_key(value),
                                                     RateEvent.at > now - window))


def record(session: Session, kind: str, value: str, *, now: datetime) -> RateEvent:
    event = RateEvent(kind=kind, key=rate_key(value), at=now)
    session.add(event)
    session.flush()
    return event


def discard(session: Session, event_ids: Iterable[int]) -> None:
    """Take back counted actions (a request that failed after counting must not use up a limit)."""
    ids = list(event_ids)
    if ids:
        session.execute(delete(RateEvent).where(RateEvent.id.in_(ids)))


def forget(session: Session, value: str) -> int:
    """GDPR: every counted action keyed by this value."""
    return session.execute(delete(RateEvent).where(RateEvent.key == rate_key(value))).rowcount


def prune(session: Session, *, now: datetime, older_than: timedelta = timedelta(days=2)) -> int:
    return session.execute(delete(RateEvent).where(RateEvent.at < now - older_than)).rowcount
