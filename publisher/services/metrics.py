"""/metrics, read from the database and the broker at scrape time.

Why not prometheus-client's multiprocess mode: it aggregates the processes of one machine that share a
folder, but our workers are prefork children on several machines (`--scale worker=N`), and the web process
that is scraped sends nothing itself. The ledger already records every message, the heartbeats every worker,
the broker every waiting task; what has no row of its own (feed polls, poll errors, task durations) is
counted in ops_counters by the process that did it. So any web process, scraped any time, gives the same
deployment-wide totals, and no restart resets a counter."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Crosspost, CrosspostTarget, DeliveryEvent, DeliveryStatus, Digest, Feed, Post
from publisher.models.base import utcnow
from publisher.services import queues
from publisher.store import counters, heartbeats
from publisher.store.poll_counts import POLL_ERRORS, POLLS

MESSAGE_RESULTS = (DeliveryStatus.SENT, DeliveryStatus.SOFT_FAILED, DeliveryStatus.HARD_FAILED, DeliveryStatus.UNKNOWN)
TASK_DURATION = "publisher_task_duration_seconds"
RATE_WINDOW = timedelta(seconds=60)


def render_metrics(session: Session, settings: Settings) -> bytes:
    """The Prometheus text format of everything below."""
    families = [*_feeds(session), *_messages(session), *_workers(session, settings), *_crossposts(session),
                _durations(session)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)


class _Snapshot:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def _counter(name: str, doc: str, label: str, values: dict[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _labelled(stored: dict[str, dict[str, float]], metric: str, label: str) -> dict[str, float]:
    return {counters.parse_labels(key).get(label, ""): value for key, value in stored.get(metric, {}).items()}


def _feeds(session: Session) -> list:
    stored = counters.read(session, "publisher_feed_")
    polls = {"ok": 0.0, "not_modified": 0.0, "error": 0.0} | _labelled(stored, POLLS, "result")
    failing = GaugeMetricFamily("publisher_feeds_failing", "Feeds whose last poll failed.",
                                value=session.scalar(select(func.count()).where(Feed.consecutive_failures > 0)))
    return [
        _counter("publisher_feed_polls", "Feed polls, by result.", "result", polls),
        _counter("publisher_feed_poll_errors", "Failed feed polls, by kind.", "kind",
                 _labelled(stored, POLL_ERRORS, "kind")),
        failing,
        CounterMetricFamily("publisher_posts_ingested", "Posts stored from feeds.",
                            value=session.scalar(select(func.count(Post.id)))),
        CounterMetricFamily("publisher_digests_composed", "Digests composed.",
                            value=session.scalar(select(func.count(Digest.id)))),
    ]


def _messages(session: Session) -> list:
    """From the ledger's events: every attempt's outcome is one event (a message soft-failed twice, then sent,
    counts twice in soft_failed and once in sent)."""
    counts = dict(session.execute(
        select(DeliveryEvent.status, func.count())
        .where(DeliveryEvent.status.in_([s.value for s in MESSAGE_RESULTS])).group_by(DeliveryEvent.status)).all())
    recent = session.scalar(select(func.count()).where(DeliveryEvent.status == DeliveryStatus.SENT.value,
                                                        DeliveryEvent.at >= utcnow() - RATE_WINDOW))
    return [
        _counter("publisher_messages", "Delivery attempts, by result.", "result",
                 {s.value: float(counts.get(s.value, 0)) for s in MESSAGE_RESULTS}),
        GaugeMetricFamily("publisher_send_rate_per_second", "Messages sent per second over the last minute.",
                          value=recent / RATE_WINDOW.total_seconds()),
    ]


def _workers(session: Session, settings: Settings) -> list:
    now = utcnow()
    workers = heartbeats.live(session, now=now, role="worker")
    schedulers = heartbeats.live(session, now=now, role="scheduler")
    families = [
        GaugeMetricFamily("publisher_workers", "Live worker processes (by heartbeat).", value=len(workers)),
        GaugeMetricFamily("publisher_worker_concurrency", "Task slots of the live workers.",
                          value=sum(w.concurrency for w in workers)),
        GaugeMetricFamily("publisher_schedulers", "Live schedulers (by heartbeat); more than 1 is a mistake.",
                          value=len(schedulers)),
        GaugeMetricFamily("publisher_scheduler_duplicate", "1 when more than one scheduler is alive.",
                          value=int(len(schedulers) > 1)),
    ]
    depth = GaugeMetricFamily("publisher_queue_depth", "Messages waiting in a queue (ready + taken, not done).",
                              labels=["queue"])
    try:
        for queue in queues.queue_depths(settings, {q for w in workers for q in w.queues}):
            depth.add_metric([queue["name"]], queue["depth"])
        up = 1
    except queues.BrokerUnreachable:
        up = 0
    return [*families, depth, GaugeMetricFamily("publisher_broker_up", "1 when the broker answered.", value=up)]


def _crossposts(session: Session) -> list:
    family = CounterMetricFamily("publisher_crossposts", "Cross-posts, by target and current state.",
                                 labels=["target", "result"])
    rows = session.execute(select(CrosspostTarget.name, Crosspost.status, func.count())
                           .join(CrosspostTarget, CrosspostTarget.id == Crosspost.target_id)
                           .group_by(CrosspostTarget.name, Crosspost.status)).all()
    for target, status, n in rows:
        family.add_metric([target, status], n)
    return [family]


def _durations(session: Session) -> HistogramMetricFamily:
    """Stored per bucket (see store.counters.observe_duration); Prometheus wants them cumulative."""
    stored = counters.read(session, TASK_DURATION)
    family = HistogramMetricFamily(TASK_DURATION, "Task run time, by task and final state.",
                                   labels=["task", "state"])
    series: dict[tuple[str, str], dict] = {}
    for key, value in stored.get(f"{TASK_DURATION}_bucket", {}).items():
        labels = counters.parse_labels(key)
        series.setdefault((labels["task"], labels["state"]), {})[labels["le"]] = value
    sums = {tuple(counters.parse_labels(k)[n] for n in ("task", "state")): v
            for k, v in stored.get(f"{TASK_DURATION}_sum", {}).items()}
    for labels, buckets in sorted(series.items()):
        running, cumulative = 0.0, []
        for bound in counters.DURATION_BUCKETS:
            le = "+Inf" if bound == float("inf") else repr(bound)
            running += buckets.get(le, 0.0)
            cumulative.append((le, running))
        family.add_metric(list(labels), cumulative, sum_value=sums.get(labels, 0.0))
    return family
