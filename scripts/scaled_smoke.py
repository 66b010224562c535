"""A scaled-mode smoke run through an install of the runtime alone (no test extras), as a user installs it.

CI runs it with the Python of a fresh venv that did `pip install .`: whatever the test extras happen to bring
(kombu's Redis transport needed `packaging`, which only `celery[redis]` pulls in) cannot hide a missing runtime
dependency here. It uses only the standard library and the runtime's own dependencies, and runs the installed
`publisher` command from a temporary folder, never the source tree:

    init → feeds add (a Blogger-shaped feed on 127.0.0.1) → lists create → subscribers add → one worker and one
    scheduler (Redis + PostgreSQL) → a new post → poll → the scheduler composes, Redis carries the send, the
    worker delivers → the message is counted at a real SMTP server (aiosmtpd).

    python scripts/scaled_smoke.py --redis redis://127.0.0.1:6379/10 --postgres postgresql://postgres@127.0.0.1/test
Exit status 0 when exactly one digest reached the one subscriber; otherwise 1, with the logs of every process.
"""

from __future__ import annotations

import argparse
import email
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SUBSCRIBER = "reader@example.com"


class Feed:
    """A Blogger-shaped Atom feed whose posts the run adds to."""

    def __init__(self):
        self.posts: list[tuple[str, datetime]] = []

    def add(self, title: str) -> None:
        self.posts.append((title, datetime.now(UTC) - timedelta(minutes=10 - len(self.posts))))

    def atom(self, base: str) -> bytes:
        entries = "".join(
            f"<entry><id>tag:blogger.com,1999:blog-1.post-{n}</id><published>{at.isoformat()}</published>"
            f"<updated>{at.isoformat()}</updated><title type='text'>{title}</title>"
            f"<content type='html'>&lt;p&gt;{title}, in full.&lt;/p&gt;</content>"
            f"<link rel='alternate' type='text/html' href='{base}/post-{n}.html'/></entry>"
            for n, (title, at) in reversed(list(enumerate(self.posts))))
        return (f"<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                f"<id>tag:blogger.com,1999:blog-1</id><title type='text'>Smoke Blog</title>"
                f"<link rel='alternate' type='text/html' href='{base}/'/>{entries}</feed>").encode()


def serve_feed(feed: Feed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = feed.atom(f"http://127.0.0.1:{self.server.server_address[1]}")
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Inbox:
    """aiosmtpd (a runtime dependency: the bounce intake) as the mail server, keeping what it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[list[str], bytes]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def fresh_database(admin_url: str) -> tuple[str, callable]:
    import psycopg

    name = f"publisher_smoke_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True, help="a Redis database this run may flush")
    parser.add_argument("--postgres", required=True, help="a PostgreSQL URL whose server lets us create databases")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(args.redis).flushdb()
    feed, inbox = Feed(), Inbox()
    feed.add("Leader and Ender")
    server = serve_feed(feed)
    feed_url = f"http://127.0.0.1:{server.server_address[1]}/feeds/posts/default"
    database_url, drop_database = fresh_database(args.postgres)
    workdir = Path(tempfile.mkdtemp(prefix="publisher-smoke-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_") and k != "PYTHONPATH"}
    env.update(PUBLISHER_DATABASE_URL=database_url, PUBLISHER_BROKER_URL=args.redis,
               PUBLISHER_SMTP_URL=f"smtp://127.0.0.1:{inbox.port}", PUBLISHER_ALLOW_PRIVATE_NETWORKS="true",
               PUBLISHER_SECRET_KEY=uuid.uuid4().hex * 2, PUBLISHER_DATA_DIR=str(workdir / "data"),
               PUBLISHER_FROM="Smoke Blog <news@example.org>", PUBLISHER_TICK_SECONDS="2", PUBLISHER_WEBSUB="false")
    publisher = [sys.executable, "-m", "publisher"]
    processes: list[tuple[str, subprocess.Popen]] = []

    def run(*command: str) -> None:
        done = subprocess.run([*publisher, *command], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)
        print(f"$ publisher {' '.join(command)}\n{done.stdout}{done.stderr}".rstrip())
        if done.returncode:
            raise SystemExit(f"scaled smoke: `publisher {' '.join(command)}` exited {done.returncode}")

    def start(name: str, *command: str) -> None:
        log = open(workdir / f"{name}.log", "wb")
        processes.append((name, subprocess.Popen([*publisher, *command], cwd=workdir, env=env, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True)))

    try:
        print(f"publisher from {subprocess.check_output([*publisher[:1], '-c', 'import publisher; print(publisher.__file__)'], cwd=workdir, env=env, text=True).strip()}")
        run("init")
        run("feeds", "add", feed_url, "--name", "Smoke Blog")
        run("lists", "create", "news", "--feed", feed_url, "--cadence", "immediate")
        run("subscribers", "add", SUBSCRIBER, "--list", "news", "--name", "Reader", "--confirmed")
        start("worker", "worker", "--concurrency", "1")
        start("scheduler", "scheduler")
        feed.add("Rivanna Runner")
        run("poll")
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and not inbox.messages:
            time.sleep(0.5)
        time.sleep(3)  # a second, duplicate delivery would arrive now
        got = [email.message_from_bytes(data, policy=policy.default) for rcpts, data in inbox.messages
               if SUBSCRIBER in rcpts]
        if len(got) == 1 and "Rivanna Runner" in got[0].get_body(("plain",)).get_content():
            print(f"scaled smoke: passed — one digest to {SUBSCRIBER} through Redis and PostgreSQL "
                  f"(subject {str(got[0]['Subject'])!r})")
            return 0
        print(f"scaled smoke: FAILED — {len(got)} message(s) for {SUBSCRIBER} (expected 1 holding the new post)")
        for name, _ in processes:
            print(f"--- {name}.log ---\n" + (workdir / f"{name}.log").read_text(errors="replace")[-6000:])
        return 1
    finally:
        for _, process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        inbox.controller.stop()
        server.shutdown()
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
