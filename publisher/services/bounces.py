"""Use case of the bounce intake: a DSN or complaint arrives; the person it is about stops getting mail when
the failure is permanent, a complaint, or the third soft bounce in a row.

Anyone can send us a report naming anyone, so a report is believed only when it proves which delivery it is
about: it came to the signed VERP address of that delivery, or (complaints mostly come to a plain address)
it encloses our message with its signed Message-ID. The delivery must still be in the ledger, for the same
address. Anything else is logged and counted as unverified (`publisher status`), and changes nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy

from sqlalchemy.orm import Session

from publisher.compose.verp import parse_mail_verp, parse_message_id, parse_verp
from publisher.config import Settings
from publisher.deliver.bounces import COMPLAINT, HARD, SOFT, Failure, Report, parse_report
from publisher.models import BounceEvent, Mail, Subscriber
from publisher.models.base import utcnow
from publisher.errors import InvalidInputError, NotFoundError
from publisher.services import links, suppression
from publisher.services.subscribers import unsubscribe
from publisher.store import bounces as store
from publisher.tokens import UNSUBSCRIBE, read_token

log = logging.getLogger("publisher.bounces")

SOFT_BOUNCES_IN_A_ROW = 3


@dataclass(frozen=True)
class Handled:
    email: str
    kind: str
    suppressed: bool


@dataclass(frozen=True)
class Unverified:
    kind: str
    reason: str


@dataclass
class Intake:
    """What one inbound message did: acted on one person, or was counted as unverified (or neither, when it
    was no failure report at all: an auto-reply, spam ...)."""

    handled: list[Handled] = field(default_factory=list)
    unverified: list[Unverified] = field(default_factory=list)


def handle_inbound(session: Session, settings: Settings, *, rcpt_tos: list[str], data: bytes) -> Intake:
    """Parse one inbound message; act on the delivery it proves to be about, or count it as unverified.
    A reader's unsubscribe mail (the List-Unsubscribe mailto) carrying its signed token unsubscribes them."""
    if (asked := _unsubscribe_by_mail(session, settings, data)) is not None:
        return Intake(handled=[asked])
    report = parse_report(data)
    if report.is_empty:
        return Intake()
    failure = report.worst()
    if mail_ids := [i for rcpt in rcpt_tos if (i := parse_mail_verp(settings.resolved_secret_key(), rcpt))]:
        return _mail_report(session, failure, mail_ids[0], rcpt_tos)
    ids, reason = _signed_identity(settings.resolved_secret_key(), rcpt_tos, report)
    found = store.delivery_of(session, digest_id=ids[0], subscriber_id=ids[1]) if ids else None
    if found is None:
        reason = reason or "the delivery it names is no longer in the ledger (subscriber removed)"
        return _unverified(session, failure, reason, rcpt_tos)
    delivery, subscriber = found
    handled = _act(session, subscriber, delivery.digest_id, failure)
    session.flush()
    return Intake(handled=[handled])


def _mail_report(session: Session, failure: Failure, mail_id: int, rcpt_tos: list[str]) -> Intake:
    """A report to the signed VERP address of a transactional mail (a confirmation, a test): the address it
    went to refused it for good, or complained of it, so nothing more is mailed there. A soft bounce of a
    one-off mail changes nothing."""
    mail = session.get(Mail, mail_id)
    if mail is None:
        return _unverified(session, failure, "the mail it names is no longer in the ledger (wiped)", rcpt_tos)
    mail.last_reply = f"{failure.kind} report: {failure.status or ''} {failure.diagnostic or ''}".strip()[:1000]
    if failure.kind not in (HARD, COMPLAINT):
        return Intake(handled=[Handled(mail.email, SOFT, False)])
    reason = suppression.COMPLAINT if failure.kind == COMPLAINT else suppression.HARD_BOUNCE
    suppression.suppress(session, mail.email, reason=reason, source=f"{failure.kind} report for mail {mail.id}")
    session.flush()
    return Intake(handled=[Handled(mail.email, failure.kind, True)])


# The List-Unsubscribe mailto prefills this subject (services.messages): "unsubscribe <signed token>".
_UNSUBSCRIBE_SUBJECT = re.compile(r"^\s*(?:re:\s*)?unsubscribe\s+(\S+)\s*$", re.IGNORECASE)


