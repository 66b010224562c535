"""Scale benchmark: a list of 10,000 and 100,000 (--million: and 1,000,000) confirmed subscribers on
PostgreSQL. For each size: the audience frozen (composing the digest), the fan-out planned, then two worker
processes sending for a while into the local SMTP sink; at the largest size, the EXPLAIN of each hot query.

    python benchmarks/scale.py [--million] [--sizes 10000,100000] [--send-seconds 60]

Prints per size: the freeze time (target <= 20 s at 1M; with the database backend's CPU time, which is what the
wall time comes to on a machine nobody else loads), the composing process's memory, the fan-out's
batches and time, the send rate over the window and the workers' peak RSS (target <= 150 MB, flat from 10k
to 1M). Not run in CI (a million rows take minutes to make). Needs Redis and PostgreSQL, like send.py."""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import harness

# Statements worth a plan, recognised by what they say (they are captured as the code runs them).
HOT = {
    "freeze the audience": ("INSERT INTO deliveries", "UPDATE subscriptions"),
    "watermark groups": ("GROUP BY subscriptions.seen_until",),
    "fan-out (batch starts)": ("row_number() OVER",),
    "claim a chunk": ("FOR UPDATE SKIP LOCKED",),
    "suppressed in a chunk": ("FROM suppressions", "email_hash IN"),
    "anything left (finish)": ("EXISTS (SELECT", "deliveries.status IN"),
    "renew the lease": ("SET lease_until",),
}


def setup(recipients: int, *, suppressed_every: int = 100) -> int:
    """A list, ten new posts, `recipients` confirmed subscribers (one in `suppressed_every` suppressed), made by
    the database itself. Returns the list id."""
    from sqlalchemy import text

    from publisher.db import session_scope
    from publisher.models import Feed, ListFeed, MailingList, Post
    from publisher.models.base import utcnow
    from publisher.services.database import upgrade_database

    upgrade_database()
    paragraph = "<p>" + ("A post about quilts, thread and patience. " * 12) + "</p>"
    with session_scope() as session:
        feed = Feed(url="https://bench.example.org/feeds/posts/default", title="Bench Blog", baseline_at=utcnow(),
                    next_poll_at=utcnow().replace(year=utcnow().year + 10))
        mailing_list = MailingList(name="bench", cadence="daily", send_at="08:00", timezone="UTC")
        session.add_all([feed, mailing_list])
        session.flush()
        session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=utcnow()))
        session.add_all(Post(feed_id=feed.id, identity=f"post-{n}", identity_hash=f"{n:064d}", title=f"Post {n}",
                             link=f"https://bench.example.org/{n}.html", author="Bench", content_html=paragraph * 7,
                             content_hash=str(n), published_at=utcnow(), first_seen_at=utcnow()) for n in range(10))
        now = "now() AT TIME ZONE 'utc'"
        session.execute(text(f"INSERT INTO subscribers (email, name, created_at) SELECT 'reader' || g || "
                             f"'@bench.example.com', 'Reader ' || g, {now} FROM generate_series(1, :n) g"),
                        {"n": recipients})
        session.execute(text(f"INSERT INTO subscriptions (list_id, subscriber_id, status, source, created_at, "
                             f"confirmed_at) SELECT :list, id, 'confirmed', 'bench', {now}, {now} FROM subscribers"),
                        {"list": mailing_list.id})
        session.execute(text(f"INSERT INTO suppressions (email_hash, email, reason, created_at) SELECT "
                             f"encode(sha256(convert_to(email, 'UTF8')), 'hex'), email, 'hard_bounce', {now} "
                             f"FROM subscribers WHERE id % :every = 0"), {"every": suppressed_every})
        list_id = mailing_list.id
    with session_scope() as session:
        session.connection().exec_driver_sql("ANALYZE")
    return list_id


