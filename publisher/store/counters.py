"""Counters shared by every process, kept in the database (see models.ops.OpsCounter)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from publisher.models import OpsCounter

# Task durations are counted into these buckets (seconds): a Prometheus histogram, read at scrape time.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, float("inf"))


def label_key(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def parse_labels(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",") if part)


def add(session: Session, metric: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
    """Add to one counter in the caller's transaction (created at its first use)."""
    key = label_key(labels)
    moved = session.execute(update(OpsCounter).where(OpsCounter.metric == metric, OpsCounter.labels == key)
                            .values(value=OpsCounter.value + amount)).rowcount
    if moved:
        return
    try:
        with session.begin_nested():
            session.add(OpsCounter(metric=metric, labels=key, value=amount))
    except IntegrityError:  # another process created it at the same moment: add to theirs
        session.execute(update(OpsCounter).where(OpsCounter.metric == metric, OpsCounter.labels == key)
                        .values(value=OpsCounter.value + amount))


def observe_duration(session: Session, metric: str, labels: Mapping[str, str], seconds: float) -> None:
    """One observation of a histogram: the one bucket it falls in (made cumulative when read, so an
    observation costs three small updates, not one per bucket), the count and the sum."""
    bound = next(b for b in DURATION_BUCKETS if seconds <= b)
    add(session, f"{metric}_bucket", {**labels, "le": _bound(bound)})
    add(session, f"{metric}_count", labels)
    add(session, f"{metric}_sum", labels, seconds)


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def read(session: Session, prefix: str = "") -> dict[str, dict[str, float]]:
    """{metric: {label key: value}} of every counter whose name starts with prefix."""
    values: dict[str, dict[str, float]] = {}
    for row in session.scalars(select(OpsCounter).where(OpsCounter.metric.startswith(prefix))):
        values.setdefault(row.metric, {})[row.labels] = row.value
    return values
