"""What ops want at a glance, told from the database and the broker (never by asking workers): queue depths,
live workers and their tasks, the scheduler, sends in progress, failed and retrying work, failing feeds.
The dictionary is `publisher status --json` (fields documented in the README, kept stable) and the /ops page."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Crosspost, CrosspostStatus, CrosspostTarget, Delivery, DeliveryStatus, Feed, \
    HubSubscription, MailingList
from publisher.models.base import utcnow
from publisher.services import queues
from publisher.services.controls import progress, sends_in_progress
from publisher.store import heartbeats
from publisher.store.bounces import unverified_summary

STATUS_VERSION = 1
FAILED_ROWS_SHOWN = 50
FAILED_DELIVERY = (DeliveryStatus.HARD_FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.SOFT_FAILED)


def collect_status(session: Session, settings: Settings) -> dict:
    now = utcnow()
    workers = [_worker(h) for h in heartbeats.live(session, now=now, role="worker")]
    schedulers = [_worker(h) for h in heartbeats.live(session, now=now, role="scheduler")]
    broker = _broker(settings, {q for w in workers for q in w["queues"]})
    runs = heartbeats.last_runs(session)
    report = {
        "version": STATUS_VERSION,
        "generated_at": now,
        "mode": "embedded" if settings.embedded else "scaled",
        "broker": broker["broker"],
        "queues": broker["queues"],
        "queue": sum(q["depth"] for q in broker["queues"]) if broker["broker"]["reachable"] else None,
        "workers": workers,
        "scheduler": {"live": schedulers, "last_tick_at": _run_at(runs, "tick"),
                      "last_sweep_at": _run_at(runs, "sweep")},
        "feeds": _feeds(session),
        "sends": _sends(session),
        "failures": _failures(session),
        "bounces": unverified_summary(session, now=now),
    }
    report["warnings"] = _warnings(report)
    return report


def _broker(settings: Settings, names: set[str]) -> dict:
    try:
        return {"broker": {"reachable": True, "error": None}, "queues": queues.queue_depths(settings, names)}
    except queues.BrokerUnreachable as exc:
        return {"broker": {"reachable": False, "error": str(exc)}, "queues": []}


def _worker(h) -> dict:
    return {"id": h.id, "host": h.host, "pid": h.pid, "queues": h.queues, "concurrency": h.concurrency,
            "started_at": h.started_at, "last_beat_at": h.beat_at, "beat_interval_seconds": h.interval_seconds,
            "current_tasks": h.current_tasks or []}


def _run_at(runs: dict, name: str):
    return runs[name].at if name in runs else None


def _warnings(report: dict) -> list[str]:
    warnings = []
    if len(report["scheduler"]["live"]) > 1:
        where = ", ".join(s["id"] for s in report["scheduler"]["live"])
        warnings.append(f"{len(report['scheduler']['live'])} schedulers are running ({where}): run exactly one, "
                        "or every periodic job runs once per scheduler")
    if not report["broker"]["reachable"]:
        warnings.append(f"broker unreachable: {report['broker']['error']}")
    if report["mode"] == "scaled" and not report["workers"]:
        warnings.append("no live worker: queued work waits")
    return warnings


def _feeds(session: Session) -> dict:
    feeds = list(session.scalars(select(Feed).order_by(Feed.consecutive_failures.desc(), Feed.id)))
    failing = [f for f in feeds if f.consecutive_failures]
    return {
        "total": len(feeds),
        "failing": len(failing),
        "retired": sum(f.status == "retired" for f in feeds),
        "failing_feeds": [{"id": f.id, "url": f.url, "name": f.display_name, "status": f.status,
                           "last_error": f.last_error, "last_http_status": f.last_http_status,
                           "consecutive_failures": f.consecutive_failures, "last_attempt_at": f.last_attempt_at,
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


def _failures(session: Session) -> dict:
    """Ledger rows that failed or wait to retry, newest first, and cross-posts likewise."""
    counts = dict(session.execute(select(Delivery.status, func.count()).where(Delivery.status.in_(FAILED_DELIVERY))
                                  .group_by(Delivery.status)).all())
    rows = session.scalars(select(Delivery).where(Delivery.status.in_(FAILED_DELIVERY))
                           .order_by(Delivery.id.desc()).limit(FAILED_ROWS_SHOWN))
    crossposts = session.execute(
        select(Crosspost, CrosspostTarget.name).join(CrosspostTarget, CrosspostTarget.id == Crosspost.target_id)
        .where(Crosspost.status.in_([CrosspostStatus.FAILED, CrosspostStatus.RETRYING]))
        .order_by(Crosspost.id.desc()).limit(FAILED_ROWS_SHOWN)).all()
    return {
        "deliveries": {status.value: counts.get(status.value, 0) for status in FAILED_DELIVERY},
        "delivery_rows": [{"delivery_id": d.id, "digest_id": d.digest_id, "email": d.email, "status": d.status,
                           "attempts": d.attempts, "last_error": d.last_reply, "next_attempt_at": d.next_attempt_at}
                          for d in rows],
        "crossposts": [{"crosspost_id": c.id, "post_id": c.post_id, "target": target, "status": c.status,
                        "attempts": c.attempts, "last_error": c.last_error, "next_attempt_at": c.next_attempt_at}
                       for c, target in crossposts],
    }
