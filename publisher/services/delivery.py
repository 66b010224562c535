"""Use case of the send engine: deliver one batch of a digest, moving the ledger only after the effect.
It runs as a series of named units of work (claim, settle, release, suppress a refused address): it
commits what its caller did first, and leaves the last step (the send finished) to its caller's commit.

A batch is worked in claimed chunks on one connection: claim (pending → sending, under a lease this
process renews while it lives), then for each row send it and record it right after the server's reply
(services.claim). The next row's message is made while the server and the database work on this one's. A
worker killed mid-chunk can send twice only the message between the server's 250 and its record; the rest
of its claim comes back when the lease ends. A row whose message cannot be built or
carried fails alone, with its reason; a digest that cannot be prepared at all fails visibly instead of being
retried forever."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from publisher.compose.headers import mailbox
from publisher.compose.message import Assembled
from publisher.config import Settings
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
from publisher.models import Delivery, DeliveryStatus, MailingList
from publisher.models.base import utcnow
from publisher.services import controls, suppression
from publisher.services.claim import Claim, LeaseKeeper, Recorder
from publisher.services.messages import DigestMailing
from publisher.store import ledger
from publisher.store.ledger import Outcome


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
    # The claims are written by sessions of their own: whatever the caller wrote must be in first (on
    # SQLite an open write would lock them out), and this one reads afresh.
    session.commit()
    try:
        mailing = _prepare(session, settings, digest_id)
    except (PublisherError, ValueError, OSError) as exc:
        # The same digest would fail the same way on every retry: say so once, where a person looks.
        outcome.digest_failed = f"the digest cannot be prepared: {exc}"
        controls.fail_send(session, digest_id, reason=outcome.digest_failed)
        return outcome
    claim = Claim(digest_id, timedelta(seconds=settings.claim_lease_seconds))
    mailer = mailer or open_mailer(settings)
    engine = session.get_bind()
    try:
        with LeaseKeeper(engine, claim), Recorder(engine, claim) as recorder:
            while outcome.attempted < limit:
                chunk = ledger.claim_pending(session, digest_id=digest_id, after_id=after_id, token=claim.token,
                                             lease=claim.lease, now=utcnow(),
                                             limit=min(settings.claim_chunk, limit - outcome.attempted))
                if not chunk:
                    break  # done, or paused, or cancelled, or another worker took the rest
                after_id = chunk[-1].id
                outcome.suppressed = suppression.suppressed_among(session, [r.email for r in chunk],
                                                                  list_id=mailing.list_id)
                _send_chunk(session, _Sending(settings, mailer, mailing, recorder, claim.token), chunk, outcome)
                recorder.settled()  # the chunk's records are in before the next claim looks at the ledger
    except MailerAuthError as exc:
        # Every server refuses our login or TLS: retrying cannot help until a person fixes the settings.
        session.rollback()
        controls.pause_send(session, digest_id, reason=f"paused: {exc}")
        session.commit()  # kept although the task ends in this error
        raise
    finally:
        mailer.close()
    # The records were written by the Recorder's connection: look at the ledger afresh (SQLite keeps a read
    # transaction's snapshot) before deciding the send is over. The batch holds nothing else to keep.
    session.commit()
    controls.finish_if_settled(session, digest_id)
    return outcome


def _prepare(session: Session, settings: Settings, digest_id: int) -> DigestMailing:
    digest = controls.get_digest(session, digest_id)
    if not digest.html:
        raise InvalidInputError("it was never rendered (see the reason it failed when it was composed)")
    return DigestMailing.for_digest(session, settings, digest, session.get(MailingList, digest.list_id))


@dataclass(frozen=True)
class _Sending:
    settings: Settings
    mailer: Mailer
    mailing: DigestMailing
    recorder: Recorder
    token: str


def _send_chunk(session: Session, sending: _Sending, chunk: list[Delivery], outcome: BatchOutcome) -> None:
    messages = _ChunkMessages(sending.mailing, chunk, outcome.suppressed)
    for n, row in enumerate(chunk):
        try:
            result = _attempt(sending, row, outcome, messages, n)
        except MailerUnavailableError as exc:
            # No server took this message or the ones after it: they go back untouched.
            sending.recorder.settled()
            ledger.release(session, [r.id for r in chunk[n:]], token=sending.token, now=utcnow(), reason=str(exc))
            raise
        if result.refused:
            # A 5xx from the receiving side: the address does not take our mail, never send to it again.
            # Recorded before the row: killed in between, the row is tried again and found suppressed.
            suppression.suppress(session, row.email, reason=suppression.HARD_BOUNCE, source=f"digest:{row.digest_id}")
            session.commit()
        sending.recorder.record(result.outcome)


class _ChunkMessages:
    """The messages of a claimed chunk, each one made while the sending waits: assembled while the server
    takes the message before it (the mailer's `while_waiting`), signed when its turn comes, while the record
    of the one before travels to the database (the signature is one OpenSSL call, which lets the Recorder's
    thread run). Its envelope goes out behind the message before it (`next_envelope`). Making a message
    sends nothing, so the ledger's order is untouched; what making a row's message raised is raised when
    that row is attempted, as if it were made then."""

    def __init__(self, mailing: DigestMailing, chunk: list[Delivery], suppressed: set[str]):
        self._mailing, self._chunk, self._suppressed = mailing, chunk, suppressed
        self._assembled: dict[int, tuple[str, Assembled] | Exception] = {}

    def take(self, n: int) -> tuple[str, bytes]:
        """Row n's envelope recipient and signed message."""
        assembled = self._assembled.pop(n, None) or self._assemble(n)
        if isinstance(assembled, Exception):
            raise assembled
        recipient, message = assembled
        return recipient, message.signed()

    def assemble_next(self, n: int) -> Callable[[], None]:
        def assemble() -> None:
            if self._sent_after(n) and n + 1 not in self._assembled:
                self._assembled[n + 1] = self._assemble(n + 1)
        return assemble

    def next_envelope(self, n: int) -> tuple[str, str] | None:
        """(return path, recipient) of the row after n, when it will be sent."""
        if not self._sent_after(n):
            return None
        row = self._chunk[n + 1]
        try:
            return self._mailing.return_path(row), mailbox(row.email).addr_spec
        except (InvalidInputError, ValueError):
            return None  # its attempt says why

    def _sent_after(self, n: int) -> bool:
        """Whether a row after n is in the chunk and will be sent (a suppressed one is cancelled)."""
        return n + 1 < len(self._chunk) and self._chunk[n + 1].email not in self._suppressed

    def _assemble(self, n: int) -> tuple[str, Assembled] | Exception:
        row = self._chunk[n]
        try:
            return mailbox(row.email).addr_spec, self._mailing.assembled_for(row)
        except Exception as exc:  # noqa: BLE001 - kept for take(n), which raises it in that row's attempt
            return exc


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    refused: bool = False  # a 5xx: the address is suppressed


def _attempt(sending: _Sending, row: Delivery, outcome: BatchOutcome, messages: _ChunkMessages, n: int) -> _Result:
    settings, mailer, mailing = sending.settings, sending.mailer, sending.mailing
    if row.email in outcome.suppressed:
        # Unsubscribed, bounced or complained after the audience was frozen: their wish wins over the ledger.
        return _Result(Outcome(row.id, DeliveryStatus.CANCELLED, "suppressed after the send started"))
    try:
        recipient, message = messages.take(n)
    except (InvalidInputError, ValueError) as exc:
        # This row's data cannot make a message (a malformed address, a name no encoding takes): it fails
        # alone. Not suppressed: nothing says the address's owner refused our mail.
        return _fail(row, f"not sent: {exc}", outcome)
    try:
        # The previous row's record must be in before this message can be accepted (see claim.Recorder).
        reply = mailer.send(envelope_from=mailing.return_path(row), recipient=recipient, message=message,
                            message_id=mailing.message_id(row), before_data=sending.recorder.settled,
                            while_waiting=messages.assemble_next(n), next_envelope=messages.next_envelope(n))
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


def sweep(session: Session, settings: Settings, *, now: datetime | None = None) -> list[int]:
    """Digests with work again: rows whose lease ended (a dead worker), soft failures now due, and sends
    whose queue message was lost (no claim for a while although rows are pending)."""
    now = now or utcnow()
    requeued = ledger.requeue_expired_and_due(session, now=now, max_attempts=settings.max_attempts)
    stalled = ledger.stalled_digests(session, now=now, quiet_for=timedelta(seconds=settings.stall_seconds))
    # Handing rows back is one of the ledger's units of work (with claim, settle and release): committed
    # here, so live workers' lease renewals and records never wait behind the sweeper.
    session.commit()
    return sorted(set(requeued) | set(stalled))