def _unsubscribe_by_mail(session: Session, settings: Settings, data: bytes) -> Handled | None:
    """The token, not the From line, says who: only the mailbox that received the digest holds it."""
    subject = str(message_from_bytes(data, policy=email_policy.default).get("Subject", ""))
    match = _UNSUBSCRIBE_SUBJECT.match(" ".join(subject.split()))
    if match is None:
        return None
    key = settings.resolved_secret_key()
    try:
        subscription = links.subscription(session, key, read_token(key, UNSUBSCRIBE, match.group(1)))
    except (InvalidInputError, NotFoundError):
        log.warning("an unsubscribe mail with a token that is not ours (or no longer valid): nothing done")
        return None
    unsubscribe(session, subscriber_id=subscription.subscriber_id, list_id=subscription.list_id, source="mailto")
    session.flush()
    return Handled(subscription.subscriber.email, "unsubscribe", suppressed=True)


def _signed_identity(secret_key: str, rcpt_tos: list[str], report: Report
                     ) -> tuple[tuple[int, int] | None, str | None]:
    """(digest_id, subscriber_id) from a signed VERP recipient, else from the one signed Message-ID of the
    enclosed original. A valid VERP address decides alone: whatever the body says cannot move the report
    to someone else."""
    for rcpt in rcpt_tos:
        if ids := parse_verp(secret_key, rcpt):
            return ids, None
    signed = {ids for value in report.original_message_ids if (ids := parse_message_id(secret_key, value))}
    if len(report.original_message_ids) == 1 and len(signed) == 1:
        return signed.pop(), None
    if report.original_message_ids and signed:
        return None, "the enclosed message has several Message-IDs"
    return None, "neither a signed VERP recipient nor a signed Message-ID of ours"


def _unverified(session: Session, failure: Failure, reason: str, rcpt_tos: list[str]) -> Intake:
    rcpt = ", ".join(rcpt_tos) or None
    store.record_unverified(session, kind=failure.kind, reason=reason, rcpt=rcpt, now=utcnow())
    log.warning("unverified %s report to %s naming %s: %s; nothing done", failure.kind, rcpt or "(no recipient)",
                failure.recipient or "nobody", reason)
    return Intake(unverified=[Unverified(failure.kind, reason)])


def _act(session: Session, subscriber: Subscriber, digest_id: int, failure: Failure) -> Handled:
    session.add(BounceEvent(subscriber_id=subscriber.id, digest_id=digest_id, kind=failure.kind,
                            status=failure.status, diagnostic=failure.diagnostic, at=utcnow()))
    session.flush()
    source = f"{failure.kind} report for digest {digest_id}" + (f": {failure.status}" if failure.status else "")
    if failure.kind in (HARD, COMPLAINT):
        reason = suppression.COMPLAINT if failure.kind == COMPLAINT else suppression.HARD_BOUNCE
        suppression.suppress(session, subscriber.email, reason=reason, source=source)
        return Handled(subscriber.email, failure.kind, True)
    if _soft_in_a_row(session, subscriber.id) >= SOFT_BOUNCES_IN_A_ROW:
        suppression.suppress(session, subscriber.email, reason=suppression.SOFT_BOUNCES,
                             source=f"{SOFT_BOUNCES_IN_A_ROW} soft bounces in a row, last {source}")
        return Handled(subscriber.email, SOFT, True)
    return Handled(subscriber.email, SOFT, False)


def _soft_in_a_row(session: Session, subscriber_id: int) -> int:
    """How many of the subscriber's latest digests, newest first without a gap, soft-bounced. A digest sent
    after the last bounce, and not bounced, breaks the row."""
    bounced = set(store.soft_bounced_digests(session, subscriber_id))
    if None in bounced:  # bounces recorded before every report named its digest: count them as they come
        return len(store.soft_bounced_digests(session, subscriber_id))
    run = 0
    for digest_id in store.latest_sent_digests(session, subscriber_id, limit=SOFT_BOUNCES_IN_A_ROW * 2):
        if digest_id not in bounced:
            break
        run += 1
    return run
