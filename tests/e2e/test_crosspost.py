"""Cross-posting with the real `publisher` processes: an embedded `publisher serve` posts by itself; in scaled
mode a `publisher worker` does; a worker killed with SIGKILL in the middle of a post leaves no duplicate; a
pushed post reaches every target within 5 s of its arrival (the figure is printed)."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from publisher.config import Settings
from publisher.services.websub import callback_url
from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_http import Fault, wait_for
from tests.support.fake_mastodon import FakeMastodon
from tests.support.smtp import free_port
from tests.support.webhook_receiver import WebhookReceiver

CROSSPOST_ENV = {"PUBLISHER_TICK_SECONDS": "1", "PUBLISHER_POLL_INTERVAL_MINUTES": "0",
                 "PUBLISHER_POLL_MIN_MINUTES": "0", "PUBLISHER_WEBSUB": "false",
                 "PUBLISHER_CROSSPOST_RETRY_BASE_SECONDS": "1", "PUBLISHER_CROSSPOST_SENDING_TIMEOUT_SECONDS": "4"}


@pytest.fixture
def fakes():
    with FakeMastodon() as mastodon, FakeBluesky() as bluesky, WebhookReceiver() as hook:
        yield {"mastodon": mastodon, "bluesky": bluesky, "webhook": hook}


def _posted(fakes) -> dict[str, int]:
    return {"mastodon": len(fakes["mastodon"].statuses), "bluesky": len(fakes["bluesky"].records),
            "webhook": len(fakes["webhook"].events)}


def _setup(publisher, feed_server, blog, fakes) -> None:
    publisher.env.update(CROSSPOST_ENV)
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("crosspost", "targets", "add", "mastodon", "masto", "--instance", fakes["mastodon"].url,
                  "--token", fakes["mastodon"].token)
    publisher.run("crosspost", "targets", "add", "bluesky", "sky", "--handle", fakes["bluesky"].handle,
                  "--app-password", fakes["bluesky"].password, "--service", fakes["bluesky"].url)
    publisher.run("crosspost", "targets", "add", "webhook", "hook", "--url", f"{fakes['webhook'].url}/hook",
                  "--secret", fakes["webhook"].secret)


class _Processes:
    """Processes this test starts, each in its own group, stopped (only they) at the end."""

    def __init__(self, publisher):
        self.publisher, self.started = publisher, []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.publisher.workdir / f"{name}.log", "wb")
        process = subprocess.Popen(self.publisher.command(*args), cwd=self.publisher.workdir, env=self.publisher.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.publisher.workdir.glob("*.log")))

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def processes(deployment):
    running = _Processes(deployment)
    yield running
    running.stop()


def _run_services(deployment, processes, port: int | None = None) -> None:
    """Embedded: `publisher serve` (web, worker, scheduler). Scaled: the web app, a worker and the scheduler."""
    port = port or free_port()
    if deployment.scaled:
        processes.start("web", "serve", "--no-worker", "--port", str(port))
        processes.start("worker", "worker", "--concurrency", "2")
        processes.start("scheduler", "scheduler")
    else:
        processes.start("serve", "serve", "--port", str(port))
    wait_for(lambda: _listening(port), "the web app", 60, every=0.2)


def _listening(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_new_posts_are_cross_posted_by_the_running_publisher(deployment, processes, feed_server, blog, fakes):
    _setup(deployment, feed_server, blog, fakes)
    _run_services(deployment, processes)
    blog.add_post("Posted by itself", "<p>The scheduler polled, the worker posted. Nobody ran a command.</p>")
    wait_for(lambda: _posted(fakes) == {"mastodon": 1, "bluesky": 1, "webhook": 1},
             f"every target to get the post\n{processes.logs()}", 90, every=0.2)
    assert "Posted by itself" in fakes["mastodon"].statuses[0]["text"]
    blog.posts[-1].body = "<p>An edit: not news again.</p>"
    time.sleep(5)  # several ticks: the edit is polled, nothing is posted again
    assert _posted(fakes) == {"mastodon": 1, "bluesky": 1, "webhook": 1}
    status = deployment.run("crosspost", "status", "--json").stdout
    assert '"posted": 3' in status
    logs = "".join(p.read_text(errors="replace") for p in deployment.workdir.glob("*.log")) + status
    for secret in (fakes["mastodon"].token, fakes["bluesky"].password, fakes["webhook"].secret):
        assert secret not in logs  # neither the worker, the scheduler nor the web app ever prints one


def test_a_worker_killed_mid_post_leaves_no_duplicate(scaled, feed_server, blog, fakes, tmp_path):
    """SIGKILL while Mastodon and Bluesky hold the request (after storing the post): the sweeper hands the
    rows back, another worker sends the same requests again (same Idempotency-Key, same record key)."""
    _setup(scaled, feed_server, blog, fakes)
    fakes["mastodon"].fail("POST", "/api/v1/statuses", Fault(delay=120))
    fakes["bluesky"].fail("POST", "/xrpc/com.atproto.repo.putRecord", Fault(delay=120))
    running = _Processes(scaled)
    try:
        worker = running.start("worker-1", "worker", "--concurrency", "2")
        blog.add_post("Killed mid-post")
        scaled.run("poll")  # records the news and queues the cross-posts
        wait_for(lambda: fakes["mastodon"].calls("POST", "/api/v1/statuses")
                 and fakes["bluesky"].calls("POST", "/xrpc/com.atproto.repo.putRecord"),
                 f"the worker to be mid-post\n{running.logs()}", 60)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert len(fakes["mastodon"].statuses) == 1 and len(fakes["bluesky"].records) == 1  # stored, unanswered
        states = scaled.run("crosspost", "status", "--json").stdout
        assert '"sending": 2' in states  # the ledger says what it does not know
        running.start("worker-2", "worker", "--concurrency", "2")
        running.start("scheduler", "scheduler")
        wait_for(lambda: '"posted": 3' in scaled.run("crosspost", "status", "--json").stdout,
                 f"the sweeper and the second worker\n{running.logs()}", 90, every=0.5)
    finally:
        running.stop()
    assert len(fakes["mastodon"].statuses) == 1 and len(fakes["mastodon"].calls("POST", "/api/v1/statuses")) == 2
    assert len(fakes["bluesky"].records) == 1 and len(fakes["bluesky"].writes) == 2
    assert len(fakes["webhook"].events) == 1


def test_a_pushed_post_reaches_every_target_within_5_seconds(deployment, processes, feed_server, blog, fakes,
                                                            capsys):
    _setup(deployment, feed_server, blog, fakes)
    port = free_port()
    deployment.env["PUBLISHER_BASE_URL"] = f"http://127.0.0.1:{port}"
    secret = "hub-secret-for-this-test"
    _subscribe(deployment.env["PUBLISHER_DATABASE_URL"], feed_server.url, secret)
    _run_services(deployment, processes, port)
    time.sleep(3)  # the worker is up and idle, as it is when a post arrives
    blog.add_post("Pushed post", "<p>Arrived by WebSub. Cross-posted at once.</p>")
    body = blog.atom()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    started = time.monotonic()
    callback = callback_url(Settings(base_url=f"http://127.0.0.1:{port}"), 1, secret)  # carries its secret
    answer = httpx.post(callback, content=body, timeout=30,
                        headers={"Content-Type": "application/atom+xml", "X-Hub-Signature": signature})
    answered = time.monotonic() - started
    assert answer.status_code == 202
    arrival = {}

    def everywhere() -> bool:
        for platform, count in _posted(fakes).items():
            if count and platform not in arrival:
                arrival[platform] = time.monotonic() - started
        return len(arrival) == 3

    wait_for(everywhere, f"the pushed post on every target\n{processes.logs()}", 30, every=0.02)
    with capsys.disabled():
        figures = ", ".join(f"{platform} {seconds:.2f} s" for platform, seconds in sorted(arrival.items()))
        mode = "scaled" if deployment.scaled else "embedded"
        print(f"\n[crosspost latency, {mode}] push to post: {figures} (the push was answered in {answered:.2f} s)")
    assert max(arrival.values()) < 5.0, arrival
    assert "Pushed post" in fakes["mastodon"].statuses[0]["text"]


def _subscribe(database_url: str, feed_url: str, secret: str) -> None:
    """An active WebSub subscription, as the hub's verification leaves it (tests/services/test_websub.py
    covers the handshake itself)."""
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO hub_subscriptions (feed_id, hub_url, topic_url, state, secret, created_at) "
            "VALUES (1, 'http://127.0.0.1:9/hub', :topic, 'active', :secret, CURRENT_TIMESTAMP)"),
            {"topic": feed_url, "secret": secret})
    engine.dispose()


def test_a_push_is_answered_before_the_platforms_answer(deployment, processes, feed_server, blog, fakes):
    """The web process records the news and queues the posts; it never posts inside the hub's request (an
    embedded `serve` once ran its tasks inline there, so a slow platform held the hub's POST)."""
    _setup(deployment, feed_server, blog, fakes)
    port = free_port()
    deployment.env["PUBLISHER_BASE_URL"] = f"http://127.0.0.1:{port}"
    secret = "hub-secret-for-this-test"
    _subscribe(deployment.env["PUBLISHER_DATABASE_URL"], feed_server.url, secret)
    slow = 20.0
    fakes["mastodon"].fail("POST", "/api/v1/statuses", Fault(delay=slow))  # stores the status, answers late
    _run_services(deployment, processes, port)
    blog.add_post("Pushed while Mastodon is slow", "<p>The hub must not wait for Mastodon.</p>")
    body = blog.atom()
    started = time.monotonic()
    answer = httpx.post(callback_url(Settings(base_url=f"http://127.0.0.1:{port}"), 1, secret), content=body,
                        timeout=slow * 2, headers={"Content-Type": "application/atom+xml", "X-Hub-Signature":
                                                   "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()})
    assert answer.status_code == 202
    assert time.monotonic() - started < slow / 2, "the push waited for a platform's answer"
    wait_for(lambda: _posted(fakes)["mastodon"] == 1, f"the worker to post\n{processes.logs()}", 60, every=0.2)
