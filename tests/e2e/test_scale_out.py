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
