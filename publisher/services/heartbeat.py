"""Heartbeats, not pings: each worker and scheduler process writes its row every few seconds from a thread of
its own, so `publisher status` and /ops read who is alive from the database in one query, whatever the size
of the fleet (Celery's `inspect ping` waits a second for answers and grows with it)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.db import make_engine
from publisher.models.base import utcnow
from publisher.store import heartbeats

log = logging.getLogger("publisher.heartbeat")


class Beating:
    """One process's heartbeat. `current_tasks` is asked at each beat for the tasks in hand."""

    def __init__(self, settings: Settings, *, role: str, queues: list[str] | None = None, concurrency: int = 0,
                 current_tasks: Callable[[], list[dict]] = list):
        self.interval = settings.heartbeat_seconds
        self.id = f"{role}@{socket.gethostname()}:{os.getpid()}"
        self._row = {"id": self.id, "role": role, "host": socket.gethostname(), "pid": os.getpid(),
                     "queues": sorted(queues or []), "concurrency": concurrency, "interval_seconds": self.interval,
                     "started_at": utcnow()}
        self._current_tasks = current_tasks
        # No pool: the thread's connections must never be inherited by a process forked meanwhile.
        self._engine = make_engine(settings.database_url, create=False, pooled=False,
                                   connect_timeout=settings.ready_timeout_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{role}", daemon=True)

    def start(self) -> Beating:
        self.beat()  # seen at once, not an interval later
        self._thread.start()
        return self

    def beat(self) -> None:
        try:
            with Session(self._engine) as session, session.begin():
                heartbeats.beat(session, {**self._row, "current_tasks": self._current_tasks()}, now=utcnow())
        except Exception as exc:  # noqa: BLE001 - a beat lost to a busy database is retried at the next one
            log.warning("heartbeat %s not written: %s", self.id, exc)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        """A clean exit: the row goes at once instead of after missed beats."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        try:
            with Session(self._engine) as session, session.begin():
                heartbeats.remove(session, self.id)
        except Exception as exc:  # noqa: BLE001 - the row then ages out like a dead process's
            log.warning("heartbeat %s not removed: %s", self.id, exc)
        self._engine.dispose()
