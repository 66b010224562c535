"""Named queries on subscribers and their subscriptions."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from publisher.models import MailingList, Subscriber, Subscription


def search(session: Session, *, list_id: int | None, text: str, status: str | None, limit: int,
           offset: int) -> tuple[int, list[tuple[Subscription, str]]]:
    """(how many match, one page of (subscription, list name)): subscriptions whose address or name
    contains `text`."""
    query = (select(Subscription, MailingList.name).join(Subscriber, Subscriber.id == Subscription.subscriber_id)
             .join(MailingList, MailingList.id == Subscription.list_id))
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    if status:
        query = query.where(Subscription.status == status)
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(Subscriber.email).like(pattern, escape="\\"),
                                func.lower(Subscriber.name).like(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.execute(query.order_by(Subscription.id).limit(limit).offset(offset)).all()
    return total or 0, [(subscription, name) for subscription, name in page]


def subscription_of(session: Session, *, subscriber_id: int, list_id: int) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber_id,
                                                     Subscription.list_id == list_id))
