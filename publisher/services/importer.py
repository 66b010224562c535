"""Import subscribers from CSV: our generic format (email, name, status, subscribed_at, ip, source) and the
exports of FeedBurner ("Email,Subscribed,Status", e.g. "Active" / "Pending Verification") and follow.it.
The format is recognised by its header. Every bad row is reported with its line number and reason and the
rest are imported; a re-import changes nothing; suppressed addresses stay out."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.csvfiles import read_table
from publisher.errors import InvalidInputError
from publisher.models import Cadence, MailingList, Subscription, SubscriptionStatus
from publisher.services import suppression
from publisher.services.subscribers import (
    SuppressedAddressError,
    find_subscriber,
    subscribe,
    unsubscribe,
)

# Header aliases, lower-cased, for the columns we read.
ALIASES = {
    "email": ("email", "email address", "e-mail", "e-mail address", "emailaddress", "follower email", "mail"),
    "name": ("name", "full name", "follower name"),
    "status": ("status", "state", "subscription status"),
    "subscribed_at": ("subscribed_at", "subscribed", "subscribed date", "subscription date", "date subscribed",
                      "followed since", "follow date", "date", "created", "created at", "signup date"),
    "ip": ("ip", "ip address", "signup ip", "optin ip"),
    "source": ("source",),
    # The rest of our own export, so export -> import gives the same subscriptions back.
    "confirmed_at": ("confirmed_at",),
    "unsubscribed_at": ("unsubscribed_at",),
    "cadence": ("cadence",),
    "timezone": ("timezone",),
}
STATUSES = {
    SubscriptionStatus.CONFIRMED: ("confirmed", "active", "subscribed", "verified", "enabled"),
    SubscriptionStatus.PENDING: ("pending", "pending verification", "unconfirmed", "unverified"),
    SubscriptionStatus.UNSUBSCRIBED: ("unsubscribed", "inactive", "cancelled", "canceled", "disabled", "removed"),
    "bounced": ("bounced", "hard bounce", "complained", "spam"),
}
DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y")


@dataclass
class ImportReport:
    format: str = "generic"
    encoding: str = "UTF-8"  # how the file's bytes were read, in words
    added: int = 0
    unchanged: int = 0
    suppressed: list[str] = field(default_factory=list)  # "line N: address is suppressed"
    errors: list[str] = field(default_factory=list)  # "line N: reason"


def import_csv(session: Session, mailing_list: MailingList, path: Path, *, confirmed: bool = False) -> ImportReport:
    """Raises InvalidInputError, before importing anything, for a file that is no CSV text; reports each bad
    row by its line number and imports the rest."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    return import_csv_data(session, mailing_list, data, path.name, confirmed=confirmed, shown_as=str(path))


def import_csv_data(session: Session, mailing_list: MailingList, data: bytes, filename: str, *,
                    confirmed: bool = False, shown_as: str | None = None) -> ImportReport:
    """The same, for a file's bytes (an upload)."""
    table = read_table(data, filename)
    columns = _columns(table.fieldnames)
    if "email" not in columns:
        raise InvalidInputError(f"{shown_as or filename}: the first line must name the columns, with an email column "
                                "(generic: email,name,status,subscribed_at,ip,source)")
    report = ImportReport(format=_format(table.fieldnames), encoding=table.encoding)
    for line, row in table.rows:
        values = {ours: (row.get(theirs) or "").strip() for ours, theirs in columns.items()}
        _import_row(session, mailing_list, values, line, confirmed, report, filename)
    return report


def _columns(fieldnames: list[str]) -> dict[str, str]:
    """Our column name -> the file's column name."""
    by_lower = {(name or "").strip().lower(): name for name in fieldnames}
    found = {}
    for ours, aliases in ALIASES.items():
        for alias in aliases:
            if alias in by_lower:
                found[ours] = by_lower[alias]
                break
    return found


