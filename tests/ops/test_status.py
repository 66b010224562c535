"""`publisher status --json` tells the truth from the database and the broker: queue depth, live workers
(heartbeats), the scheduler, failing feeds. Real Redis, real PostgreSQL, real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from tests.support.servers import Recorder


def _status(publisher) -> dict:
    return json.loads(publisher.run("status", "--json").stdout)


def _wait_for(predicate, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return value


def _queue_ticks(publisher, n: int) -> None:
    code = f"from workers.tasks import tick\nfor _ in range({n}): tick.delay()"
    subprocess.run([sys.executable, "-c", code], env=publisher.env, cwd=publisher.workdir, check=True)


@pytest.mark.redis
@pytest.mark.postgres
def test_status_json_shows_the_depth_of_tasks_queued_in_redis(scaled):
    scaled.run("init")
    _queue_ticks(scaled, 7)

    status = _status(scaled)

    celery = next(q for q in status["queues"] if q["name"] == "celery")
    assert (celery["ready"], celery["unacked"], celery["depth"]) == (7, 0, 7)
    assert status["queue"] == 7
    assert status["broker"] == {"reachable": True, "error": None}
    assert status["workers"] == [] and "no live worker: queued work waits" in status["warnings"]


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_killed_with_sigkill_leaves_the_workers_list_within_three_beats(scaled):
    scaled.env["PUBLISHER_HEARTBEAT_SECONDS"] = "1"
    scaled.run("init")
    worker = scaled.start_worker(concurrency=2)
    alive = _wait_for(lambda: _status(scaled)["workers"], "the worker's first beat")
    assert len(alive) == 1 and alive[0]["concurrency"] == 2 and alive[0]["queues"] == ["celery"]
    assert alive[0]["pid"] == worker.pid  # `publisher worker` execs celery: the same process

    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    _wait_for(lambda: _status(scaled)["workers"] == [], "the killed worker to leave the list")
    # The bound itself, on the dead worker's own last row: listed half a beat after its last beat, gone
    # three beats after it.
    from publisher.config import Settings
    from publisher.db import make_engine
    from publisher.models import Heartbeat
    from publisher.store import heartbeats
    from sqlalchemy.orm import Session

    engine = make_engine(Settings(database_url=scaled.env["PUBLISHER_DATABASE_URL"]).database_url, create=False)
    with Session(engine) as session:
        row = session.get(Heartbeat, alive[0]["id"])
        assert row is not None, "a dead worker's row is kept a while (deleted after many missed beats)"
        last = row.beat_at
        assert heartbeats.live(session, now=last + timedelta(seconds=0.5), role="worker")
        assert not heartbeats.live(session, now=last + timedelta(seconds=3), role="worker")
    engine.dispose()


@pytest.mark.redis
@pytest.mark.postgres
def test_two_live_schedulers_are_a_warning_in_status_page_and_metrics(scaled, monkeypatch):
    scaled.env["PUBLISHER_HEARTBEAT_SECONDS"] = "1"
    scaled.run("init")
    schedulers = [subprocess.Popen(scaled.command("scheduler"), cwd=scaled.workdir,
                                   env={**scaled.env, "PUBLISHER_DATA_DIR": str(scaled.workdir / f"beat{i}")},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                  for i in range(2)]
    try:
        def both_beating():
            status = _status(scaled)
            return status if len(status["scheduler"]["live"]) == 2 else None

        status = _wait_for(both_beating, "two scheduler heartbeats")
        assert any(w.startswith("2 schedulers are running") for w in status["warnings"]), status["warnings"]
        assert "warning: 2 schedulers are running" in scaled.run("status").stdout
        from tests.ops.conftest import ops_client

        client = ops_client(scaled, monkeypatch)
        assert "2 schedulers are running" in client.get("/ops").text
        assert "publisher_scheduler_duplicate 1.0" in client.get("/metrics").text
        assert "publisher_schedulers 2.0" in client.get("/metrics").text
    finally:
        for process in schedulers:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_a_failing_feed_is_listed_with_its_error(embedded):
    with Recorder() as server:
        embedded.run("init")
        embedded.run("feeds", "add", server.url())
        server.routes["/feed"] = (503, {}, b"down for maintenance")
        embedded.run("poll", check=False)

        status = _status(embedded)

    failing = status["feeds"]["failing_feeds"]
    assert [f["url"] for f in failing] == [server.url()]
    assert "503" in failing[0]["last_error"] and failing[0]["consecutive_failures"] == 1
    assert datetime.fromisoformat(failing[0]["next_poll_at"]) > datetime.fromisoformat(status["generated_at"])
    assert "503" in embedded.run("status").stdout


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_shows_the_task_in_its_hands(scaled, feed_server, blog, smtp):
    """A send held up by a slow mail server: the worker's row names send_batch and its digest; the queue
    counts the message the worker took as unacked."""
    from tests.ops.conftest import news_list

    scaled.env.update(PUBLISHER_HEARTBEAT_SECONDS="1", PUBLISHER_SMTP_TIMEOUT="120")
    news_list(scaled, feed_server.url, blog, "slow@example.com")
    smtp.stall_after_data("slow@example.com")
    scaled.start_worker(concurrency=1)
    sending = subprocess.Popen(scaled.command("digest", "send", "--list", "news", "--wait"), cwd=scaled.workdir,
                               env=scaled.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def busy():
            status = _status(scaled)
            tasks = [t for w in status["workers"] for t in w["current_tasks"]]
            return (status, tasks) if any(t["task"] == "send_batch" for t in tasks) else None

        status, tasks = _wait_for(busy, "the worker to report send_batch in hand")
        batch = next(t for t in tasks if t["task"] == "send_batch")
        assert batch["args"].startswith("(1,") and batch["id"] and batch["started_at"]
        assert status["sends"][0]["digest_id"] == 1 and status["sends"][0]["status"] == "sending"
        assert next(q for q in status["queues"] if q["name"] == "celery")["unacked"] >= 1
    finally:
        smtp.release_stalls()
        out, _ = sending.communicate(timeout=120)
    assert "sent 1" in out, out
