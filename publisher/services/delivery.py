"""Use case of the send engine: deliver one batch of a digest, moving the ledger only after the effect.

A batch is worked in small claimed chunks on one connection: claim (pending → sending, under a lease this
process renews while it lives), then for each row send and settle it at once (a cheap commit). A worker
killed mid-chunk can send twice only the message between the server's 250 and its record; the rest of its
claim comes back when the lease ends. A row whose message cannot be built or carried fails alone, with its
reason; a digest that cannot be prepared at all fails visibly instead of being retried forever."""

from __future__ import annotations

import logging
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from publisher.compose.headers import mailbox
from publisher.config import Settings
from publisher.db import record_connection
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.errors import (
    InvalidInputError,
    MailerAuthError,
    MailerUnavailableError,
    MessageEncodingError,
    PermanentDeliveryError,
    PublisherError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)
from publisher.models import Delivery, DeliveryStatus, Digest, MailingList
from publisher.models.base import utcnow
from publisher.services import controls, suppression
from publisher.services.messages import DigestMailing
from publisher.store import ledger
from publisher.store.ledger import Outcome

log = logging.getLogger("publisher.delivery")


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    suppressed: set[str] = field(default_factory=set)  # of the chunk in hand
    digest_failed: str | None = None  # why the digest could not be prepared

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
    try:
        mailing = _prepare(session, settings, digest_id)
    except (PublisherError, ValueError, OSError) as exc:
        # The same digest would fail the same way on every retry: say so once, where a person looks.
        outcome.digest_failed = f"the digest cannot be prepared: {exc}"
        controls.fail_send(session, digest_id, reason=outcome.digest_failed)
        return outcome
    claim = _Claim(uuid.uuid4().hex, timedelta(seconds=settings.claim_lease_seconds))
    mailer = mailer or open_mailer(settings)
    engine = session.get_bind()
    try:
        with LeaseKeeper(engine, digest_id=digest_id, token=claim.token, lease=claim.lease), \
                record_connection(engine) as records:
            while outcome.attempted < limit:
                chunk = ledger.claim_pending(session, digest_id=digest_id, after_id=after_id, token=claim.token,
                                             lease=claim.lease, now=utcnow(),
                                             limit=min(settings.claim_chunk, limit - outcome.attempted))
                if not chunk:
                    break  # done, or paused, or cancelled, or another worker took the rest
                after_id = chunk[-1].id
                outcome.suppressed = suppression.suppressed_among(session, [r.email for r in chunk],
                                                                  list_id=mailing.list_id)
                _send_chunk(session, records, _Sending(settings, mailer, mailing, claim.token), chunk, outcome)
    except MailerAuthError as exc:
        # Every server refuses our login or TLS: retrying cannot help until a person fixes the settings.
        controls.pause_send(session, digest_id, reason=f"paused: {exc}")
        raise
    finally:
        mailer.close()
    controls.finish_if_settled(session, digest_id)
    return outcome


def _prepare(session: Session, settings: Settings, digest_id: int) -> DigestMailing:
    digest = controls.get_digest(session, digest_id)
    if not digest.html:
        raise InvalidInputError("it was never rendered (see the reason it failed when it was composed)")
    return DigestMailing.for_digest(settings, digest, session.get(MailingList, digest.list_id))


@dataclass(frozen=True)
class _Claim:
    token: str  # one per batch run: the rows this run holds
    lease: timedelta


@dataclass(frozen=True)
class _Sending:
    settings: Settings
    mailer: Mailer
    mailing: DigestMailing
    token: str