class Captured:
    """The statements (and their parameters) this process sends to the database while it is on."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements: dict[str, tuple] = {}
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            self.statements.setdefault(statement, parameters)

    def plans(self) -> list[tuple[str, str, str]]:
        """(label, statement, plan) of each hot statement seen: ANALYZE for reads, plain EXPLAIN for writes."""
        out = []
        for label, marks in HOT.items():
            for statement, parameters in self.statements.items():
                if all(mark in statement for mark in marks):
                    writes = statement.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH", "DELETE"))
                    explain = "EXPLAIN " if writes else "EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) "
                    with self.engine.connect() as conn:
                        rows = conn.exec_driver_sql(explain + statement, parameters).all()
                        conn.rollback()
                    out.append((label, statement, "\n".join(row[0] for row in rows)))
                    break
        return out


def settle_plan(digest_id: int) -> tuple[str, str, str]:
    """The per-message record (it goes to the driver directly, so it is not captured): EXPLAIN, not run."""
    from sqlalchemy import select

    from publisher.db import get_engine
    from publisher.models import Delivery
    from publisher.models.base import UTCDateTime, utcnow
    from publisher.store.ledger import _compiled_settle

    engine = get_engine()
    sql, constants = _compiled_settle(engine.dialect)
    with engine.connect() as conn:
        row_id = conn.scalar(select(Delivery.id).where(Delivery.digest_id == digest_id).limit(1))
        when = UTCDateTime().process_bind_param(utcnow(), engine.dialect)
        values = constants | {"b_id": row_id, "b_token": "0" * 32, "b_status": "sent", "b_reply": "250 OK",
                              "b_next": None, "b_at": when, "b_sent": when}
        rows = conn.exec_driver_sql("EXPLAIN " + sql, values).all()
        conn.rollback()
    return "settle a row (per message)", sql, "\n".join(row[0] for row in rows)


def compose(list_id: int) -> dict:
    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.models import MailingList
    from publisher.services.digests import compose_digest
    from publisher.store import deliveries

    timings = {}
    freeze = deliveries.freeze_audience

    def timed_freeze(*args, **kwargs):
        started = time.perf_counter()
        result = freeze(*args, **kwargs)
        timings["freeze"] = time.perf_counter() - started
        return result

    deliveries.freeze_audience = timed_freeze
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        with session_scope() as session:
            backend = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            cpu_before = _process_cpu(backend)
            digest = compose_digest(session, get_settings(), session.get(MailingList, list_id))
            digest_id, recipients = digest.id, digest.recipient_count
            session.commit()
            database_cpu = _process_cpu(backend) - cpu_before
    finally:
        deliveries.freeze_audience = freeze
    composed = time.perf_counter() - started
    with session_scope() as session:
        session.connection().exec_driver_sql("ANALYZE deliveries")
    return {"digest_id": digest_id, "recipients": recipients, "compose_s": composed, "freeze_s": timings["freeze"],
            "database_cpu_s": database_cpu,
            "rss_before": rss_before, "rss_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _process_cpu(pid: int) -> float:
    """CPU seconds a process on this machine has used (the database server's backend of our connection): what
    the freeze costs whoever else loads the machine, when the wall time does not say."""
    return harness._cpu_ticks(pid) / harness.os.sysconf("SC_CLK_TCK")


def fan_out(digest_id: int) -> tuple[int, float]:
    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.services.delivery import batch_plan

    started = time.perf_counter()
    with session_scope() as session:
        starts = batch_plan(session, get_settings(), digest_id)
    return len(starts), time.perf_counter() - started


def one_chunk(digest_id: int) -> None:
    """One small batch in this process, so its statements (claim, suppressed, finish) are captured."""
    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.services.delivery import deliver_batch

    with session_scope() as session:
        deliver_batch(session, get_settings(), digest_id=digest_id, after_id=0, limit=50)


def send_for(env: dict, workdir: Path, digest_id: int, seconds: float) -> dict:
    from sqlalchemy import func, select

    from publisher.db import session_scope
    from publisher.models import Delivery
    from publisher.store import ledger
    from workers.tasks import send_digest

    workers = harness.Workers(env, workdir, concurrency=2)
    workers.start()
    harness.wait_ready(workdir)
    started = time.perf_counter()
    send_digest.delay(digest_id)
    while time.perf_counter() - started < seconds:
        with session_scope() as session:
            if not ledger.has_unsettled(session, digest_id):
                break
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    rss = workers.peak_rss_mb()
    workers.kill_all(harness.signal.SIGKILL)
    with session_scope() as session:
        sent = session.scalar(select(func.count()).where(Delivery.digest_id == digest_id, Delivery.status == "sent"))
    return {"sent": sent, "elapsed": elapsed, "rate": sent / elapsed, "rss_mb": rss}


def run(size: int, send_seconds: float, *, explain: bool) -> dict:
    import redis

    with tempfile.TemporaryDirectory() as tmp, harness.sink(Path(tmp)) as (smtp_url, _log), \
            harness.fresh_database() as database_url:
        redis.Redis.from_url(harness.DEFAULT_REDIS).flushdb()
        env = harness.environment(Path(tmp), database_url=database_url, broker_url=harness.DEFAULT_REDIS,
                                  smtp_url=smtp_url)
        harness.apply_environment(env)
        started = time.perf_counter()
        list_id = setup(size)
        made = time.perf_counter() - started
        from publisher.db import get_engine

        capture = Captured(get_engine())
        figures = {"size": size, "setup_s": made, **compose(list_id)}
        figures["batches"], figures["fan_out_s"] = fan_out(figures["digest_id"])
        one_chunk(figures["digest_id"])
        figures["plans"] = capture.plans() + [settle_plan(figures["digest_id"])] if explain else []
        figures.update(send_for(env, Path(tmp), figures["digest_id"], send_seconds))
        get_engine().dispose()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--million", action="store_true", help="add a run of 1,000,000 recipients")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated recipient counts")
    parser.add_argument("--send-seconds", type=float, default=60.0, help="how long the workers send at each size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.million else [])
    results = [run(size, args.send_seconds, explain=size == max(sizes)) for size in sizes]
    for r in results:
        print(f"recipients: {r['size']:,}  (made in {r['setup_s']:.1f} s)")
        print(f"  audience frozen: {r['recipients']:,} ledger rows in {r['freeze_s']:.2f} s "
              f"(compose with rendering {r['compose_s']:.2f} s, of which the database's CPU "
              f"{r['database_cpu_s']:.1f} s; target <= 20 s at 1M); "
              f"composing process max RSS {r['rss_after']:.0f} MB (before: {r['rss_before']:.0f} MB)")
        print(f"  fan-out: {r['batches']:,} batches planned in {r['fan_out_s']:.2f} s")
        print(f"  send: {r['sent']:,} sent in {r['elapsed']:.1f} s = {r['rate']:,.0f} msg/s; "
              f"peak worker RSS {r['rss_mb']:.0f} MB (target <= 150 MB, flat across sizes)")
    for r in results:
        for label, statement, plan in r["plans"]:
            print(f"\n== {label} ({r['size']:,} recipients) ==\n{' '.join(statement.split())[:400]}\n{plan}")


if __name__ == "__main__":
    main()
