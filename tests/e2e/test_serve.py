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
import pytest

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


FAST_TICKS = {"PUBLISHER_TICK_SECONDS": "1", "PUBLISHER_POLL_INTERVAL_MINUTES": "0", "PUBLISHER_POLL_MIN_MINUTES": "0"}


def _immediate_list(publisher, feed_server, blog) -> None:
    """A feed with one old post, an immediate list over it and one confirmed reader, dana@example.com."""
    blog.add_post("Old post")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "instant", "--feed", feed_server.url, "--cadence", "immediate")
    publisher.run("subscribers", "add", "dana@example.com", "--list", "instant", "--confirmed")


def _start_serve(publisher) -> tuple[int, subprocess.Popen]:
    """`publisher serve` on a free port, in its own process group, logging to serve.log."""
    port = free_port()
    log = open(publisher.workdir / "serve.log", "wb")
    return port, subprocess.Popen(publisher.command("serve", "--port", str(port)), cwd=publisher.workdir,
                                  env=publisher.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_serve_runs_web_worker_and_scheduler(embedded, feed_server, blog, smtp):
    embedded.env.update(FAST_TICKS)
    embedded.run("init")
    _immediate_list(embedded, feed_server, blog)
    port, server = _start_serve(embedded)
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
        token = one_click.rsplit("/", 1)[1]
        _wait_for(lambda: "POST /unsubscribe/" in _log(embedded), 10, "the access log line")
        assert token not in _log(embedded), "a link token reached the access log"
        assert '"GET /unsubscribe/… HTTP/1.1" 200' in _log(embedded)

        blog.add_post("Nobody should get this")
        time.sleep(4)  # several ticks
        assert len(smtp.messages) == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _log(publisher) -> str:
    return (publisher.workdir / "serve.log").read_text(errors="replace")[-3000:]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, whatever session or group it moved to (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except OSError:
        return False


class _Blackhole:
    """An SMTP server that accepts connections and never says a word: a worker sending to it is stuck."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"smtp://127.0.0.1:{self.listener.getsockname()[1]}"


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
@pytest.mark.parametrize("worker_busy", [False, True], ids=["idle", "worker-stuck-in-smtp"])
def test_serve_stops_its_worker_and_scheduler_within_10_seconds(embedded, feed_server, blog, how, worker_busy):
    blackhole = _Blackhole()
    embedded.env.update(FAST_TICKS, PUBLISHER_SMTP_URL=blackhole.url)
    embedded.run("init")
    if worker_busy:
        _immediate_list(embedded, feed_server, blog)
    port, server = _start_serve(embedded)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        _wait_for(lambda: "beat: Starting" in _log(embedded) and "ready" in _log(embedded), 60,
                  "the worker and its scheduler to start\n" + _log(embedded))
        if worker_busy:
            blog.add_post("Fresh from the oven")
            _wait_for(lambda: "send_batch" in _log(embedded), 60, "a send to begin\n" + _log(embedded))
        tree = _descendants(server.pid)
        assert tree, "serve started no worker"
        started = time.monotonic()
        if how == "sigterm":
            server.send_signal(signal.SIGTERM)
        else:
            os.killpg(server.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the foreground group
        server.wait(timeout=15)
        _wait_for(lambda: not any(_alive(pid) for pid in tree), 15, "every process of serve to end")
        elapsed = time.monotonic() - started
        assert elapsed <= 10, f"serve took {elapsed:.1f}s to stop its worker and scheduler\n" + _log(embedded)
    finally:
        for pid in _descendants(server.pid) | {server.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.wait(timeout=10)
        blackhole.listener.close()
