"""What ops read: who is alive (heartbeats), when periodic jobs last ran, and counters kept across processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class Heartbeat(Base):
    """One row per live worker or scheduler process, rewritten every beat. A row whose beat is older than a
    few of its own intervals belongs to a process that died: it is shown as gone, then deleted."""

    __tablename__ = "heartbeats"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)  # role@host:pid
    role: Mapped[str] = mapped_column(String(20))  # worker | scheduler
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    concurrency: Mapped[int] = mapped_column(Integer, default=0)
    interval_seconds: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The tasks in hand at the last beat: [{"task", "id", "args", "started_at"}].
    current_tasks: Mapped[list[dict]] = mapped_column(JSON, default=list)


class PeriodicRun(Base):
    """The last run of each periodic job (tick, sweep): "the scheduler's last tick" is read here."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[dict | None] = mapped_column(JSON)


class OpsCounter(Base):
    """A counter shared by every process of a deployment (feeds polled, poll errors by kind, task durations
    as histogram buckets): incremented in the database, so /metrics tells the same totals whichever web
    process is scraped, and a worker's restart loses nothing."""

    __tablename__ = "ops_counters"

    metric: Mapped[str] = mapped_column(String(100), primary_key=True)
    labels: Mapped[str] = mapped_column(String(300), primary_key=True)  # "k=v,k=v", sorted by key
    value: Mapped[float] = mapped_column(Float, default=0.0)
