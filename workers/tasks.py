"""Thin tasks: ids in, one service call, result recorded. No logic lives here."""

from __future__ import annotations

import logging

from publisher.errors import MailerAuthError, MailerUnavailableError
from publisher.models.base import utcnow
from publisher.services import crosspost as crossposting, delivery, feeds, mails, queues, schedule, sending
from workers.celery_app import app

log = logging.getLogger("publisher.tasks")


@app.task(bind=True, max_retries=10)
def send_digest(self, digest_id: int) -> int:
    """Fan a digest out into batches; returns how many batches were queued."""
    with self.session() as session:
        return sending.start_send(session, self.settings, digest_id)


@app.task(bind=True, max_retries=10)
def send_batch(self, digest_id: int, after_id: int, limit: int) -> dict:
    try:
        with self.session() as session:
            outcome = delivery.deliver_batch(session, self.settings, digest_id=digest_id, after_id=after_id,
                                             limit=limit)
    except MailerAuthError as exc:
        # The send is paused with the reason; retrying cannot help until the settings are fixed.
        log.error("digest %s paused: %s", digest_id, exc)
        if self.app.conf.task_always_eager:
            raise
        return {"paused": str(exc)}
    except MailerUnavailableError as exc:
        if self.app.conf.task_always_eager:
            raise
        # Short, well under the broker's visibility timeout; the sweeper covers us if this is lost.
        log.warning("digest %s: %s; retrying in a minute", digest_id, exc)
        raise self.retry(exc=exc, countdown=60) from exc
    if outcome.digest_failed:
        log.error("digest %s failed: %s", digest_id, outcome.digest_failed)
        return {"failed_digest": outcome.digest_failed}
    return {"sent": outcome.sent, "failed": outcome.failed, "deferred": outcome.deferred}


@app.task(bind=True, max_retries=None)
def send_mail(self, mail_id: int) -> str | None:
    """Send one transactional mail (a confirmation, a test); the state it settled in (None: not ours now)."""
    with self.session() as session:
        attempt = mails.deliver_mail(session, self.settings, mail_id)
    if attempt is None:
        return None
    if attempt.retry_at is not None and not self.app.conf.task_always_eager:
        # The row says when; the sweeper would find it too, this only saves waiting for its round.
        raise self.retry(countdown=max(0.0, (attempt.retry_at - utcnow()).total_seconds()))
    return attempt.status.value


@app.task(bind=True)
def poll_feed(self, *feed_ids: int) -> dict:
    """Poll these feeds concurrently (one connection pool), storing each result as it arrives."""
    with self.session() as session:
        results = feeds.poll_feeds(session, self.settings, feeds.feeds_by_id(session, feed_ids))
    return {"new": sum(len(r.new) for r in results), "updated": sum(len(r.updated) for r in results),
            "errors": [r.error for r in results if r.error]}


@app.task(bind=True)
def sweep(self) -> dict:
    """Hand back the rows of dead workers (their lease ended) and the retries now due; requeue lost sends.
    Runs every half lease, so a dead worker's rows go out again within ~1.5 leases of its death."""
    with self.session() as session:
        swept = schedule.sweep(session, self.settings)
    return self.mark_run({"resumed": swept.resumed, "crossposts": swept.crossposts, "mails": swept.mails})


@app.task(bind=True)
def tick(self) -> dict:
    """The scheduler's heartbeat: poll what is due, compose what is due."""
    with self.session() as session:
        done = schedule.tick(session, self.settings, utcnow())
    queues.prune_embedded_queue()
    return self.mark_run({"polled": done.polled, "composed": done.composed})


@app.task(bind=True)
def compose_news(self, *feed_ids: int) -> dict:
    """The watcher stored news from these feeds: compose the immediate digests of the lists following them."""
    with self.session() as session:
        composed = [d.id for d in schedule.compose_immediate(session, self.settings, feed_ids, utcnow())]
        for digest_id in composed:
            # Its batches are queued from here: a send_digest in between would be one more queue hop of latency.
            sending.start_send(session, self.settings, digest_id)
    return {"composed": composed}


@app.task(bind=True)
def crosspost(self, crosspost_id: int) -> str | None:
    """Post one cross-post ledger row; the state it settled in (None: not ours to post)."""
    with self.session() as session:
        return crossposting.deliver(session, self.settings, crosspost_id)
