"""Thin tasks: ids in, one service call, result recorded. No logic lives here."""

from __future__ import annotations

import logging
from datetime import timedelta

from publisher.errors import MailerUnavailableError
from publisher.models.base import utcnow
from publisher.services import delivery, digests, feeds, schedule
from workers.celery_app import app

log = logging.getLogger("publisher.tasks")


@app.task(bind=True, max_retries=10)
def send_digest(self, digest_id: int) -> int:
    """Fan a digest out into batches; returns how many batches were queued."""
    with self.session() as session:
        starts = delivery.batch_plan(session, self.settings, digest_id)
        digests.finish_if_settled(session, digest_id)
    for after_id in starts:
        send_batch.delay(digest_id, after_id, self.settings.batch_size)
    return len(starts)


@app.task(bind=True, max_retries=10)
def send_batch(self, digest_id: int, after_id: int, limit: int) -> dict:
    try:
        with self.session() as session:
            outcome = delivery.deliver_batch(session, self.settings, digest_id=digest_id, after_id=after_id,
                                             limit=limit)
    except MailerUnavailableError as exc:
        if self.app.conf.task_always_eager:
            raise
        log.warning("digest %s: %s; retrying in a minute", digest_id, exc)
        raise self.retry(exc=exc, countdown=60) from exc
    return {"sent": outcome.sent, "failed": outcome.failed, "deferred": outcome.deferred}


@app.task(bind=True)
def poll_feed(self, feed_id: int) -> dict:
    from publisher.models import Feed

    with self.session() as session:
        result = feeds.refresh_feed(session, self.settings, session.get(Feed, feed_id))
    return {"new": len(result.new), "updated": len(result.updated), "error": result.error}


@app.task(bind=True)
def tick(self) -> dict:
    """The scheduler's heartbeat: poll what is due, compose what is due, hand stuck work back."""
    now = utcnow()
    with self.session() as session:
        due = feeds.claim_due_feeds(session, now, lease=timedelta(minutes=5))
    for feed_id in due:
        poll_feed.delay(feed_id)
    with self.session() as session:
        composed = [d.id for d in schedule.compose_due_digests(session, self.settings, now)]
        resumed = delivery.sweep(session, self.settings)
    for digest_id in sorted(set(composed) | set(resumed)):
        send_digest.delay(digest_id)
    return {"polled": len(due), "composed": composed, "resumed": resumed}
