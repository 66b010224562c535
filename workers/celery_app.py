"""The one Celery app. Scaled: Redis carries the wake-ups. Embedded: `publisher serve` runs a worker on a
folder queue; any other process (the CLI) runs tasks in-process, the same task code either way."""

from __future__ import annotations

import os

from celery import Celery, Task

from publisher.config import get_settings
from publisher.db import session_scope
from workers import embedded_queue

# Set by `publisher serve` for the processes it starts: they share a queue in a folder.
EMBEDDED_QUEUE_ENV = "PUBLISHER_EMBEDDED_QUEUE"


def _configure(app: Celery) -> None:
    settings = get_settings()
    conf = {
        # The database is the record; the queue only wakes workers. A task that dies is redone by the
        # sweeper, so a lost message costs time, never mail.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "tick": {"task": "workers.tasks.tick", "schedule": settings.tick_seconds},
            # Every half lease: a dead worker's rows are handed out again soon after its lease ends.
            "sweep": {"task": "workers.tasks.sweep", "schedule": settings.claim_lease_seconds / 2},
        },
    }
    conf["task_always_eager"] = False  # a process reconfigured from eager (the CLI's default) must stop being so
    if not settings.embedded:
        conf["broker_url"] = settings.broker_url
        # Longer than any countdown we use, so Redis never redelivers a task that is only waiting.
        conf["broker_transport_options"] = {"visibility_timeout": 3600}
    elif queue_dir := os.environ.get(EMBEDDED_QUEUE_ENV):
        os.makedirs(queue_dir, exist_ok=True)
        # kombu's SQLAlchemy transport on its own SQLite file: transactional, unlike its folder transport,
        # whose reader can catch a message file half-written and crash the worker. Polled ten times a second
        # (workers/embedded_queue.py: a new post crosses three queue hops on its way to the inbox).
        conf["broker_url"] = embedded_queue.broker_url(os.path.join(queue_dir, "queue.sqlite"))
    else:
        conf["broker_url"] = "memory://localhost/"  # a host named: kombu warns on every send without one
        conf["task_always_eager"] = True
        conf["task_eager_propagates"] = True
    app.conf.update(conf)


class PublisherTask(Task):
    """Owns what every task needs: settings and one database session per run."""

    abstract = True

    @property
    def settings(self):
        return get_settings()

    def session(self):
        return session_scope()

    def mark_run(self, result: dict) -> dict:
        """Remember when this periodic task last ran, and what it did (ops read the scheduler's last tick)."""
        from publisher.models.base import utcnow
        from publisher.store.heartbeats import mark_run

        with self.session() as session:
            mark_run(session, self.name.rsplit(".", 1)[-1], now=utcnow(), result=result)
        return result


app = Celery("publisher", task_cls=PublisherTask, include=["workers.tasks"])
_configure(app)

import workers.signals  # noqa: E402,F401 - heartbeats and task timings, in every worker and scheduler


def reconfigure() -> None:
    """Re-read settings (tests and `publisher serve` change the environment after import)."""
    _configure(app)
