"""Send benchmark: a 10-post digest (~70 KB) to N recipients through Celery + Redis with 2 worker processes
into the fast local SMTP sink, against a replay of the same prebuilt bytes over the same number of SMTP
connections to the same sink.

    python benchmarks/send.py [--recipients 10000] [--large]     (--large adds a 100,000-recipient run)

Needs Redis and PostgreSQL (PUBLISHER_TEST_REDIS_URL, PUBLISHER_TEST_DATABASE_URL; defaults: this machine's;
PUBLISHER_BENCH_REDIS_URL overrides the Redis database). Prints messages/s end to end, the replay rate, their
ratio and the peak worker RSS."""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import tempfile
import time
from pathlib import Path

import harness


def pipeline_run(workdir: Path, recipients: int) -> dict:
    with harness.sink(workdir) as (smtp_url, log), harness.fresh_database() as database_url:
        import redis

        redis.Redis.from_url(harness.DEFAULT_REDIS).flushdb()
        env = harness.environment(workdir, database_url=database_url, broker_url=harness.DEFAULT_REDIS,
                                  smtp_url=smtp_url)
        harness.apply_environment(env)
        digest_id = harness.prepare_send(recipients)
        message = _one_message(digest_id)
        workers = harness.Workers(env, workdir, concurrency=2)
        workers.start()
        harness.wait_ready(workdir)
        from workers.tasks import send_digest

        started = time.perf_counter()
        send_digest.delay(digest_id)
        while not harness.ledger_settled(digest_id)[0]:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        rss = workers.peak_rss_mb()
        workers.kill_all(harness.signal.SIGTERM)
        from smtp_sink import received_counts

        received = sum(received_counts(log).values())
        return {"elapsed": elapsed, "rate": recipients / elapsed, "rss_mb": rss, "received": received,
                "message": message, "smtp_url": smtp_url, "batch_size": _batch_size()}


def _one_message(digest_id: int) -> bytes:
    from sqlalchemy import select

    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.models import Delivery, Digest, MailingList
    from publisher.services.messages import DigestMailing

    with session_scope() as session:
        digest = session.get(Digest, digest_id)
        row = session.scalar(select(Delivery).where(Delivery.digest_id == digest_id).limit(1))
        mailing = DigestMailing.for_digest(get_settings(), digest, session.get(MailingList, digest.list_id))
        return mailing.message_for(row)


def _batch_size() -> int:
    from publisher.config import get_settings

    return get_settings().batch_size


def _replay_worker(args) -> int:
    host, port, message, connections, per_connection = args
    for _ in range(connections):
        client = smtplib.SMTP(host, port)
        for n in range(per_connection):
            client.sendmail("news@example.org", [f"replay{n}@bench.example.com"], message)
        client.quit()
    return connections * per_connection


def replay(workdir: Path, message: bytes, recipients: int, batch_size: int) -> float:
    """The same bytes, the same number of connections (one per batch), two processes like two workers."""
    with harness.sink(workdir) as (smtp_url, _log):
        host, port = "127.0.0.1", int(smtp_url.rsplit(":", 1)[1])
        connections = max(1, recipients // batch_size)
        shares = [connections // 2, connections - connections // 2]
        started = time.perf_counter()
        with multiprocessing.Pool(2) as pool:
            sent = sum(pool.map(_replay_worker, [(host, port, message, n, batch_size) for n in shares if n]))
        return sent / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="also run 100,000 recipients")
    args = parser.parse_args()
    sizes = [args.recipients] + ([100_000] if args.large else [])
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            run = pipeline_run(Path(tmp), size)
            replay_rate = replay(Path(tmp), run["message"], size, run["batch_size"])
        print(f"recipients: {size:,}  message: {len(run['message']) / 1024:.1f} KB")
        print(f"  pipeline (Celery + Redis, 2 worker processes): {run['rate']:,.0f} msg/s "
              f"({run['elapsed']:.1f} s, {run['received']:,} received by the sink)")
        print(f"  replay of prebuilt bytes, same connections:    {replay_rate:,.0f} msg/s")
        print(f"  ratio pipeline / replay: {run['rate'] / replay_rate:.2f}   (target >= 0.7)")
        print(f"  peak worker RSS: {run['rss_mb']:.0f} MB   (target <= 150 MB, flat from 10k to 100k)")


if __name__ == "__main__":
    main()
