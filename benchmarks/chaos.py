"""Chaos runs of the delivery engine. Each prints its figures, counted by what the SMTP sink received per
recipient: the ledger never grades itself.

    python benchmarks/chaos.py [--recipients 10000] [--only kill,flush,pause,apps,faults]

  kill    kill -9 the worker 5 times at random moments: 0 missed, at most 1 duplicate per killed sending process
          (a prefork child holding a claim at the kill: the message between the server's 250 and our record)
  flush   Redis flushed at 30% and 70%: 0 missed, 0 duplicates
  pause   10 pause/resume cycles: 0 missed, 0 duplicates
  apps    two app instances (separate brokers) on one database: 0 duplicates
  faults  SMTP answering 20% 421/451, 5% 550, dropping 2% after DATA: every 4xx recipient delivered within 6
          attempts, no retry of a 550, 550s suppressed, drops recorded as unknown

Needs Redis and PostgreSQL (PUBLISHER_TEST_REDIS_URL, PUBLISHER_TEST_DATABASE_URL; defaults: this machine's).
PUBLISHER_BENCH_REDIS_URL overrides the Redis database, PUBLISHER_BENCH_SECOND_REDIS_URL the second app's
broker in the `apps` run (default: database 13 of the same server); both are flushed.
Exits non-zero when a run misses its bound."""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import harness
from smtp_sink import fault_of, received_counts

FAST = dict(PUBLISHER_TICK_SECONDS="1", PUBLISHER_CLAIM_LEASE_SECONDS="4", PUBLISHER_STALL_SECONDS="4",
            PUBLISHER_RETRY_BASE_SECONDS="0.2", PUBLISHER_BATCH_SIZE="200")


@contextmanager
def stage(workdir: Path, recipients: int, *, faults: bool = False, redis_db: str | None = None):
    """A prepared send, a scheduler running, and the sink; yields (env, digest_id, log)."""
    import redis

    broker = redis_db or harness.DEFAULT_REDIS
    redis.Redis.from_url(broker).flushdb()
    with harness.sink(workdir, faults=faults) as (smtp_url, log), harness.fresh_database() as database_url:
        env = harness.environment(workdir, database_url=database_url, broker_url=broker, smtp_url=smtp_url, **FAST)
        harness.apply_environment(env)
        digest_id = harness.prepare_send(recipients)
        scheduler = harness.Workers(env, workdir, command=("scheduler",), name="scheduler")
        scheduler.start()
        try:
            yield env, digest_id, log
        finally:
            scheduler.kill_all()


def start_send(env: dict, workdir: Path, digest_id: int) -> harness.Workers:
    """A worker (2 processes) running, and the send queued to it."""
    workers = harness.Workers(env, workdir)
    workers.start()
    harness.wait_ready(workdir)
    from workers.tasks import send_digest

    send_digest.delay(digest_id)
    return workers


