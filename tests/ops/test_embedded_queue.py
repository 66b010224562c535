"""The embedded queue (kombu's SQLAlchemy transport on SQLite): its depth is read from its file, and the rows
of messages already handed out are pruned, so the file does not grow by every task ever run."""

from __future__ import annotations

import sqlite3

from kombu import Connection, Exchange, Queue

from publisher.config import Settings
from publisher.services import queues
from workers.celery_app import EMBEDDED_QUEUE_ENV


def _rows(path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        visible, spent = db.execute("SELECT SUM(visible = 1), SUM(visible = 0) FROM kombu_message").fetchone()
    return visible or 0, spent or 0


def test_spent_rows_are_pruned_and_waiting_ones_kept(tmp_path, monkeypatch):
    folder = tmp_path / "queue"
    folder.mkdir()
    monkeypatch.setenv(EMBEDDED_QUEUE_ENV, str(folder))
    path = folder / "queue.sqlite"
    queue = Queue("celery", Exchange("celery"), routing_key="celery")
    with Connection(f"sqla+sqlite:///{path}") as connection:
        producer = connection.Producer()
        for i in range(8):
            producer.publish({"n": i}, exchange=queue.exchange, routing_key="celery", declare=[queue])
        taken = []
        with connection.Consumer(queue, callbacks=[lambda body, message: (taken.append(body), message.ack())]):
            while len(taken) < 5:
                connection.drain_events(timeout=5)
    settings = Settings(data_dir=tmp_path, _env_file=None)
    assert _rows(path)[1] >= 5  # handed out and acknowledged, yet still in the file
    assert queues.queue_depths(settings, set()) == [{"name": "celery", "ready": _rows(path)[0], "unacked": None,
                                                     "depth": _rows(path)[0]}]

    pruned = queues.prune_embedded_queue()

    visible, spent = _rows(path)
    assert pruned >= 5 and spent == 0
    assert visible == 8 - len(taken)  # what waits is never touched
    assert queues.queue_depths(settings, set())[0]["depth"] == visible


def test_pruning_is_a_no_op_outside_the_embedded_worker(tmp_path, monkeypatch):
    monkeypatch.delenv(EMBEDDED_QUEUE_ENV, raising=False)
    assert queues.prune_embedded_queue() == 0
