"""Logs: JSON lines with the ids of what they are about when PUBLISHER_LOG_FORMAT=json, and never a secret."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time

import pytest

from publisher.config import Settings
from publisher.logs import JsonFormatter, RedactSecrets, TextFormatter, log_context, redact, remember_secrets
from tests.ops.conftest import news_list
from tests.support.servers import Recorder

SECRET_KEY = "s3cret-key-for-signing-links"


@pytest.mark.parametrize("line, secret", [
    ('"GET /unsubscribe/eyJzIjoxfQ.abc.def HTTP/1.1" 200', "eyJzIjoxfQ.abc.def"),
    ("/preferences/tok123456?x=1", "tok123456"),
    ("/confirm/tok123456", "tok123456"),
    ("POST /websub/7/cb-secret-1234 HTTP/1.1", "cb-secret-1234"),
    ("fetching https://blog.example/feed?token=abcdef123456&page=2", "abcdef123456"),
    ("smtp://mailer:hunter2-pass@smtp.example.org:587 refused", "hunter2-pass"),
    ("postgresql://publisher:pg-pass-123@db:5432/publisher is down", "pg-pass-123"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    (f"signing with {SECRET_KEY} failed", SECRET_KEY),
])
def test_no_secret_survives_redaction(line, secret):
    remember_secrets(Settings(secret_key=SECRET_KEY, _env_file=None))
    masked = redact(line)
    assert secret not in masked
    assert masked.split()[0][:4] == line.split()[0][:4]  # the line keeps its shape


def _record(message, *args) -> logging.LogRecord:
    record = logging.LogRecord("publisher.tasks", logging.WARNING, __file__, 1, message, args, None)
    RedactSecrets().filter(record)
    return record


def test_a_json_line_carries_the_ids_of_what_it_is_about():
    with log_context(task_id="t-1", task="send_batch", digest_id=42, worker_id="worker@host:7"):
        record = _record("digest %s: unsubscribe link %s", 42, "https://x.example/unsubscribe/tok-abcdef")
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "publisher.tasks"
    assert (line["task_id"], line["task"], line["digest_id"], line["worker_id"]) == ("t-1", "send_batch", 42,
                                                                                     "worker@host:7")
    assert "tok-abcdef" not in line["message"] and "/unsubscribe/…" in line["message"]
    assert "digest_id=42" in TextFormatter().format(record)


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_logs_json_lines_with_ids_and_no_tokens(scaled, feed_server, blog, smtp):
    scaled.env.update(PUBLISHER_LOG_FORMAT="json", PUBLISHER_API_TOKEN="api-token-never-logged")
    news_list(scaled, feed_server.url, blog, "alice@example.com")
    with Recorder() as broken:
        scaled.run("feeds", "add", broken.url("/feed?token=feed-token-123"))
        broken.routes["/feed"] = (503, {}, b"down")
        scaled.start_worker(concurrency=1)
        scaled.run("digest", "send", "--list", "news", "--wait")
        code = "from workers.tasks import poll_feed; poll_feed.delay(1, 2)"
        subprocess.run([sys.executable, "-c", code], env=scaled.env, cwd=scaled.workdir, check=True)
        deadline = time.monotonic() + 60
        while not re.search(r"poll_feed\[[^]]+\] succeeded", scaled.worker_logs()):
            assert time.monotonic() < deadline, scaled.worker_logs()
            time.sleep(0.5)
        scaled.stop_workers()
    logged = scaled.worker_logs()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    batch = [line for line in lines if "send_batch" in line["message"] and "succeeded" in line["message"]]
    assert batch and batch[0]["digest_id"] == 1 and batch[0]["task"] == "send_batch"
    assert batch[0]["task_id"] in batch[0]["message"] and batch[0]["worker_id"].startswith("worker@")
    polled = [line for line in lines if "poll_feed" in line["message"] and "succeeded" in line["message"]]
    assert polled and polled[0]["feed_id"] == "1,2"
    assert "503" in polled[0]["message"]  # the broken feed's error, its URL's token masked
    for secret in ("feed-token-123", "api-token-never-logged", "test-secret-key-not-for-production"):
        assert secret not in logged
