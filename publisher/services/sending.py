"""Use cases of an editor's send: send now, send a test, pause / resume / cancel a send in progress, and the
fan-out that starts one. The CLI, the pages and the API call these; the caller owns the transaction, and
the workers are woken once it commits (publisher.queue)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.models import Digest, DigestStatus
from publisher.queue import enqueue
from publisher.services import controls
from publisher.services import digests as digest_service
from publisher.services.lists import get_list
from publisher.services.previews import preview_for
from publisher.services.subscribers import normalize_email

TEST_PREFIX = "[Test] "


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
    reply: str  # the mail server's answer


def test_send(session: Session, settings: Settings, *, list_name: str, to: str,
              mailer: Mailer | None = None) -> TestSend:
    """Send the list's next digest, exactly as it will go, to one address (subject marked as a test). Records
    nothing: no ledger row, no watermark moves. Raises InvalidInputError for a malformed address and the
    mailer's DeliveryError when the server refuses it."""
    address = normalize_email(to)
    preview = preview_for(session, settings, list_name=list_name, to=address, subject_prefix=TEST_PREFIX)
    mailer = mailer or open_mailer(settings)
    try:
        reply = mailer.send(envelope_from=preview.envelope_from, recipient=address, message=preview.eml,
                            message_id=preview.message_id)
    finally:
        mailer.close()
    return TestSend(to=address, subject=preview.subject, reply=reply)


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
