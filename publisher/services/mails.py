"""Use cases of transactional mail (a confirmation, a test send): queue one, send one, sweep what was left.

The asker (a sign-up request, an editor) only renders the mail and records it; a queued task sends it, so a
slow or failing mail server never slows or fails the page. The row is the record: it is claimed under a
lease before the message goes and settled after the server's reply, so a task that runs twice sends once,
and a worker killed between the 250 and its record can send that one message at most twice (once its lease
has run out), as a digest's row can."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from publisher.compose.headers import mailbox
from publisher.compose.message import check_encodable
from publisher.compose.render import RenderedDigest, render_mail
from publisher.config import Settings
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.errors import (
    DeliveryError,
    InvalidInputError,
    MailerUnavailableError,
    MessageEncodingError,
    NotFoundError,
    PermanentDeliveryError,
    PublisherError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)
from publisher.models import DeliveryStatus, Mail, MailingList
from publisher.models.base import utcnow
from publisher.queue import enqueue
from publisher.services.delivery import retry_delay
from publisher.services.messages import mail_message
from publisher.store import mails as store

log = logging.getLogger("publisher.mails")
Status = DeliveryStatus


@dataclass(frozen=True)
class Attempt:
    """What one task run came to: the row's state, and when to try again (a soft failure)."""

    status: Status
    retry_at: datetime | None = None


def queue_mail(session: Session, settings: Settings, *, kind: str, template: str, variables: dict,
               email: str, name: str | None = None, mailing_list: MailingList | None = None,
               subscriber_id: int | None = None) -> Mail:
    """Render `templates/email/<template>/` and record the mail; a worker sends it once the caller commits.
    A list's mail wears the blog's identity (title, accent, logo), as its digests do."""
    from publisher.services.identity import identity_of

    rendered = render_mail(template, variables, templates_dir=settings.resolved_templates_dir(),
                           blog=identity_of(session, mailing_list) if mailing_list else None,
                           base_url=settings.base_url)
    return queue_rendered(session, kind=kind, rendered=rendered, email=email, name=name,
                          mailing_list=mailing_list, subscriber_id=subscriber_id)


def queue_rendered(session: Session, *, kind: str, rendered: RenderedDigest, email: str, name: str | None = None,
                   mailing_list: MailingList | None = None, subscriber_id: int | None = None) -> Mail:
    check_encodable(rendered)  # a mail that can never be built is refused to its asker, not queued
    row = Mail(kind=kind, list_id=mailing_list.id if mailing_list else None, subscriber_id=subscriber_id,
               email=email, name=name, subject=rendered.subject, html=rendered.html, text=rendered.text,
               status=Status.PENDING.value, attempts=0, created_at=utcnow())
    session.add(row)
    session.flush()
    enqueue(session, "send_mail", row.id)  # if the queue is unreachable, the scheduler's sweep queues it
    return row


def deliver_mail(session: Session, settings: Settings, mail_id: int, *, mailer: Mailer | None = None,
                 now: datetime | None = None) -> Attempt | None:
    """Send one mail if it is ours to send now; None when it is settled, not due, or held by a live worker."""
    token = uuid.uuid4().hex
    row = store.claim(session, mail_id, token=token, now=now or utcnow(), lease=_lease(settings))
    if row is None:
        return None
    status, reply, retry_at = _attempt(session, settings, row, mailer)
    store.settle(session, row.id, token=token, status=status, reply=reply, now=utcnow(), next_attempt_at=retry_at)
    if status is not Status.SENT:
        log.warning("mail %s (%s) to %s: %s: %s", row.id, row.kind, row.email, status.value, reply)
    return Attempt(status, retry_at)


def _lease(settings: Settings) -> timedelta:
    # One message: connect, envelope and data may each take up to the SMTP timeout. The lease must outlast
    # a live attempt, or a second worker would take the mail while the first is still sending it.
    return timedelta(seconds=settings.claim_lease_seconds + 4 * settings.smtp_timeout)


def _attempt(session: Session, settings: Settings, row: Mail, mailer: Mailer | None
             ) -> tuple[Status, str, datetime | None]:
    if row.attempts > settings.max_attempts:
        return Status.HARD_FAILED, f"gave up after {settings.max_attempts} attempts: {row.last_reply}", None
    try:
        recipient = mailbox(row.email).addr_spec
        mail = mail_message(session, settings, row, session.get(MailingList, row.list_id) if row.list_id else None)
    except (PublisherError, ValueError, OSError) as exc:
        return Status.HARD_FAILED, f"not sent: {exc}", None  # a setting or the address: retrying cannot help
    own = mailer is None
    mailer = mailer or open_mailer(settings)
    try:
        return Status.SENT, mailer.send(envelope_from=mail.return_path, recipient=recipient,
                                        message=mail.message, message_id=mail.message_id), None
    except (MessageEncodingError, PermanentDeliveryError, InvalidInputError) as exc:
        return Status.HARD_FAILED, str(exc), None
    except UnknownDeliveryError as exc:
        if settings.unknown_policy == "retry":
            return _retry_or_give_up(settings, row, str(exc))
        return Status.UNKNOWN, str(exc), None
    except (TemporaryDeliveryError, MailerUnavailableError, DeliveryError) as exc:
        return _retry_or_give_up(settings, row, str(exc))
    finally:
        if own:
            mailer.close()


def _retry_or_give_up(settings: Settings, row: Mail, reply: str) -> tuple[Status, str, datetime | None]:
    if row.attempts >= settings.max_attempts:
        return Status.HARD_FAILED, f"gave up after {row.attempts} attempts: {reply}", None
    return Status.SOFT_FAILED, reply, utcnow() + retry_delay(settings, row.attempts - 1, reply)


def sweep(session: Session, settings: Settings, *, now: datetime | None = None) -> list[int]:
    """Mails to queue again: retries now due, a dead worker's, and new ones whose queue message was lost."""
    return store.due(session, now=now or utcnow(), quiet_for=timedelta(seconds=settings.stall_seconds))

def send_test(session: Session, settings: Settings, mailing_list: MailingList, *, to: str) -> Mail:
    """Queue the list's next digest, as `digest preview` shows it, to one address (the editor's), marked as
    a test. Nothing of the list moves: no watermark, no digest, no ledger row of a subscriber."""
    from publisher.services.digests import preview_digest
    from publisher.services.messages import TEST
    from publisher.services.subscribers import normalize_email

    address = normalize_email(to)
    rendered = preview_digest(session, settings, mailing_list).rendered
    subject = f"[Test] {rendered.subject}"
    return queue_rendered(session, kind=TEST, rendered=RenderedDigest(subject, rendered.html, rendered.text),
                          email=address, mailing_list=mailing_list)


def state(session: Session, mail_id: int) -> str:
    """'sent', 'pending' ... with the server's last reply when it was not sent."""
    row = session.get(Mail, mail_id)
    if row is None:
        raise NotFoundError(f"there is no mail #{mail_id}")
    if row.status == Status.SENT or not row.last_reply:
        return row.status
    return f"{row.status} ({row.last_reply})"