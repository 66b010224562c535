"""An immediate list does not wait for the scheduler's tick: a WebSub push of a new post reaches the
subscriber's inbox with the tick set to ten minutes (benchmarks/latency.py measures how fast)."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import time

import httpx

from publisher.config import Settings
from publisher.services.websub import callback_url
from tests.e2e.test_crosspost import _subscribe
from tests.e2e.test_serve import _immediate_list, _log, _serving, _start_serve, _wait_for


def test_a_pushed_post_is_mailed_to_an_immediate_list_without_waiting_for_the_tick(embedded, feed_server, blog,
                                                                                     smtp):
    embedded.env.update(PUBLISHER_TICK_SECONDS="600", PUBLISHER_WEBSUB="false")
    embedded.run("init")
    _immediate_list(embedded, feed_server, blog)
    secret = "hub-secret-for-this-test"
    _subscribe(embedded.env["PUBLISHER_DATABASE_URL"], feed_server.url, secret)
    port, server = _start_serve(embedded)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        _wait_for(lambda: "ready" in _log(embedded), 60, "the worker to start\n" + _log(embedded))
        blog.add_post("Pushed and mailed at once")
        body = blog.atom()
        callback = callback_url(Settings(base_url=f"http://127.0.0.1:{port}"), 1, secret)
        started = time.monotonic()
        answer = httpx.post(callback, content=body, timeout=30, headers={
            "Content-Type": "application/atom+xml",
            "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()})
        assert answer.status_code == 202
        [received] = _wait_for(lambda: smtp.to("dana@example.com"), 30,
                               "the digest, well before the next tick\n" + _log(embedded))
        print(f"\npush -> inbox with a 600 s tick: {time.monotonic() - started:.2f} s")
        assert "Pushed and mailed at once" in received.message["Subject"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
