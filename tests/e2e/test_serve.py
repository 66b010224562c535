"""`publisher serve` is the whole embedded product in one command: web app, worker and scheduler.
Here it picks up a new post on its own, mails it to an `immediate` list, and the one-click unsubscribe
POST from that mail works against the running web app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx

from tests.support.smtp import free_port


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _serving(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_runs_web_worker_and_scheduler(embedded, feed_server, blog, smtp):
    blog.add_post("Old post")
    embedded.env.update(PUBLISHER_TICK_SECONDS="1", PUBLISHER_POLL_INTERVAL_MINUTES="0", PUBLISHER_POLL_MIN_MINUTES="0")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    embedded.run("lists", "create", "instant", "--feed", feed_server.url, "--cadence", "immediate")
    embedded.run("subscribers", "add", "dana@example.com", "--list", "instant", "--confirmed")
    port = free_port()
    log = open(embedded.workdir / "serve.log", "wb")
    server = subprocess.Popen(embedded.command("serve", "--port", str(port)), cwd=embedded.workdir, env=embedded.env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["ok"] is True

        blog.add_post("Fresh from the oven")
        received = _wait_for(lambda: smtp.to("dana@example.com"), 60,
                             "the scheduler to poll, compose and send\n" + _log(embedded))
        message = received[0].message
        assert "Fresh from the oven" in message["Subject"]

        one_click = message["List-Unsubscribe"].split(",")[0].strip(" <>")
        local = one_click.replace("https://news.example.org", f"http://127.0.0.1:{port}")
        assert "Unsubscribe" in httpx.get(local).text  # a GET only shows a button
        assert httpx.post(local, data={"List-Unsubscribe": "One-Click"}).status_code == 200

        blog.add_post("Nobody should get this")
        time.sleep(4)  # several ticks
        assert len(smtp.messages) == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _log(publisher) -> str:
    return (publisher.workdir / "serve.log").read_text(errors="replace")[-3000:]
