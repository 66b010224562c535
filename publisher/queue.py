"""Enqueue after commit, in one place (as Warehouse does): a use case asks for a task with `enqueue(session,
name, *args)`; the task is sent only when that session's transaction commits (a worker must see the rows it
was woken for) and forgotten when it rolls back (the rows it was for do not exist); a savepoint's rollback keeps them.

Tasks are named ("send_digest"), not imported: services never import workers.tasks, which imports services.
The database is the record: if sending a wake-up fails, the sweeper finds the work (see workers.tasks.sweep)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("publisher.queue")

_QUEUED = "publisher.queued_tasks"
_DISPATCH = "publisher.dispatch"

Dispatch = Callable[[str, tuple], None]


def enqueue(session: Session, task: str, *args) -> None:
    """Send workers.tasks.<task>(*args) once this session's transaction commits."""
    session.info.setdefault(_QUEUED, []).append((task, args))


def queued(session: Session) -> list[tuple[str, tuple]]:
    """What this session will send at its next commit (for tests and for callers that report it)."""
    return list(session.info.get(_QUEUED, []))


def dispatch_with(session: Session, dispatch: Dispatch) -> None:
    """Send this session's tasks with `dispatch` instead of Celery's delay (the embedded CLI runs them in a
    thread of its own so it can show progress meanwhile)."""
    session.info[_DISPATCH] = dispatch


def delay(task: str, args: tuple) -> None:
    from workers.tasks import app  # late: importing Celery costs a few hundred ms, and workers import services

    app.tasks[f"workers.tasks.{task}"].delay(*args)


def in_thread(started: list[threading.Thread], failures: list[BaseException]) -> Dispatch:
    """A dispatch that runs each task in a daemon thread (recorded in `started`; its exception in `failures`)."""
    def dispatch(task: str, args: tuple) -> None:
        def run() -> None:
            try:
                delay(task, args)
            except BaseException as exc:  # noqa: BLE001 - re-raised by whoever joins the thread
                failures.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        started.append(thread)
        thread.start()
    return dispatch


@event.listens_for(Session, "after_commit")
def _send_queued(session: Session) -> None:
    tasks = session.info.pop(_QUEUED, [])
    dispatch = session.info.get(_DISPATCH, delay)
    for task, args in tasks:
        try:
            dispatch(task, args)
        except Exception as exc:  # noqa: BLE001 - the rows are committed; the sweeper wakes a worker for them
            if _eager():
                raise  # in-process (the embedded CLI), the task's own failure is the command's failure
            log.exception("could not queue %s%s (%s); the scheduler's sweep will find the work", task, args, exc)


@event.listens_for(Session, "after_soft_rollback")
def _drop_queued(session: Session, previous_transaction) -> None:
    # Only the outermost transaction's rollback: a savepoint rolled back (a lost race on one row) leaves
    # what the transaction queued before it.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_QUEUED, None)


def _eager() -> bool:
    from workers.celery_app import app

    return bool(app.conf.task_always_eager)
