"""Use cases of an editor's send: send now, send a test, pause / resume / cancel a send in progress, and the
fan-out that starts one. The CLI, the pages and the API call these; the caller owns the transaction, and
the workers are woken once it commits (publisher.queue)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Digest, DigestStatus
from publisher.queue import enqueue
from publisher.services import controls, mails
from publisher.services import digests as digest_service
from publisher.services.lists import get_list

def send_now(session: Session, settings: Settings, *, list_name: str) -> Digest | None:
    """Compose what is new since the list's last digest for every confirmed subscriber and queue its send.
    None when nothing is new. A digest that cannot be rendered comes back FAILED, with its reason, unqueued."""
    digest = digest_service.compose_digest(session, settings, get_list(session, list_name))
    if digest is not None and digest.status == DigestStatus.SENDING and digest.recipient_count:
        enqueue(session, "send_digest", digest.id)
    return digest


@dataclass(frozen=True)
class TestSend:
    to: str
    subject: str
    mail_id: int  # its row in the mails ledger: `mails.state` tells how it went


def test_send(session: Session, settings: Settings, *, list_name: str, to: str) -> TestSend:
    """Queue the list's next digest, exactly as it will go, to one address (subject marked as a test), by the
    one path of transactional mail (signed, VERP, retried, a ledger row). Nothing of the list moves: no
    digest, no watermark. InvalidInputError for a malformed address; a worker sends it once the caller commits
    (the embedded CLI's worker runs at the commit, in process)."""
    mail = mails.send_test(session, settings, get_list(session, list_name), to=to)
    return TestSend(to=mail.email, subject=mail.subject, mail_id=mail.id)


def start_send(session: Session, settings: Settings, digest_id: int) -> int:
    """Fan a send out into batches (queued after commit); mark it finished if nothing is left. How many."""
    from publisher.services.delivery import batch_plan

    starts = batch_plan(session, settings, digest_id)
    for after_id in starts:
        enqueue(session, "send_batch", digest_id, after_id, settings.batch_size)
    controls.finish_if_settled(session, digest_id)
    return len(starts)


def pause(session: Session, digest_id: int) -> controls.Progress:
    """Workers finish the message in hand and claim no more. InvalidInputError unless it is sending."""
    controls.pause_send(session, digest_id)
    return controls.progress(session, digest_id)


def resume(session: Session, digest_id: int) -> controls.Progress:
    """Go on with a paused send (or a failed one whose cause was fixed); workers are woken after commit."""
    controls.resume_send(session, digest_id)
    enqueue(session, "send_digest", digest_id)
    return controls.progress(session, digest_id)


def cancel(session: Session, digest_id: int) -> tuple[int, controls.Progress]:
    """Stop for good; (recipients who will not get it, progress)."""
    cancelled = controls.cancel_send(session, digest_id)
    return cancelled, controls.progress(session, digest_id)


def target_digest(session: Session, *, digest_id: int | None = None, list_name: str | None = None) -> int:
    """The send a person names: by id, or the latest of a list."""
    from publisher.errors import InvalidInputError

    if digest_id is not None:
        return controls.get_digest(session, digest_id).id
    if list_name:
        return controls.latest_digest(session, get_list(session, list_name)).id
    raise InvalidInputError("name the send: a DIGEST_ID or --list NAME")
