"""Scaled mode: several `publisher worker` processes on Redis and PostgreSQL share one send without overlap,
and `digest send --wait` follows it to the end. Counted by what the SMTP server received."""

from __future__ import annotations

from collections import Counter


def test_two_workers_share_a_send_and_each_reader_gets_one_mail(scaled, feed_server, blog, smtp, tmp_path):
    blog.add_post("Old post")
    scaled.env.update(PUBLISHER_BATCH_SIZE="40", PUBLISHER_CLAIM_CHUNK="10")
    scaled.run("init")
    scaled.run("feeds", "add", feed_server.url)
    scaled.run("lists", "create", "news", "--feed", feed_server.url)
    readers = [f"reader{i}@example.com" for i in range(400)]
    (tmp_path / "readers.csv").write_text("email,name\n" + "".join(f"{r},Reader\n" for r in readers))
    scaled.run("subscribers", "import", str(tmp_path / "readers.csv"), "--list", "news", "--confirmed")
    blog.add_post("Something new")
    scaled.run("poll")
    scaled.start_worker(concurrency=1)
    scaled.start_worker(concurrency=1)

    result = scaled.run("digest", "send", "--list", "news", "--wait")

    assert "sent 400, failed 0" in result.stdout, result.stdout + scaled.worker_logs()
    received = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    assert received == Counter({r: 1 for r in readers})
    logs = [p.read_text() for p in sorted(tmp_path.glob("worker-*.log"))]
    assert all("send_batch" in log and "succeeded" in log for log in logs), "both workers should have sent"
    status = scaled.run("status", "--json").stdout
    assert '"mode": "scaled"' in status


def test_a_prefork_worker_polls_feeds_with_bounded_parsing(scaled, feed_server, blog, smtp):
    """Polling runs in Celery's prefork children, which start the killable parser processes themselves."""
    import re
    import subprocess
    import sys
    import time

    blog.add_post("Old post")
    scaled.run("init")
    scaled.run("feeds", "add", feed_server.url)
    scaled.run("lists", "create", "news", "--feed", feed_server.url)
    scaled.run("subscribers", "add", "reader@example.com", "--list", "news", "--confirmed")
    blog.add_post("Polled by a worker")
    scaled.start_worker(concurrency=2)
    subprocess.run([sys.executable, "-c", "from workers.tasks import poll_feed; poll_feed.delay(1)"],
                   env=scaled.env, cwd=scaled.workdir, check=True)
    deadline = time.monotonic() + 60
    while not re.search(r"poll_feed\[[^]]+\] succeeded", scaled.worker_logs()):
        assert time.monotonic() < deadline, scaled.worker_logs()
        time.sleep(0.5)
    sent = scaled.run("digest", "send", "--list", "news", "--wait")
    assert "sent 1" in sent.stdout
    assert "Polled by a worker" in smtp.messages[0].message["Subject"]
