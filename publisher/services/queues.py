"""The broker as ops see it: how many messages wait in each queue, and the two things one may do to a queue
(purge it; prune the embedded queue's spent rows). The database stays the record: a purged wake-up costs
time, never mail (the sweeper requeues sends whose message was lost)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from publisher.config import Settings

log = logging.getLogger("publisher.queues")
DEFAULT_QUEUE = "celery"
# kombu's Redis transport keeps messages a worker holds (not yet acknowledged) in this hash, and a message of
# priority p > 0 in a list of its own: "<queue>\x06\x16<p>" (Celery's default steps).
_UNACKED = "unacked"
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


@dataclass
class QueueDepth:
    name: str
    ready: int  # waiting for a worker
    unacked: int | None  # taken by a worker, not yet done (None: the embedded queue cannot tell)
    depth: int  # ready + unacked: what is still to be done


class BrokerUnreachable(Exception):
    pass


def queue_depths(settings: Settings, names: set[str]) -> list[dict]:
    """Depth of each named queue (plus the default one). Raises BrokerUnreachable when Redis does not answer."""
    names = sorted(names | {DEFAULT_QUEUE})
    depths = _embedded_depths(settings) if settings.embedded else _redis_depths(settings, names)
    return [asdict(d) for d in depths]


def _redis_depths(settings: Settings, names: list[str]) -> list[QueueDepth]:
    import redis

    client = redis_client(settings)
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for key in (name, *(f"{name}{_PRIORITY_SEP}{p}" for p in _PRIORITY_STEPS)):
                    pipe.llen(key)
            lengths = pipe.execute()
        held = _unacked_by_queue(client)
    except redis.RedisError as exc:
        raise BrokerUnreachable(f"Redis did not answer: {exc}") from exc
    steps = 1 + len(_PRIORITY_STEPS)
    return [QueueDepth(name, ready := sum(lengths[i * steps:(i + 1) * steps]), held.get(name, 0),
                       ready + held.get(name, 0)) for i, name in enumerate(names)]


def _unacked_by_queue(client) -> dict[str, int]:
    """Each held message is [payload, exchange, routing key]; the routing key names its queue. A handful of
    entries (prefetch 1 per worker process, plus retries waiting their countdown)."""
    counts: dict[str, int] = {}
    for _tag, value in client.hscan_iter(_UNACKED, count=500):
        try:
            queue = json.loads(value)[2] or DEFAULT_QUEUE
        except (ValueError, IndexError, TypeError):
            queue = DEFAULT_QUEUE
        counts[queue] = counts.get(queue, 0) + 1
    return counts


def redis_client(settings: Settings):
    import redis

    timeout = settings.ready_timeout_seconds
    return redis.Redis.from_url(settings.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout)


def embedded_queue_file(settings: Settings) -> Path:
    """Where `publisher serve` keeps its queue (services.runner names the folder for its children)."""
    from workers.celery_app import EMBEDDED_QUEUE_ENV

    folder = os.environ.get(EMBEDDED_QUEUE_ENV) or str((settings.data_dir / "queue").resolve())
    return Path(folder) / "queue.sqlite"


def _embedded_depths(settings: Settings) -> list[QueueDepth]:
    """kombu's SQLAlchemy transport: a waiting message is a visible row. Rows it has handed out stay in the
    table (invisible) whether or not they were acknowledged, so "unacked" cannot be told here."""
    path = embedded_queue_file(settings)
    if not path.exists():
        return []
    try:
        with _sqlite(path) as db:
            rows = db.execute("SELECT q.name, COUNT(m.id) FROM kombu_queue q LEFT JOIN kombu_message m "
                              "ON m.queue_id = q.id AND m.visible = 1 GROUP BY q.name ORDER BY q.name").fetchall()
    except sqlite3.Error as exc:
        raise BrokerUnreachable(f"the embedded queue {path} cannot be read: {exc}") from exc
    return [QueueDepth(name, ready, None, ready) for name, ready in rows]


@contextlib.contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=10)
    try:
        with connection:  # commits, or rolls back on error
            yield connection
    finally:
        connection.close()


def prune_embedded_queue() -> int:
    """Delete the embedded queue's spent rows. kombu's SQLAlchemy transport marks a message it hands out
    invisible and never deletes it, so the file would grow by every task ever run. Deleting them is safe:
    a message handed out but not acknowledged is held by the worker in memory, and put back as a new row
    if it is never acknowledged. Runs in the worker (which knows its queue) at each tick; returns the count."""
    from workers.celery_app import EMBEDDED_QUEUE_ENV

    if not (folder := os.environ.get(EMBEDDED_QUEUE_ENV)):
        return 0
    path = Path(folder) / "queue.sqlite"
    if not path.exists():
        return 0
    try:
        with _sqlite(path) as db:
            return db.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount
    except sqlite3.Error as exc:
        log.warning("embedded queue not pruned: %s", exc)
        return 0


def purge_queue(name: str) -> int:
    """Drop every waiting message of one queue; returns how many. Messages a worker holds are not touched."""
    from workers.celery_app import app

    with app.connection_for_write() as connection:
        return int(connection.default_channel.queue_purge(name) or 0)
