"""Use cases for subscribers: add one, import a CSV, unsubscribe."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import MailingList, Subscriber, Subscription, SubscriptionStatus
from publisher.models.base import utcnow


def normalize_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInputError(f"{raw.strip()!r} is not a valid email address: {exc}") from None


def subscribe(session: Session, mailing_list: MailingList, *, email: str, name: str | None = None,
              confirmed: bool = False, source: str = "cli") -> Subscription:
    """Add (or update) a subscriber on a list. An unsubscribed person is never re-subscribed silently."""
    address = normalize_email(email)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if subscriber is None:
        subscriber = Subscriber(email=address, name=name)
        session.add(subscriber)
        session.flush()
    elif name and not subscriber.name:
        subscriber.name = name
    subscription = session.scalar(select(Subscription).where(
        Subscription.list_id == mailing_list.id, Subscription.subscriber_id == subscriber.id))
    if subscription is None:
        subscription = Subscription(list_id=mailing_list.id, subscriber_id=subscriber.id, source=source,
                                    status=SubscriptionStatus.PENDING.value)
        session.add(subscription)
    if confirmed and subscription.status == SubscriptionStatus.PENDING:
        subscription.status = SubscriptionStatus.CONFIRMED.value
        subscription.confirmed_at = utcnow()
    session.flush()
    return subscription


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: reason"


def import_csv(session: Session, mailing_list: MailingList, path: Path, *, confirmed: bool = False) -> ImportReport:
    """Rows with an `email` column (and optionally `name`, `status`); a bad row is reported with its
    line number and the rest are imported."""
    report = ImportReport()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        if "email" not in fields:
            raise InvalidInputError(f"{path}: the first line must name the columns, with an 'email' column")
        for row in reader:
            _import_row(session, mailing_list, row, reader.line_num, confirmed, report, source=f"import:{path.name}")
    return report


def _import_row(session, mailing_list, row, line, confirmed, report, *, source) -> None:
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
    status = row.get("status", "").lower()
    try:
        with session.begin_nested():
            before = _status_of(session, mailing_list, row.get("email", ""))
            subscription = subscribe(session, mailing_list, email=row.get("email", ""), name=row.get("name") or None,
                                     confirmed=confirmed or status in ("confirmed", "active"), source=source)
    except InvalidInputError as exc:
        report.errors.append(f"line {line}: {exc}")
        return
    if before == subscription.status:
        report.unchanged += 1
    else:
        report.added += 1


def _status_of(session: Session, mailing_list: MailingList, email: str) -> str | None:
    try:
        address = normalize_email(email)
    except InvalidInputError:
        return None
    return session.scalar(
        select(Subscription.status).join(Subscriber)
        .where(Subscriber.email == address, Subscription.list_id == mailing_list.id)
    )


def unsubscribe(session: Session, *, subscriber_id: int, list_id: int) -> Subscription:
    subscription = session.scalar(select(Subscription).where(
        Subscription.list_id == list_id, Subscription.subscriber_id == subscriber_id))
    if subscription is None:
        raise NotFoundError("no such subscription")
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED.value
        subscription.unsubscribed_at = utcnow()
    return subscription


def subscriber_counts(session: Session, list_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Subscription.status).where(Subscription.list_id == list_id)
    ).scalars().all()
    return {status.value: rows.count(status.value) for status in SubscriptionStatus}