def _send_chunk(session: Session, records: Connection, sending: _Sending, chunk: list[Delivery],
                outcome: BatchOutcome) -> None:
    for n, row in enumerate(chunk):
        try:
            result = _attempt(sending.settings, sending.mailer, sending.mailing, row, outcome)
        except MailerUnavailableError as exc:
            # No server took this message or the ones after it: they go back untouched.
            ledger.release(session, [r.id for r in chunk[n:]], token=sending.token, now=utcnow(), reason=str(exc))
            raise
        if result.refused:
            # A 5xx from the receiving side: the address does not take our mail, never send to it again.
            # Recorded before the row: killed in between, the row is tried again and found suppressed.
            suppression.suppress(session, row.email, reason=suppression.HARD_BOUNCE, source=f"digest:{row.digest_id}")
            session.commit()
        ledger.settle(records, result.outcome, token=sending.token, now=utcnow())


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    refused: bool = False

    @property
    def status(self) -> DeliveryStatus:
        return self.outcome.status


def _attempt(settings: Settings, mailer: Mailer, mailing: DigestMailing, row: Delivery,
             outcome: BatchOutcome) -> _Result:
    if row.email in outcome.suppressed:
        # Unsubscribed, bounced or complained after the audience was frozen: their wish wins over the ledger.
        return _Result(Outcome(row.id, DeliveryStatus.CANCELLED, "suppressed after the send started"))
    try:
        recipient, message = mailbox(row.email).addr_spec, mailing.message_for(row)
    except (InvalidInputError, ValueError) as exc:
        # This row's data cannot make a message (a malformed address, a name no encoding takes): it fails
        # alone. Not suppressed: nothing says the address's owner refused our mail.
        return _fail(row, f"not sent: {exc}", outcome)
    try:
        reply = mailer.send(envelope_from=mailing.return_path(row), recipient=recipient, message=message,
                            message_id=mailing.message_id(row))
    except MessageEncodingError as exc:
        return _fail(row, f"not sent: {exc}", outcome)
    except TemporaryDeliveryError as exc:
        return _Result(_retry_or_give_up(settings, row, str(exc), outcome))
    except UnknownDeliveryError as exc:
        if settings.unknown_policy == "retry":
            return _Result(_retry_or_give_up(settings, row, str(exc), outcome))
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: {exc}")
        return _Result(Outcome(row.id, DeliveryStatus.UNKNOWN, str(exc)))
    except PermanentDeliveryError as exc:
        return _fail(row, str(exc), outcome, refused=True)
    outcome.sent += 1
    return _Result(Outcome(row.id, DeliveryStatus.SENT, reply))


def _fail(row: Delivery, reason: str, outcome: BatchOutcome, *, refused: bool = False) -> _Result:
    outcome.failed += 1
    outcome.errors.append(f"{row.email!r}: {reason}")
    return _Result(Outcome(row.id, DeliveryStatus.HARD_FAILED, reason), refused=refused)


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


class LeaseKeeper:
    """Keeps one batch run's claims alive while this process lives: a thread renews them every quarter
    lease, on its own connection, whatever the sending thread is waiting for (a slow server's reply). A
    killed worker stops renewing, and its rows come back to the sweeper within a lease."""

    def __init__(self, engine: Engine, *, digest_id: int, token: str, lease: timedelta):
        self.engine, self.digest_id, self.token, self.lease = engine, digest_id, token, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{token[:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        with Session(self.engine) as session:
            while not self._stop.wait(self.lease.total_seconds() / 4):
                try:
                    ledger.renew_lease(session, digest_id=self.digest_id, token=self.token,
                                       until=utcnow() + self.lease)
                except SQLAlchemyError as exc:  # the next round tries again; the lease covers three misses
                    session.rollback()
                    log.warning("digest %s: could not renew the claim lease: %s", self.digest_id, exc)


def sweep(session: Session, settings: Settings, *, now: datetime | None = None) -> list[int]:
    """Digests with work again: rows whose lease ended (a dead worker), soft failures now due, and sends
    whose queue message was lost (no claim for a while although rows are pending)."""
    now = now or utcnow()
    requeued = ledger.requeue_expired_and_due(session, now=now, max_attempts=settings.max_attempts)
    stalled = ledger.stalled_digests(session, now=now, quiet_for=timedelta(seconds=settings.stall_seconds))
    return sorted(set(requeued) | set(stalled))
