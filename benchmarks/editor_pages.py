"""What the editor's pages cost to serve, through the real app on a temporary SQLite database (in-process, no
network): each page's median time with a list of 10,000 subscribers, 30 recent posts and 20 past digests.
The digest page renders the next digest (premailer) and lints it: the one page that should take a while.
Run: .venv/bin/python benchmarks/editor_pages.py
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SUBSCRIBERS, POSTS, DIGESTS, RUNS = 10_000, 30, 20, 7


def _median_ms(call, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text[:300]
    return statistics.median(times) * 1000


def _fill(session) -> int:
    from sqlalchemy import insert

    from publisher.models import Digest, Post, Subscriber, Subscription
    from publisher.models.base import utcnow
    from tests.support.consent import make_list

    now = utcnow()
    news = make_list(session, name="news", since=now - timedelta(days=30))
    feed_id = news.feeds[0].id
    session.execute(insert(Post), [
        {"feed_id": feed_id, "identity": f"p{n}", "identity_hash": hashlib.sha256(b"p%d" % n).hexdigest(),
         "title": f"Post {n}", "link": f"https://blog.example.org/{n}", "content_html": "<p>Words.</p>" * 20,
         "content_hash": str(n), "first_seen_at": now - timedelta(hours=n), "categories": [], "is_baseline": False}
        for n in range(POSTS)])
    ids = session.scalars(insert(Subscriber).returning(Subscriber.id), [
        {"email": f"reader{n}@example.com", "name": f"Reader {n}", "created_at": now} for n in range(SUBSCRIBERS)]).all()
    session.execute(insert(Subscription), [
        {"list_id": news.id, "subscriber_id": sid, "status": "confirmed", "created_at": now, "source": "bench"}
        for sid in ids])
    session.execute(insert(Digest), [
        {"list_id": news.id, "subject": f"news #{n}", "html": "", "text": "", "post_count": 3, "status": "sent",
         "recipient_count": SUBSCRIBERS, "created_at": now - timedelta(days=n)} for n in range(DIGESTS)])
    session.commit()
    return news.id


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="publisher-pages-bench-"))
    os.environ.update(PUBLISHER_DATABASE_URL=f"sqlite:///{folder / 'p.db'}", PUBLISHER_DATA_DIR=str(folder / "data"),
                      PUBLISHER_SECRET_KEY="bench", PUBLISHER_BASE_URL="https://news.example.org",
                      PUBLISHER_FROM="Blog <news@example.org>")
    from fastapi.testclient import TestClient

    from publisher.db import session_scope
    from publisher.services.database import upgrade_database
    from publisher.web.app import create_app
    from tests.support.editors import ADMIN, log_in, make_editor

    upgrade_database()
    with session_scope() as session:
        list_id = _fill(session)
    make_editor(ADMIN)
    client = TestClient(create_app(), base_url="https://news.example.org")
    log_in(client, ADMIN)
    print(f"{SUBSCRIBERS:,} subscribers, {POSTS} posts, {DIGESTS} past digests; median of {RUNS} requests")
    for path in ("/editor/", "/editor/feeds", "/editor/lists", f"/editor/lists/{list_id}", "/editor/subscribers",
                 "/editor/subscribers?q=reader99", "/editor/history", f"/editor/digests/{list_id}",
                 f"/editor/digests/{list_id}/preview.html"):
        print(f"{path:40s} {_median_ms(lambda: client.get(path)):8.1f} ms")


if __name__ == "__main__":
    main()
