"""What ops want at a glance: the mode, the queue, the workers, feed health and sends in progress."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Feed, HubSubscription, MailingList
from publisher.models.base import utcnow
from publisher.services.controls import progress, sends_in_progress
from publisher.store.bounces import unverified_summary


def collect_status(session: Session, settings: Settings) -> dict:
    return {
        "mode": "embedded" if settings.embedded else "scaled",
        "queue": _queue_length(settings),
        "workers": _workers(settings),
        "feeds": _feeds(session),
        "sends": _sends(session),
        "bounces": unverified_summary(session, now=utcnow()),
    }


def _queue_length(settings: Settings) -> int | None:
    """Messages waiting in the broker (scaled mode); None when there is no broker to ask."""
    if settings.embedded:
        return None
    import redis

    try:
        return int(redis.Redis.from_url(settings.broker_url, socket_timeout=2).llen("celery"))
    except redis.RedisError:
        return None


def _workers(settings: Settings) -> list[str] | None:
    if settings.embedded:
        return None
    from workers.celery_app import app

    replies = app.control.inspect(timeout=1.0).ping() or {}
    return sorted(replies)


def _feeds(session: Session) -> dict:
    feeds = list(session.scalars(select(Feed).order_by(Feed.consecutive_failures.desc(), Feed.id)))
    failing = [f for f in feeds if f.consecutive_failures]
    return {
        "total": len(feeds),
        "failing": len(failing),
        "retired": sum(f.status == "retired" for f in feeds),
        "failing_feeds": [{"url": f.url, "status": f.status, "last_error": f.last_error,
                           "last_http_status": f.last_http_status, "consecutive_failures": f.consecutive_failures,
                           "last_success_at": f.last_success_at, "next_poll_at": f.next_poll_at}
                          for f in failing],
        "push": dict(Counter(session.scalars(select(HubSubscription.state)))),
    }


def _sends(session: Session) -> list[dict]:
    names = dict(session.execute(select(MailingList.id, MailingList.name)).all())
    sends = []
    for digest in sends_in_progress(session):
        p = progress(session, digest.id)
        sends.append({
            "digest_id": digest.id, "list": names.get(digest.list_id), "status": p.status, "reason": p.reason,
            "recipients": p.recipients, "sent": p.sent, "failed": p.failed, "pending": p.pending,
            "retrying": p.retrying, "rate_per_second": p.rate_per_second, "eta_seconds": p.eta_seconds,
            "started_at": digest.created_at,
        })
    return sends


