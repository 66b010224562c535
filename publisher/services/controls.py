"""The state of a send and an editor's hand on it: pause, resume, cancel (the entry point commits; see
services.sending for the use cases that also wake the workers); its progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from publisher.errors import NotFoundError, StateError
from publisher.models import Digest, DigestStatus, MailingList
from publisher.models.base import utcnow
from publisher.store import ledger


def get_digest(session: Session, digest_id: int) -> Digest:
    digest = session.get(Digest, digest_id)
    if digest is None:
        raise NotFoundError(f"no digest #{digest_id} (see `publisher status`)")
    return digest


def latest_digest(session: Session, mailing_list: MailingList) -> Digest:
    digest = session.scalar(select(Digest).where(Digest.list_id == mailing_list.id).order_by(Digest.id.desc()))
    if digest is None:
        raise NotFoundError(f"list {mailing_list.name!r} has sent no digest yet")
    return digest


def pause_send(session: Session, digest_id: int, *, reason: str = "paused by an editor") -> Digest:
    """Workers finish the message in hand and claim nothing more; nothing is lost."""
    _move(session, digest_id, DigestStatus.SENDING, DigestStatus.PAUSED, reason)
    return get_digest(session, digest_id)


def resume_send(session: Session, digest_id: int) -> Digest:
    """A paused send, or a failed one whose cause was fixed (a setting, the sender): the caller queues it
    again (workers.tasks.send_digest) after this commits."""
    digest = get_digest(session, digest_id)
    if digest.status == DigestStatus.FAILED and not digest.html:
        raise StateError(f"digest #{digest_id} failed before it was rendered ({digest.status_reason}); "
                                f"it holds nothing to send: let it go with `publisher digest cancel {digest_id}`")
    _move(session, digest_id, (DigestStatus.PAUSED, DigestStatus.FAILED), DigestStatus.SENDING, None)
    return get_digest(session, digest_id)


def fail_send(session: Session, digest_id: int, *, reason: str) -> None:
    """A send that cannot go on by itself (its digest cannot be prepared): nothing more is claimed, its
    rows stay pending, the reason shows in `publisher status` until a person resumes or cancels it.
    A unit of work of its own (the batch that found the failure has nothing else to keep)."""
    session.rollback()
    session.execute(update(Digest).where(Digest.id == digest_id, Digest.status == DigestStatus.SENDING)
                    .values(status=DigestStatus.FAILED.value, status_reason=reason[:2000], finished_at=utcnow()))
    session.commit()


def cancel_send(session: Session, digest_id: int) -> int:
    """Stop for good: rows not yet attempted are cancelled. Returns how many."""
    digest = get_digest(session, digest_id)
    if digest.status not in (DigestStatus.SENDING, DigestStatus.PAUSED, DigestStatus.FAILED):
        raise StateError(f"digest #{digest_id} is {digest.status}: only a send in progress can be cancelled")
    digest.status, digest.status_reason, digest.finished_at = DigestStatus.CANCELLED.value, "cancelled", utcnow()
    return ledger.cancel_unsent(session, digest_id, now=utcnow())


def _move(session: Session, digest_id: int, source: DigestStatus | tuple[DigestStatus, ...], target: DigestStatus,
          reason: str | None) -> None:
    sources = source if isinstance(source, tuple) else (source,)
    moved = session.execute(
        update(Digest).where(Digest.id == digest_id, Digest.status.in_(sources))
        .values(status=target.value, status_reason=reason, finished_at=None)
    ).rowcount
    if not moved:
        digest = get_digest(session, digest_id)
        raise StateError(f"digest #{digest_id} is {digest.status}, not {' or '.join(sources)}")


@dataclass(frozen=True)
class Progress:
    digest_id: int
    status: str
    reason: str | None
    recipients: int
    sent: int
    failed: int
    pending: int
    retrying: int
    cancelled: int
    rate_per_second: float  # now: over the last RATE_WINDOW (less when the send began more recently)
    eta_seconds: float | None

    @property
    def settled(self) -> int:
        return self.sent + self.failed + self.cancelled


# The rate shown is the current one: a sliding window of the last seconds. (An average over a minute read as
# slow for the first minute of every send, and lagged behind a pause or a provider's throttle.)
RATE_WINDOW = timedelta(seconds=10)


def progress(session: Session, digest_id: int, *, now: datetime | None = None) -> Progress:
    digest = get_digest(session, digest_id)
    counts = ledger.progress(session, digest_id)
    now = now or utcnow()
    window = min(RATE_WINDOW, max(now - digest.created_at, timedelta(seconds=1)))
    rate = ledger.sent_since(session, digest_id, now - window) / window.total_seconds()
    pending = counts["pending"] + counts["sending"]
    return Progress(
        digest_id=digest_id, status=digest.status, reason=digest.status_reason, recipients=digest.recipient_count,
        sent=counts["sent"], failed=counts["hard_failed"] + counts["unknown"], pending=pending,
        retrying=counts["soft_failed"], cancelled=counts["cancelled"], rate_per_second=round(rate, 2),
        eta_seconds=round((pending + counts["soft_failed"]) / rate, 1) if rate > 0 else None,
    )


def finish_if_settled(session: Session, digest_id: int) -> bool:
    """Mark the send finished once no row is left to attempt; True when it is over."""
    digest = get_digest(session, digest_id)
    if digest.status == DigestStatus.SENDING and not ledger.has_unsettled(session, digest_id):
        digest.status, digest.finished_at = DigestStatus.SENT.value, utcnow()
        session.flush()
    return digest.status not in (DigestStatus.SENDING, DigestStatus.PAUSED)


def sends_in_progress(session: Session) -> list[Digest]:
    """Sends going on, paused or failed: every send a person may have to act on."""
    active = (DigestStatus.SENDING, DigestStatus.PAUSED, DigestStatus.FAILED)
    return list(session.scalars(select(Digest).where(Digest.status.in_(active)).order_by(Digest.id)))
