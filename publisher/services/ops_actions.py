"""An admin's hand on the machinery, each act audited in the same transaction: retry a failed row or send,
pause a send, requeue a send whose queue message was lost, purge a queue. The entry point (the /ops route)
commits, then queues what the function returns: a worker must see the change before it is woken."""

from __future__ import annotations

from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import Delivery, Digest, DigestStatus
from publisher.models.base import utcnow
from publisher.services import audit, controls, queues
from publisher.store import ledger, retries

ACTIONS = {
    "retry-row": "Retry this failed delivery",
    "retry-send": "Retry this failed or paused send",
    "pause-send": "Pause this send",
    "requeue-send": "Requeue this send (its queue message was lost)",
    "purge-queue": "Purge this queue (drop every waiting message)",
}


def retry_row(session: Session, actor, delivery_id: int) -> int:
    """Returns the digest to wake."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFoundError(f"no delivery #{delivery_id}")
    digest = controls.get_digest(session, row.digest_id)
    if digest.status not in (DigestStatus.SENDING, DigestStatus.SENT, DigestStatus.PAUSED):
        raise InvalidInputError(f"digest #{digest.id} is {digest.status}: retry the send, not one row")
    previous = row.status
    if retries.retry_row(session, delivery_id, now=utcnow(), reason="retried by an admin") is None:
        raise InvalidInputError(f"delivery #{delivery_id} is {row.status}, not failed")
    audit.record(session, actor, "delivery_retried", f"delivery #{delivery_id}",
                 {"digest_id": digest.id, "was": previous})
    return digest.id


def retry_send(session: Session, actor, digest_id: int) -> int:
    controls.resume_send(session, digest_id)
    audit.record(session, actor, "resumed", f"digest #{digest_id}", {"by": "ops"})
    return digest_id


def pause_send(session: Session, actor, digest_id: int) -> None:
    controls.pause_send(session, digest_id, reason="paused by an admin")
    audit.record(session, actor, "paused", f"digest #{digest_id}", {"by": "ops"})


def requeue_send(session: Session, actor, digest_id: int) -> int:
    """Queue a send again now, without waiting for the sweeper (PUBLISHER_STALL_SECONDS). Safe twice over:
    rows are claimed under leases, so a second wake-up finds nothing it may take twice."""
    digest = controls.get_digest(session, digest_id)
    if digest.status != DigestStatus.SENDING:
        raise InvalidInputError(f"digest #{digest_id} is {digest.status}: only a running send can be requeued")
    unsettled = ledger.unsettled_count(session, digest_id)
    audit.record(session, actor, "requeued", f"digest #{digest_id}", {"unsettled": unsettled})
    return digest_id


def purge_queue(session: Session, actor, name: str) -> int:
    """Drop the messages waiting in a queue. Nothing is lost for good: the sweeper requeues sends that still
    have rows to send, and the scheduler's next tick polls what is due."""
    if not name or len(name) > 200:
        raise InvalidInputError("a queue name is needed")
    purged = queues.purge_queue(name)
    audit.record(session, actor, "queue_purged", f"queue {name}", {"messages": purged})
    return purged


def describe_target(session: Session, action: str, target: str) -> str:
    """What the confirmation page names: the digest, the row or the queue."""
    if action == "purge-queue":
        return f"queue {target!r}"
    if action == "retry-row":
        row = session.get(Delivery, parse_id(target))
        if row is None:
            raise NotFoundError(f"no delivery #{target}")
        return f"delivery #{row.id} to {row.email} (digest #{row.digest_id}, {row.status}: {row.last_reply or '-'})"
    digest = session.get(Digest, parse_id(target))
    if digest is None:
        raise NotFoundError(f"no digest #{target}")
    return f"digest #{digest.id} ({digest.status}{': ' + digest.status_reason if digest.status_reason else ''})"


def parse_id(target: str) -> int:
    if not target.isdigit():
        raise InvalidInputError(f"{target!r} is not an id")
    return int(target)
