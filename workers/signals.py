"""What every worker and scheduler process does besides its tasks: log our way (structured, redacted, with
the ids of the task in hand), beat (a heartbeat row), time each task into the shared duration histogram.
Connected once, when the Celery app is imported."""

from __future__ import annotations

import atexit
import logging
import time
from datetime import UTC, datetime

from celery import signals

from publisher import logs
from publisher.config import get_settings

log = logging.getLogger("publisher.worker")
TASK_DURATION = "publisher_task_duration_seconds"
_beating = {}
_started: dict[str, float] = {}
_bound: dict[str, object] = {}
# Which argument of a task names what it works on, for the ids on each log line.
TASK_SUBJECTS = {"send_digest": "digest_id", "send_batch": "digest_id", "poll_feed": "feed_id",
                 "crosspost": "crosspost_id"}


@signals.setup_logging.connect
def _setup_logging(loglevel=None, **_kwargs) -> None:
    """Connected, so Celery leaves the logging to us: the same format and redaction as every process."""
    logs.configure_logging(get_settings(), loglevel or logging.INFO)


@signals.worker_process_init.connect
def _pool_child_started(**_kwargs) -> None:
    import os
    import socket

    logs.set_process_ids(worker_id=f"worker@{socket.gethostname()}:{os.getppid()}")


@signals.worker_ready.connect
def _worker_ready(sender=None, **_kwargs) -> None:
    from publisher.services.heartbeat import Beating

    consumer = sender
    queues = [q.name for q in getattr(consumer.task_consumer, "queues", [])] if consumer.task_consumer else []
    concurrency = getattr(consumer.controller, "concurrency", 0) or 0
    _beating["worker"] = Beating(get_settings(), role="worker", queues=queues or ["celery"],
                                 concurrency=int(concurrency), current_tasks=_tasks_in_hand).start()
    logs.set_process_ids(worker_id=_beating["worker"].id)


@signals.worker_shutdown.connect
def _worker_shutdown(**_kwargs) -> None:
    if beating := _beating.pop("worker", None):
        beating.stop()


@signals.beat_init.connect
def _scheduler_started(sender=None, **_kwargs) -> None:
    from publisher.services.heartbeat import Beating

    beating = _beating["scheduler"] = Beating(get_settings(), role="scheduler").start()
    logs.set_process_ids(worker_id=beating.id)
    atexit.register(beating.stop)  # beat has no shutdown signal


def _tasks_in_hand() -> list[dict]:
    """Read in the worker's main process, which tracks every request its pool runs (no message to the
    children, whatever the pool)."""
    from celery.worker import state

    tasks = []
    for request in list(state.active_requests):
        started = getattr(request, "time_start", None)
        tasks.append({"task": request.task_name.rsplit(".", 1)[-1], "id": request.id,
                      "args": str(getattr(request, "argsrepr", ""))[:200],
                      "started_at": datetime.fromtimestamp(started, UTC).isoformat() if started else None})
    return tasks


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, args=None, **_kwargs) -> None:
    _started[task_id] = time.monotonic()
    name = task.name.rsplit(".", 1)[-1] if task else None
    ids = {"task_id": task_id, "task": name}
    if (subject := TASK_SUBJECTS.get(name)) and args:
        ids[subject] = ",".join(str(a) for a in args) if subject == "feed_id" else args[0]
    _bound[task_id] = logs.bind(**ids)


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_kwargs) -> None:
    if (token := _bound.pop(task_id, None)) is not None:
        try:
            logs.unbind(token)
        except ValueError:  # bound in another context (a thread pool's): it ends with that context
            pass
    began = _started.pop(task_id, None)
    if began is None or task is None or task.request.is_eager:
        return  # eager: the CLI runs it inside its own transaction; a second writer there would wait on it
    from publisher.db import session_scope
    from publisher.store import counters

    try:
        with session_scope() as session:
            counters.observe_duration(session, TASK_DURATION, {"task": task.name.rsplit(".", 1)[-1],
                                                               "state": (state or "unknown").lower()},
                                      time.monotonic() - began)
    except Exception as exc:  # noqa: BLE001 - a lost observation must not fail the task that was timed
        log.warning("task duration not recorded: %s", exc)
