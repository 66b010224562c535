"""Use case of the send engine: deliver one batch of a digest, moving the ledger only after the effect.

A batch is worked in small claimed chunks on one connection: claim (pending → sending), send each message,
then settle the chunk in one transaction. A worker killed mid-chunk leaves at most one chunk in `sending`,
which the sweeper hands back: the only messages that can go out twice are the ones in flight at the kill."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.errors import (
    MailerAuthError,
    MailerUnavailableError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)
from publisher.models import Delivery, DeliveryStatus, Digest, MailingList
from publisher.models.base import utcnow
from publisher.services import controls, suppression
from publisher.services.messages import DigestMailing
from publisher.store import ledger
from publisher.store.ledger import Outcome


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)  # 5xx: the address does not take our mail
    suppressed: set[str] = field(default_factory=set)  # of the chunk in hand

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.deferred


def batch_plan(session: Session, settings: Settings, digest_id: int) -> list[int]:
    """`after_id` of each batch still to send."""
    return ledger.batch_starts(session, digest_id=digest_id, batch_size=settings.batch_size)


def deliver_batch(session: Session, settings: Settings, *, digest_id: int, after_id: int, limit: int,
                  mailer: Mailer | None = None) -> BatchOutcome:
    """Send up to `limit` pending rows after `after_id`, a claimed chunk at a time, on one connection."""
    outcome = BatchOutcome()
    digest = session.get(Digest, digest_id)
    mailing = DigestMailing.for_digest(settings, digest, session.get(MailingList, digest.list_id))
    mailer = mailer or open_mailer(settings)
    try:
        while outcome.attempted < limit:
            chunk = ledger.claim_pending(session, digest_id=digest_id, after_id=after_id,
                                         limit=min(settings.claim_chunk, limit - outcome.attempted), now=utcnow())
            if not chunk:
                break  # done, or paused, or cancelled, or another worker took the rest
            after_id = chunk[-1].id
            outcome.suppressed = suppression.suppressed_among(session, [r.email for r in chunk],
                                                              list_id=mailing.list_id)
            _send_chunk(session, settings, mailer, mailing, chunk, outcome)
    except MailerAuthError as exc:
        # Every server refuses our login or TLS: retrying cannot help until a person fixes the settings.
        controls.pause_send(session, digest_id, reason=f"paused: {exc}")
        raise
    finally:
        mailer.close()
    controls.finish_if_settled(session, digest_id)
    return outcome


def _send_chunk(session, settings, mailer, mailing: DigestMailing, chunk: list[Delivery],
                outcome: BatchOutcome) -> None:
    results: list[Outcome] = []
    try:
        for row in chunk:
            results.append(_attempt(settings, mailer, mailing, row, outcome))
    except MailerUnavailableError as exc:
        ledger.settle(session, results, now=utcnow())
        ledger.release(session, [r.id for r in chunk[len(results):]], now=utcnow(), reason=str(exc))
        raise
    finally:
        _suppress_refused(session, outcome)
    ledger.settle(session, results, now=utcnow())


def _attempt(settings: Settings, mailer: Mailer, mailing: DigestMailing, row: Delivery,
             outcome: BatchOutcome) -> Outcome:
    if row.email in outcome.suppressed:
        # Unsubscribed, bounced or complained after the audience was frozen: their wish wins over the ledger.
        return Outcome(row.id, DeliveryStatus.CANCELLED, "suppressed after the send started")
    try:
        reply = mailer.send(envelope_from=mailing.return_path(row), recipient=row.email,
                            message=mailing.message_for(row), message_id=mailing.message_id(row))
    except TemporaryDeliveryError as exc:
        return _retry_or_give_up(settings, row, str(exc), outcome)
    except UnknownDeliveryError as exc:
        if settings.unknown_policy == "retry":
            return _retry_or_give_up(settings, row, str(exc), outcome)
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: {exc}")
        return Outcome(row.id, DeliveryStatus.UNKNOWN, str(exc))
    except PermanentDeliveryError as exc:
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: {exc}")
        outcome.refused.append(row)
        return Outcome(row.id, DeliveryStatus.HARD_FAILED, str(exc))
    outcome.sent += 1
    return Outcome(row.id, DeliveryStatus.SENT, reply)


def _retry_or_give_up(settings: Settings, row: Delivery, reply: str, outcome: BatchOutcome) -> Outcome:
    if row.attempts + 1 >= settings.max_attempts:
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: gave up after {row.attempts + 1} attempts: {reply}")
        return Outcome(row.id, DeliveryStatus.HARD_FAILED, f"gave up after {row.attempts + 1} attempts: {reply}")
    outcome.deferred += 1
    return Outcome(row.id, DeliveryStatus.SOFT_FAILED, reply,
                   next_attempt_at=utcnow() + retry_delay(settings, row.attempts, reply))


_HINT = re.compile(r"(?:retry|try again)\D{0,20}(\d+)\s*(s|sec|seconds?|m|min|minutes?)\b", re.IGNORECASE)


def retry_delay(settings: Settings, attempts: int, reply: str) -> timedelta:
    """Exponential backoff with jitter, so one outage's retries do not arrive together; a server that says
    when to come back ("try again in 5 minutes") is taken at its word, if that is later."""
    backoff = settings.retry_base_seconds * 2 ** attempts * random.uniform(0.8, 1.2)
    if hint := _HINT.search(reply):
        seconds = int(hint.group(1)) * (60 if hint.group(2).lower().startswith("m") else 1)
        backoff = max(backoff, min(seconds, 6 * 3600))
    return timedelta(seconds=backoff)


def _suppress_refused(session: Session, outcome: BatchOutcome) -> None:
    """A 5xx from the receiving side means the address does not take our mail: never send to it again."""
    for row in outcome.refused:
        suppression.suppress(session, row.email, reason=suppression.HARD_BOUNCE, source=f"digest:{row.digest_id}")
    outcome.refused.clear()


def sweep(session: Session, settings: Settings) -> list[int]:
    """Digests with work again: rows stuck in SENDING (a dead worker), soft failures now due, and sends whose
    queue message was lost (no claim for a while although rows are pending)."""
    now = utcnow()
    requeued = ledger.requeue_stuck_and_due(session, now=now,
                                            sending_timeout=timedelta(seconds=settings.sending_timeout_seconds))
    stalled = ledger.stalled_digests(session, now=now, quiet_for=timedelta(seconds=settings.stall_seconds))
    return sorted(set(requeued) | set(stalled))

