"""Named queries of the heartbeat table and the periodic-run marks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from publisher.models import Heartbeat, PeriodicRun

# A process is alive while its last beat is younger than this many of its own intervals: two missed beats,
# and half a beat of slack for a busy database.
LIVE_BEATS = 2.5
# A dead process's row is deleted after this many intervals (kept a while so ops can see what just died).
FORGET_BEATS = 20


def beat(session: Session, row: dict, *, now: datetime) -> None:
    """Write one process's beat: an update of its row, or the row again if it was forgotten meanwhile."""
    values = {**row, "beat_at": now}
    moved = session.execute(update(Heartbeat).where(Heartbeat.id == row["id"])
                            .values({k: v for k, v in values.items() if k not in ("id", "started_at")})).rowcount
    if not moved:
        session.add(Heartbeat(**values))
    if forgotten := _forgotten(session, now):
        session.execute(delete(Heartbeat).where(Heartbeat.id.in_(forgotten)))


def _forgotten(session: Session, now: datetime) -> list[str]:
    """Rows of processes silent for many of their own intervals (the table holds one row per process: a
    handful, so reading them all is cheaper than date arithmetic that differs between SQLite and PostgreSQL)."""
    rows = session.execute(select(Heartbeat.id, Heartbeat.beat_at, Heartbeat.interval_seconds)).all()
    return [r.id for r in rows if r.beat_at < now - timedelta(seconds=FORGET_BEATS * r.interval_seconds)]


def remove(session: Session, heartbeat_id: str) -> None:
    session.execute(delete(Heartbeat).where(Heartbeat.id == heartbeat_id))


def live(session: Session, *, now: datetime, role: str | None = None) -> list[Heartbeat]:
    """The processes that beat lately, oldest first."""
    query = select(Heartbeat).order_by(Heartbeat.started_at, Heartbeat.id)
    if role:
        query = query.where(Heartbeat.role == role)
    return [h for h in session.scalars(query) if is_alive(h, now)]


def is_alive(heartbeat: Heartbeat, now: datetime) -> bool:
    return heartbeat.beat_at >= now - timedelta(seconds=LIVE_BEATS * heartbeat.interval_seconds)


def mark_run(session: Session, name: str, *, now: datetime, result: dict | None = None) -> None:
    moved = session.execute(update(PeriodicRun).where(PeriodicRun.name == name)
                            .values(at=now, result=result)).rowcount
    if not moved:
        session.add(PeriodicRun(name=name, at=now, result=result))


def last_runs(session: Session) -> dict[str, PeriodicRun]:
    return {run.name: run for run in session.scalars(select(PeriodicRun))}
