"""Publish -> inbox latency: a WebSub push of a new post to a list of `immediate` readers, timed until the
mail is at the SMTP sink, end to end through the real processes (the web app takes the push, stores the post
and queues the compose; a worker composes, fans out and sends).

    python benchmarks/latency.py [--rounds 5] [--mode embedded|scaled|both] [--redis URL] [--postgres URL]

Embedded: `publisher serve` (web app, worker and scheduler) on SQLite and its SQLite queue. Scaled: `serve
--no-worker`, a `publisher worker` and a `publisher scheduler` on PostgreSQL and Redis. The scheduler's tick is
left at its default (60 s): an immediate list must not wait for it. Each round prints the total and where the
time went, read from the ledger's timestamps:

  push     the hub's POST until the web app answered it
  ingest   the push until the post was stored (it is in the answer above, counted from the same instant)
  compose  the post stored until its digest was composed (the compose task's queue hop included)
  queue    the digest composed until a worker claimed its recipient (send_digest, send_batch)
  send     the claim until the message was at the sink
Target: <= 2 s in both modes.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import harness

TARGET_SECONDS = 2.0
SECRET = "latency-benchmark-hub-secret"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="posts pushed, one at a time")
    parser.add_argument("--mode", choices=["embedded", "scaled", "both"], default="both")
    parser.add_argument("--redis", default=harness.DEFAULT_REDIS, help="Redis URL of the scaled run")
    parser.add_argument("--postgres", default=harness.DEFAULT_POSTGRES, help="PostgreSQL server of the scaled run")
    args = parser.parse_args()
    modes = ["embedded", "scaled"] if args.mode == "both" else [args.mode]
    worst = 0.0
    for mode in modes:
        worst = max(worst, *run(mode, rounds=args.rounds, redis_url=args.redis, postgres_url=args.postgres))
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"[latency] target <= {TARGET_SECONDS:.1f} s for every post: {verdict} (slowest {worst:.2f} s)")


def run(mode: str, *, rounds: int, redis_url: str, postgres_url: str) -> list[float]:
    from tests.support.feeds import Blog, FeedServer

    blog = Blog()
    blog.add_post("Old post")
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        smtp_url, sink_log = stack.enter_context(harness.sink(workdir))
        feed = stack.enter_context(FeedServer(blog))
        if mode == "scaled":
            database_url = stack.enter_context(harness.fresh_database(postgres_url))
            _flush(redis_url)
            broker_url = redis_url
        else:
            database_url, broker_url = f"sqlite:///{workdir / 'publisher.db'}", "embedded"
        port = harness.free_port()
        env = harness.environment(workdir, database_url=database_url, broker_url=broker_url, smtp_url=smtp_url,
                                  PUBLISHER_BASE_URL=f"http://127.0.0.1:{port}", PUBLISHER_WEBSUB="false",
                                  PUBLISHER_ALLOW_PRIVATE_NETWORKS="true")
        _cli(env, workdir, "init")
        _cli(env, workdir, "feeds", "add", feed.url)
        _cli(env, workdir, "lists", "create", "instant", "--feed", feed.url, "--cadence", "immediate")
        _cli(env, workdir, "subscribers", "add", "reader@example.com", "--list", "instant", "--confirmed")
        _subscribe_hub(database_url, feed.url)
        stack.enter_context(_services(mode, env, workdir, port))
        totals = []
        for n in range(1, rounds + 1):
            figures = _one_round(blog, n, port, sink_log, database_url)
            totals.append(figures["total"])
            print(f"[latency, {mode}] round {n}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items()))
        print(f"[latency, {mode}] push -> inbox over {rounds} posts: median {statistics.median(totals):.2f} s, "
              f"max {max(totals):.2f} s")
        return totals


def _one_round(blog, n: int, port: int, sink_log: Path, database_url: str) -> dict[str, float]:
    import httpx

    blog.add_post(f"Fresh post {n}")
    body = blog.atom()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    callback = _callback(port)  # before the clock starts: its first call imports half the publisher
    pushed_at, started = datetime.now(UTC), time.monotonic()
    answer = httpx.post(callback, content=body, timeout=30,
                        headers={"Content-Type": "application/atom+xml", "X-Hub-Signature": signature})
    answered = time.monotonic() - started
    if answer.status_code != 202:
        raise SystemExit(f"the push was answered {answer.status_code}: {answer.text}")
    while len(_received(sink_log)) < n:
        if time.monotonic() - started > 120:
            raise SystemExit(f"post {n} did not reach the sink within 120 s")
        time.sleep(0.002)
    total = time.monotonic() - started
    stored, composed, claimed = _stamps(database_url, f"Fresh post {n}")
    at_sink = pushed_at.timestamp() + total
    return {"total": total, "push": answered, "ingest": stored - pushed_at.timestamp(),
            "compose": composed - stored, "queue": claimed - composed, "send": at_sink - claimed}


def _received(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _stamps(database_url: str, title: str) -> tuple[float, float, float]:
    """When the post was stored, its digest composed and its delivery claimed (wall clock, seconds)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(_sqlalchemy_url(database_url))
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT p.first_seen_at, d.created_at, v.claimed_at FROM posts p "
            "JOIN digest_posts dp ON dp.post_id = p.id JOIN digests d ON d.id = dp.digest_id "
            "JOIN deliveries v ON v.digest_id = d.id WHERE p.title = :title"), {"title": title}).one()
    engine.dispose()
    return tuple(_seconds(value) for value in row)


def _seconds(value) -> float:
    if isinstance(value, str):  # SQLite keeps text
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _callback(port: int) -> str:
    from publisher.config import Settings
    from publisher.services.websub import callback_url

    return callback_url(Settings(base_url=f"http://127.0.0.1:{port}"), 1, SECRET)


def _subscribe_hub(database_url: str, feed_url: str) -> None:
    """An active WebSub subscription, as the hub's verification leaves it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(_sqlalchemy_url(database_url))
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO hub_subscriptions (feed_id, hub_url, topic_url, state, secret, created_at) "
            "VALUES (1, 'http://127.0.0.1:9/hub', :topic, 'active', :secret, CURRENT_TIMESTAMP)"),
            {"topic": feed_url, "secret": SECRET})
    engine.dispose()


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def _cli(env: dict, workdir: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "publisher", *args], env=env, cwd=workdir, check=True,
                   capture_output=True, text=True)


@contextmanager
def _services(mode: str, env: dict, workdir: Path, port: int):
    commands = [["serve", "--port", str(port)]] if mode == "embedded" else [
        ["serve", "--no-worker", "--port", str(port)], ["worker", "--concurrency", "2"], ["scheduler"]]
    processes = []
    log = workdir / "services.log"
    with open(log, "ab") as out:
        for command in commands:
            processes.append(subprocess.Popen([sys.executable, "-m", "publisher", *command], env=env, cwd=workdir,
                                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    try:
        _wait_ready(log, port, expected_workers=1)
        yield
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_ready(log: Path, port: int, *, expected_workers: int) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if text.count(" ready.") >= expected_workers:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    time.sleep(1.0)  # the worker's consumer settles after "ready"
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise SystemExit(f"the services did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    main()
