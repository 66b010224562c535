"""What a scrape of /metrics, a `publisher status --json` and the /ops charts cost on a large ledger.

Fills a fresh database with one digest of N deliveries, each with a "sent" event spread over the last 24 h
(plus 2% soft failures and 0.5% hard failures), then times render_metrics, collect_status and the chart queries
(median of 5 runs each). They read the ledger at request time, so their cost grows with it: these are the figures.

    .venv/bin/python benchmarks/ops.py [--events 1000000] [--database postgresql://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta


def fill(events: int) -> None:
    from sqlalchemy import insert

    from publisher.db import session_scope
    from publisher.models import Delivery, DeliveryEvent, Digest, MailingList, Subscriber
    from publisher.models.base import utcnow

    now = utcnow()
    with session_scope() as session:
        mailing_list = MailingList(name="bench")
        session.add(mailing_list)
        session.flush()
        digest = Digest(list_id=mailing_list.id, status="sent", subject="bench", html="", text="", post_count=1)
        session.add(digest)
        session.flush()
        digest_id = digest.id
    chunk = 20_000
    for start in range(0, events, chunk):
        count = min(chunk, events - start)
        with session_scope() as session:
            session.execute(insert(Subscriber), [{"id": start + i + 1, "email": f"r{start + i}@example.com",
                                                   "created_at": now} for i in range(count)])
            session.execute(insert(Delivery), [{"id": start + i + 1, "digest_id": digest_id,
                                                 "subscriber_id": start + i + 1, "email": f"r{start + i}@example.com",
                                                 "status": _status(start + i), "attempts": 1, "created_at": now}
                                                for i in range(count)])
            session.execute(insert(DeliveryEvent), [{"delivery_id": start + i + 1, "status": _status(start + i),
                                                      "at": now - timedelta(seconds=(start + i) * 86400 / events)}
                                                     for i in range(count)])


def _status(i: int) -> str:
    return "hard_failed" if i % 200 == 0 else "soft_failed" if i % 50 == 0 else "sent"


def median_ms(call) -> float:
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        call()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", default=None, help="an empty database URL (default: a SQLite file)")
    options = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ops-bench-")
    os.environ["PUBLISHER_DATABASE_URL"] = options.database or f"sqlite:///{workdir}/bench.db"
    os.environ["PUBLISHER_DATA_DIR"] = workdir
    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.models.base import utcnow
    from publisher.services import ops_charts
    from publisher.services.database import upgrade_database
    from publisher.services.metrics import render_metrics
    from publisher.services.status import collect_status

    upgrade_database()
    began = time.perf_counter()
    fill(options.events)
    print(f"filled {options.events:,} deliveries and events in {time.perf_counter() - began:.1f} s "
          f"({get_settings().database_url.split(':')[0]})")
    settings = get_settings()
    with session_scope() as session:
        for name, call in [
            ("/metrics", lambda: render_metrics(session, settings)),
            ("status --json", lambda: collect_status(session, settings)),
            ("chart: sent per minute", lambda: ops_charts.sent_per_minute(session, now=utcnow())),
            ("chart: failures by kind", lambda: ops_charts.failures_by_kind(session, now=utcnow())),
        ]:
            print(f"{name:26} {median_ms(call):8.1f} ms (median of 5)")


if __name__ == "__main__":
    main()
