"""Login throttling, per account and per client address.

Every attempt is claimed before the password is checked (so a hundred requests sent at once are a hundred
attempts, not one): the first `login_free_attempts` pass at once; after them each must wait
login_delay_seconds * 2^(n - free) (at most login_delay_max_seconds) after the previous one, and an attempt
that comes earlier is refused unchecked, with how long to wait. A success forgets the account's attempts; a
key left alone for `login_reset_minutes` starts afresh. Counted in the database, so the limits hold across
processes; a claim is a compare-and-set, as the ledger's transitions are."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import LoginThrottle
from publisher.models.base import utcnow

_RACES = 5  # compare-and-set retries before a claim that keeps losing is refused


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:320]


def address_key(ip: str) -> str:
    """An IPv6 client is counted by its /64: one machine usually holds the whole network."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "ip:" + ip[:64]
    if address.version == 6:
        return "ip:" + str(ipaddress.ip_network(f"{address}/64", strict=False))
    return "ip:" + str(address)


def delay_after(attempts: int, settings: Settings) -> float:
    """Seconds the attempt after `attempts` attempts must wait."""
    over = attempts - settings.login_free_attempts
    if over < 0:
        return 0.0
    return min(settings.login_delay_seconds * 2 ** min(over, 40), settings.login_delay_max_seconds)


def claim(session: Session, settings: Settings, keys: list[str], *, now: datetime | None = None) -> float | None:
    """Claim one attempt for each key, in order. None: go ahead and check the password; else the seconds to
    wait (the attempt is refused, and keys after the refusing one are not counted)."""
    now = now or utcnow()
    for key in keys:
        wait = _claim_one(session, settings, key, now)
        if wait is not None:
            return wait
    return None


def forget(session: Session, key: str) -> None:
    """The account's password was right: its attempts are forgotten."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def refund(session: Session, settings: Settings, key: str, *, now: datetime | None = None) -> None:
    """A successful attempt from an address does not count against it (but its earlier failures still do:
    one's own account must not wipe the record of guesses at others)."""
    now = now or utcnow()
    row = session.get(LoginThrottle, key, populate_existing=True)
    if row is not None and row.attempts > 0:
        row.attempts -= 1
        row.next_allowed_at = now + timedelta(seconds=delay_after(row.attempts, settings))


def _claim_one(session: Session, settings: Settings, key: str, now: datetime) -> float | None:
    reset_before = now - timedelta(minutes=settings.login_reset_minutes)
    for _ in range(_RACES):
        row = session.get(LoginThrottle, key, populate_existing=True)
        if row is None:
            if _insert(session, key, now, settings):
                return None
            continue  # another request made the row first
        attempts = row.attempts if row.updated_at > reset_before else 0
        if attempts and row.next_allowed_at is not None and row.next_allowed_at > now:
            return (row.next_allowed_at - now).total_seconds()
        claimed = session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key, LoginThrottle.attempts == row.attempts,
                   LoginThrottle.updated_at == row.updated_at)
            .values(attempts=attempts + 1, updated_at=now,
                    next_allowed_at=now + timedelta(seconds=delay_after(attempts + 1, settings)))
            .execution_options(synchronize_session=False))
        if claimed.rowcount == 1:
            return None
    return settings.login_delay_seconds or 1.0


def _insert(session: Session, key: str, now: datetime, settings: Settings) -> bool:
    try:
        with session.begin_nested():
            session.add(LoginThrottle(key=key, attempts=1, updated_at=now,
                                      next_allowed_at=now + timedelta(seconds=delay_after(1, settings))))
        return True
    except IntegrityError:
        return False