def _format(fieldnames: list[str]) -> str:
    lower = {(name or "").strip().lower() for name in fieldnames}
    if {"email", "subscribed", "status"} <= lower or "subscribed date" in lower and "email" in lower:
        return "feedburner"
    if any("follow" in name for name in lower):
        return "follow.it"
    return "generic"


def _import_row(session, mailing_list, values, line, confirmed, report: ImportReport, filename: str) -> None:
    try:
        status = _status(values.get("status", ""), confirmed)
        consent_at = _date(values.get("subscribed_at", ""))
        ip = _ip(values.get("ip", ""))
        source = values.get("source") or f"import:{report.format}:{filename}"
        kept = _kept(values)
        with session.begin_nested():
            outcome = _apply(session, mailing_list, values, status, consent_at, ip, source, kept)
    except SuppressedAddressError as exc:
        report.suppressed.append(f"line {line}: {exc}")
        return
    except InvalidInputError as exc:
        report.errors.append(f"line {line}: {exc}")
        return
    if outcome:
        report.added += 1
    else:
        report.unchanged += 1


def _apply(session, mailing_list, values, status, consent_at, ip, source, kept: dict) -> bool:
    """True when something changed."""
    email = values.get("email", "")
    if status == "bounced":
        subscription = subscribe(session, mailing_list, email=email, name=values.get("name") or None,
                                 source=source, consent_at=consent_at, consent_ip=ip)
        suppression.suppress(session, subscription.subscriber.email, reason=suppression.HARD_BOUNCE,
                             source=f"{source} (imported as bounced)")
        return True
    before = _existing_status(session, mailing_list, email)
    subscription = subscribe(session, mailing_list, email=email, name=values.get("name") or None,
                             confirmed=status == SubscriptionStatus.CONFIRMED, source=source,
                             consent_at=consent_at, consent_ip=ip)
    if status == SubscriptionStatus.UNSUBSCRIBED:
        unsubscribe(session, subscriber_id=subscription.subscriber_id, list_id=mailing_list.id, source=source)
    if before is None:  # a subscription this file brings: it keeps its history and choices
        if subscription.status == SubscriptionStatus.PENDING:
            kept["confirmed_at"] = None
        if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            kept["unsubscribed_at"] = None
        for attribute, value in kept.items():
            if value:
                setattr(subscription, attribute, value)
    return before != subscription.status


def _kept(values: dict[str, str]) -> dict:
    cadence, timezone = values.get("cadence", ""), values.get("timezone", "")
    if cadence and cadence not in {c.value for c in Cadence}:
        raise InvalidInputError(f"unknown cadence {cadence!r} (use {', '.join(c.value for c in Cadence)})")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInputError(f"unknown time zone {timezone!r} (use a name like Europe/Paris)") from None
    return {"confirmed_at": _date(values.get("confirmed_at", "")),
            "unsubscribed_at": _date(values.get("unsubscribed_at", "")), "cadence": cadence, "timezone": timezone}


def _existing_status(session, mailing_list, email: str) -> str | None:
    subscriber = find_subscriber(session, email.strip())
    if subscriber is None:
        return None
    return session.scalar(select(Subscription.status).where(Subscription.list_id == mailing_list.id,
                                                            Subscription.subscriber_id == subscriber.id))


def _status(raw: str, confirmed: bool):
    value = raw.strip().lower()
    if not value:
        return SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
    for status, names in STATUSES.items():
        if value in names:
            if status == SubscriptionStatus.PENDING and confirmed:
                return SubscriptionStatus.CONFIRMED
            return status
    raise InvalidInputError(f"unknown status {raw!r} (use confirmed, pending or unsubscribed)")


def _date(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)  # 3.11+: "Z" and most ISO 8601 forms
    except ValueError:
        value = None
        for fmt in DATE_FORMATS:
            try:
                value = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise InvalidInputError(f"subscribed_at {raw!r} is not a date (use ISO 8601, e.g. 2024-05-01T09:30:00Z)")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ip(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise InvalidInputError(f"ip {raw!r} is not an IP address") from None
