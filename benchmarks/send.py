"""Send benchmark: a 10-post digest (~70 KB) to N recipients through Celery + Redis with 2 worker processes
into the fast local SMTP sink, against a replay of the same prebuilt bytes over the same number of SMTP
connections to the same sink.

    python benchmarks/send.py [--recipients 10000] [--large] [--dkim]
        --large adds a 100,000-recipient run; --dkim signs every message (RSA-2048, relaxed/simple), as
        Gmail and Yahoo require of bulk senders, and replays the same signed bytes

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


def pipeline_run(workdir: Path, recipients: int, *, dkim: bool = False) -> dict:
    kept = workdir / "received"
    kept.mkdir()
    with harness.sink(workdir, keep=kept) as (smtp_url, log), harness.fresh_database() as database_url:
        import redis

        redis.Redis.from_url(harness.DEFAULT_REDIS).flushdb()
        env = harness.environment(workdir, database_url=database_url, broker_url=harness.DEFAULT_REDIS,
                                  smtp_url=smtp_url, **(_dkim_settings(workdir) if dkim else {}))
        harness.apply_environment(env)
        digest_id = harness.prepare_send(recipients)
        message = _one_message(digest_id)
        workers = harness.Workers(env, workdir, concurrency=2)
        workers.start()
        harness.wait_ready(workdir)
        from workers.tasks import send_digest

        started, cpu_before = time.perf_counter(), workers.cpu_seconds()
        send_digest.delay(digest_id)
        while not harness.ledger_settled(digest_id)[0]:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        cpu = workers.cpu_seconds() - cpu_before
        rss = workers.peak_rss_mb()
        workers.kill_all(harness.signal.SIGTERM)
        from smtp_sink import received_counts

        received = sum(received_counts(log).values())
        verified = _check_signatures([p.read_bytes() for p in sorted(kept.glob("*.eml"))] + [message],
                                     workdir) if dkim else 0
        return {"elapsed": elapsed, "rate": recipients / elapsed, "rss_mb": rss, "received": received,
                "cpu_ms": cpu / recipients * 1000, "verified": verified, "rsa_ms": _rsa_ms() if dkim else 0,
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
        mailing = DigestMailing.for_digest(session, get_settings(), digest,
                                           session.get(MailingList, digest.list_id))
        return mailing.message_for(row)


DKIM_DOMAIN, DKIM_SELECTOR = "example.org", "bench"


def _dkim_settings(workdir: Path) -> dict:
    """A fresh RSA-2048 key, as `publisher dkim keygen` makes it; its TXT record is kept for the check."""
    from publisher.compose.dkim import generate_key

    pair = generate_key(DKIM_SELECTOR, DKIM_DOMAIN)
    (workdir / "dkim.pem").write_bytes(pair.private_pem)
    (workdir / "dkim.txt").write_text(pair.txt_record)
    return {"PUBLISHER_DKIM_SELECTOR": DKIM_SELECTOR, "PUBLISHER_DKIM_DOMAIN": DKIM_DOMAIN,
            "PUBLISHER_DKIM_KEY_FILE": str(workdir / "dkim.pem")}


def _check_signatures(messages: list[bytes], workdir: Path) -> int:
    """What the sink received (its first messages) and the bytes the replay sends must be what a receiver
    accepts: dkimpy verifies each against the TXT record. Returns how many received ones it verified."""
    import dkim

    record = (workdir / "dkim.txt").read_bytes()
    wanted = f"{DKIM_SELECTOR}._domainkey.{DKIM_DOMAIN}.".encode()
    if len(messages) < 2:
        raise SystemExit("the sink kept no message to verify")
    for message in messages:
        if not message.startswith(b"DKIM-Signature:") or not dkim.verify(
                message, dnsfunc=lambda name, timeout=5: record if name == wanted else None):
            raise SystemExit("a message of the benchmark does not carry a DKIM signature that verifies")
    return len(messages) - 1


def _rsa_ms() -> float:
    """What one RSA-2048 signature costs in this process (one OpenSSL call through `cryptography`): the part of
    a signed message's CPU that no code of ours can shrink."""
    from publisher.compose.dkim import load_signer
    from publisher.config import get_settings

    key, data = load_signer(get_settings()).keys[0], b"h" * 600
    started = time.process_time()
    for _ in range(200):
        key.sign(data)
    return (time.process_time() - started) / 200 * 1000


def _batch_size() -> int:
    from publisher.config import get_settings

    return get_settings().batch_size


def _replay_worker(args) -> tuple[int, float]:
    host, port, message, connections, per_connection = args
    cpu = time.process_time()
    for _ in range(connections):
        client = smtplib.SMTP(host, port)
        for n in range(per_connection):
            client.sendmail("news@example.org", [f"replay{n}@bench.example.com"], message)
        client.quit()
    return connections * per_connection, time.process_time() - cpu


def replay(workdir: Path, message: bytes, recipients: int, batch_size: int) -> tuple[float, float]:
    """The same bytes, the same number of connections (one per batch), two processes like two workers.
    Returns messages/s and the clients' CPU ms per message."""
    with harness.sink(workdir) as (smtp_url, _log):
        host, port = "127.0.0.1", int(smtp_url.rsplit(":", 1)[1])
        connections = max(1, recipients // batch_size)
        shares = [connections // 2, connections - connections // 2]
        started = time.perf_counter()
        with multiprocessing.Pool(2) as pool:
            results = pool.map(_replay_worker, [(host, port, message, n, batch_size) for n in shares if n])
        elapsed = time.perf_counter() - started
        sent = sum(count for count, _ in results)
        return sent / elapsed, sum(cpu for _, cpu in results) / sent * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="also run 100,000 recipients")
    parser.add_argument("--dkim", action="store_true", help="sign every message (RSA-2048 DKIM)")
    args = parser.parse_args()
    sizes = [args.recipients] + ([100_000] if args.large else [])
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            run = pipeline_run(Path(tmp), size, dkim=args.dkim)
            replay_rate, replay_cpu = replay(Path(tmp), run["message"], size, run["batch_size"])
        signed = (f"DKIM-signed (RSA-2048; dkimpy verified the {run['verified']} messages the sink kept and the replayed bytes)" if args.dkim
                  else "unsigned")
        print(f"recipients: {size:,}  message: {len(run['message']) / 1024:.1f} KB, {signed}")
        print(f"  pipeline (Celery + Redis, 2 worker processes): {run['rate']:,.0f} msg/s "
              f"({run['elapsed']:.1f} s, {run['received']:,} received by the sink)")
        print(f"  replay of the same {'signed ' if args.dkim else ''}bytes, same connections: {replay_rate:,.0f} msg/s")
        print(f"  ratio pipeline / replay: {run['rate'] / replay_rate:.2f}   (target >= {0.65 if args.dkim else 0.7})")
        print(f"  CPU per message: workers {run['cpu_ms']:.2f} ms, replay clients {replay_cpu:.2f} ms   "
              f"(the SMTP sink's share left out; on a busy machine the rates follow these)")
        if args.dkim:
            print(f"  of the workers' CPU, the RSA-2048 signature alone: {run['rsa_ms']:.2f} ms a message")
        print(f"  peak worker RSS: {run['rss_mb']:.0f} MB   (target <= 150 MB, flat from 10k to 100k)")


if __name__ == "__main__":
    main()