def wait_settled(digest_id: int, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, state = harness.ledger_settled(digest_id)
        if done:
            return state
        time.sleep(0.3)
    raise TimeoutError(f"send not settled after {timeout}s: {harness.ledger_settled(digest_id)[1]}")


def tally(log: Path, recipients: int) -> tuple[int, int]:
    counts = received_counts(log)
    expected = {f"reader{i}@bench.example.com" for i in range(recipients)}
    missed = sum(1 for r in expected if counts[r] == 0)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    return missed, duplicates


def claims_now(digest_id: int) -> dict[str, int]:
    """Rows claimed and not settled, per claim token (one token per batch run, so per sending process)."""
    from sqlalchemy import func, select

    from publisher.db import session_scope
    from publisher.models import Delivery

    with session_scope() as session:
        return dict(session.execute(select(Delivery.claimed_by, func.count())
                                    .where(Delivery.digest_id == digest_id, Delivery.status == "sending")
                                    .group_by(Delivery.claimed_by)).all())


def run_kill(workdir: Path, recipients: int, kills: int = 5) -> dict:
    with stage(workdir, recipients) as (env, digest_id, log):
        workers = start_send(env, workdir, digest_id)
        killed: dict[str, int] = {}
        for moment in sorted(random.uniform(0.1, 0.9) for _ in range(kills)):
            _wait_progress(digest_id, recipients, moment)
            workers.kill_latest()
            # With every worker dead, a claim still held is a process killed mid-send (a claim left by an
            # earlier kill is counted once: its lease has not ended yet, or it is gone).
            killed.update(claims_now(digest_id))
            workers.start()
        wait_settled(digest_id)
        workers.kill_all()
        missed, duplicates = tally(log, recipients)
    per_process = duplicates / len(killed) if killed else float(duplicates)
    return {"missed": missed, "duplicates": duplicates, "killed_sending_processes": len(killed),
            "duplicates_per_killed_process": round(per_process, 2), "claimed_at_kills": sum(killed.values()),
            "ok": missed == 0 and duplicates <= len(killed)}


def _wait_progress(digest_id: int, recipients: int, fraction: float) -> None:
    while True:
        _, state = harness.ledger_settled(digest_id)
        if state["sent"] >= fraction * recipients:
            return
        time.sleep(0.05)


def run_flush(workdir: Path, recipients: int) -> dict:
    import redis

    with stage(workdir, recipients) as (env, digest_id, log):
        workers = start_send(env, workdir, digest_id)
        for fraction in (0.3, 0.7):
            _wait_progress(digest_id, recipients, fraction)
            redis.Redis.from_url(env["PUBLISHER_BROKER_URL"]).flushdb()
        wait_settled(digest_id)
        workers.kill_all()
        missed, duplicates = tally(log, recipients)
    return {"missed": missed, "duplicates": duplicates, "ok": missed == 0 and duplicates == 0}


def run_pause(workdir: Path, recipients: int, cycles: int = 10) -> dict:
    from publisher.db import session_scope
    from publisher.services import controls
    from workers.tasks import send_digest

    with stage(workdir, recipients) as (env, digest_id, log):
        workers = start_send(env, workdir, digest_id)
        for cycle in range(cycles):
            _wait_progress(digest_id, recipients, (cycle + 1) / (cycles + 2))
            with session_scope() as session:
                controls.pause_send(session, digest_id)
            time.sleep(0.5)
            with session_scope() as session:
                controls.resume_send(session, digest_id)
            send_digest.delay(digest_id)
        wait_settled(digest_id)
        workers.kill_all()
        missed, duplicates = tally(log, recipients)
    return {"missed": missed, "duplicates": duplicates, "ok": missed == 0 and duplicates == 0}


def run_apps(workdir: Path, recipients: int) -> dict:
    """Two deployments (each its own broker and workers) pointed at one database send the same digest."""
    with stage(workdir, recipients) as (env, digest_id, log):
        other_broker = os.environ.get("PUBLISHER_BENCH_SECOND_REDIS_URL") or \
            env["PUBLISHER_BROKER_URL"].rsplit("/", 1)[0] + "/13"
        import redis

        redis.Redis.from_url(other_broker).flushdb()
        first = harness.Workers(env, workdir)
        second = harness.Workers(dict(env, PUBLISHER_BROKER_URL=other_broker), workdir, name="worker-b")
        first.start()
        second.start()
        harness.wait_ready(workdir, count=1)
        from workers.tasks import send_digest

        send_digest.delay(digest_id)
        harness.apply_environment(dict(env, PUBLISHER_BROKER_URL=other_broker))
        send_digest.delay(digest_id)
        harness.apply_environment(env)
        wait_settled(digest_id)
        first.kill_all()
        second.kill_all()
        missed, duplicates = tally(log, recipients)
    return {"missed": missed, "duplicates": duplicates, "ok": missed == 0 and duplicates == 0}


def run_faults(workdir: Path, recipients: int) -> dict:
    from sqlalchemy import select

    from publisher.db import session_scope
    from publisher.models import Delivery
    from publisher.services.suppression import is_suppressed

    with stage(workdir, recipients, faults=True) as (env, digest_id, log):
        workers = start_send(env, workdir, digest_id)
        wait_settled(digest_id)
        workers.kill_all()
        counts = received_counts(log)
        with session_scope() as session:
            rows = {d.email: d for d in session.scalars(select(Delivery).where(Delivery.digest_id == digest_id))}
            kinds = {email: fault_of(email)[0] for email in rows}
            temp_ok = all(rows[e].status == "sent" and counts[e] == 1 and rows[e].attempts <= 6
                          for e, k in kinds.items() if k == "temp")
            perm = [e for e, k in kinds.items() if k == "perm"]
            perm_ok = all(rows[e].status == "hard_failed" and rows[e].attempts == 1 and counts[e] == 0
                          and is_suppressed(session, e) for e in perm)
            drops = [e for e, k in kinds.items() if k == "drop"]
            drop_ok = all(rows[e].status == "unknown" and counts[e] == 1 for e in drops)
            max_attempts = max(rows[e].attempts for e, k in kinds.items() if k == "temp")
        missed = sum(1 for e, k in kinds.items() if k in ("ok", "temp") and counts[e] == 0)
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
    return {"missed": missed, "duplicates": duplicates, "temp_recipients": sum(k == "temp" for k in kinds.values()),
            "max_attempts_4xx": max_attempts, "refused_550": len(perm), "dropped": len(drops),
            "ok": temp_ok and perm_ok and drop_ok and missed == 0 and duplicates == 0}


RUNS = {"kill": run_kill, "flush": run_flush, "pause": run_pause, "apps": run_apps, "faults": run_faults}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--only", default=",".join(RUNS))
    args = parser.parse_args()
    failed = []
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = RUNS[name](Path(tmp), args.recipients)
        print(f"chaos {name:6s} recipients={args.recipients:,} {time.perf_counter() - started:6.1f}s  "
              + "  ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        if not result["ok"]:
            failed.append(name)
    if failed:
        print(f"chaos: FAILED {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
