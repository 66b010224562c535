"""Use case of the bounce intake: a DSN or complaint arrives at a VERP address; the person it names stops
getting mail when the failure is permanent, a complaint, or the third soft bounce in a row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.compose.verp import parse_verp
from publisher.config import Settings
from publisher.deliver.bounces import COMPLAINT, HARD, SOFT, Failure, parse_report
from publisher.models import BounceEvent, Delivery, DeliveryStatus, Subscriber
from publisher.models.base import utcnow
from publisher.services import suppression
from publisher.services.subscribers import find_subscriber

SOFT_BOUNCES_IN_A_ROW = 3


@dataclass(frozen=True)
class Handled:
    email: str
    kind: str
    suppressed: bool


def handle_inbound(session: Session, settings: Settings, *, rcpt_tos: list[str], data: bytes) -> list[Handled]:
    """Parse one inbound message and act on each failure it reports. Unknown recipients are ignored."""
    report = parse_report(data)
    verp = next((ids for r in rcpt_tos if (ids := parse_verp(settings.resolved_secret_key(), r))), None)
    handled = []
    for failure in report.failures:
        subscriber, digest_id = _who(session, verp, failure)
        if subscriber is not None:
            handled.append(_act(session, subscriber, digest_id, failure))
    session.flush()
    return handled


def _who(session: Session, verp: tuple[int, int] | None, failure: Failure) -> tuple[Subscriber | None, int | None]:
    """The VERP address is authoritative (it is signed and names the delivery); the DSN's recipient field is
    the fallback for bounces to a plain return path."""
    if verp is not None:
        digest_id, subscriber_id = verp
        return session.get(Subscriber, subscriber_id), digest_id
    if failure.recipient:
        return find_subscriber(session, failure.recipient), None
    return None, None


def _act(session: Session, subscriber: Subscriber, digest_id: int | None, failure: Failure) -> Handled:
    session.add(BounceEvent(subscriber_id=subscriber.id, digest_id=digest_id, kind=failure.kind,
                            status=failure.status, diagnostic=failure.diagnostic, at=utcnow()))
    session.flush()
    source = f"{failure.kind} report" + (f" for digest {digest_id}" if digest_id else "") + \
             (f": {failure.status}" if failure.status else "")
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
    bounced = set(session.scalars(select(BounceEvent.digest_id).where(
        BounceEvent.subscriber_id == subscriber_id, BounceEvent.kind == SOFT)))
    if None in bounced:  # bounces we could not tie to a digest: count them as they come
        return len(session.scalars(select(BounceEvent.id).where(
            BounceEvent.subscriber_id == subscriber_id, BounceEvent.kind == SOFT)).all())
    sent = session.scalars(select(Delivery.digest_id).where(
        Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.digest_id.desc()).limit(SOFT_BOUNCES_IN_A_ROW * 2)).all()
    run = 0
    for digest_id in sent:
        if digest_id not in bounced:
            break
        run += 1
    return run
