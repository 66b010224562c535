"""WebSub end to end: a fake hub speaking the protocol over HTTP, our real web app under uvicorn, a real
SQLite database. Subscribe, verification of intent, signed pushes (and forged ones ignored), renewal."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Feed, HubSubscription, Post
from publisher.models.base import utcnow
from publisher.services import feeds as watcher
from publisher.services import websub
from publisher.services.database import upgrade_database
from tests.services.test_feeds_watcher import RECENT, Site, rss


class FakeHub:
    """Accepts subscription requests (202), then verifies intent by GET to the callback, as hubs do."""

    def __init__(self):
        self.subscriptions: dict[str, dict] = {}  # callback -> {topic, secret, verified}
        self.verifications: list[tuple[int, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                self.send_response(202)
                self.end_headers()
                threading.Thread(target=outer._verify, args=(form,), daemon=True).start()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def _verify(self, form: dict) -> None:
        challenge = secrets.token_urlsafe(16)
        query = urlencode({"hub.mode": form["hub.mode"], "hub.topic": form["hub.topic"], "hub.challenge": challenge,
                           "hub.lease_seconds": "3600"})
        answer = httpx.get(f"{form['hub.callback']}?{query}")
        self.verifications.append((answer.status_code, answer.text, challenge))
        if answer.status_code == 200 and answer.text == challenge:
            if form["hub.mode"] == "unsubscribe":
                self.subscriptions.pop(form["hub.callback"], None)
            else:
                self.subscriptions[form["hub.callback"]] = {"topic": form["hub.topic"], "secret": form["hub.secret"]}

    def publish(self, callback: str, body: bytes, method: str = "sha256", secret: str | None = None) -> int:
        key = (secret or self.subscriptions[callback]["secret"]).encode()
        signature = f"{method}={hmac.new(key, body, getattr(hashlib, method)).hexdigest()}"
        return httpx.post(callback, content=body, headers={"Content-Type": "application/rss+xml",
                                                           "X-Hub-Signature": signature}).status_code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_url(tmp_path, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PUBLISHER_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PUBLISHER_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("PUBLISHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "k" * 32)
    get_settings.cache_clear()
    upgrade_database()
    from publisher.web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    get_settings.cache_clear()


def _wait_for(condition, what: str, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _feed_with_hub(site: Site, hub: FakeHub) -> Feed:
    site.serve("/feed", rss(("a", "A", RECENT)), Link=f'<{hub.url}>; rel="hub"')
    with session_scope() as session:
        watcher.add_feed(session, get_settings(), url=site.url("/feed"))
    with session_scope() as session:
        return session.scalar(select(Feed))


def _subscription() -> HubSubscription:
    with session_scope() as session:
        return session.scalar(select(HubSubscription))


def test_subscribe_verify_and_ingest_a_signed_push_once(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    assert feed.hub_url == hub.url  # discovered from the Link header
    with session_scope() as session:
        assert websub.renew_subscriptions(session, get_settings(), utcnow()) == [feed.id]
    callback = f"{app_url}/websub/{feed.id}"
    _wait_for(lambda: callback in hub.subscriptions, "the hub's verification")
    status, text, challenge = hub.verifications[-1]
    assert (status, text) == (200, challenge)
    sub = _subscription()
    assert sub.state == "active" and sub.expires_at > utcnow() + timedelta(minutes=59)

    pushed = rss(("b", "Pushed post", RECENT), ("a", "A", RECENT))
    assert hub.publish(callback, pushed) == 202
    with session_scope() as session:
        post = session.scalar(select(Post).where(Post.title == "Pushed post"))
        assert post is not None and not post.is_baseline
    # The polled copy of the same post is the same post.
    site.serve("/feed", pushed)
    with session_scope() as session:
        result = watcher.refresh_feed(session, get_settings(), session.get(Feed, feed.id))
        assert result.new == [] and result.error is None


@pytest.mark.parametrize("method", ["sha1", "sha384", "sha512"])
def test_every_signature_method_of_the_spec_is_accepted(app_url, method):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    callback = f"{app_url}/websub/{feed.id}"
    _wait_for(lambda: callback in hub.subscriptions, "the hub's verification")
    hub.publish(callback, rss(("m", f"Signed {method}", RECENT)), method=method)
    with session_scope() as session:
        assert session.scalar(select(Post).where(Post.title == f"Signed {method}")) is not None


def test_unsigned_and_forged_pushes_are_ignored(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    callback = f"{app_url}/websub/{feed.id}"
    _wait_for(lambda: callback in hub.subscriptions, "the hub's verification")
    forged = rss(("evil", "Forged", RECENT))
    assert hub.publish(callback, forged, secret="not-the-secret") == 202  # 2xx, as the spec says...
    unsigned = httpx.post(callback, content=forged, headers={"Content-Type": "application/rss+xml"})
    assert unsigned.status_code == 202
    with session_scope() as session:  # ...but nothing was ingested
        assert session.scalar(select(Post).where(Post.title == "Forged")) is None


def test_verification_for_a_topic_we_did_not_ask_for_is_refused(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: hub.verifications, "the hub's verification")
    query = urlencode({"hub.mode": "subscribe", "hub.topic": "https://other.example/feed", "hub.challenge": "x"})
    assert httpx.get(f"{app_url}/websub/{feed.id}?{query}").status_code == 404
    query = urlencode({"hub.mode": "unsubscribe", "hub.topic": feed.url, "hub.challenge": "x"})
    assert httpx.get(f"{app_url}/websub/{feed.id}?{query}").status_code == 404


def test_lease_is_renewed_before_it_ends(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: _subscription().state == "active", "an active subscription")
    first_secret = _subscription().secret
    with session_scope() as session:
        assert websub.renew_subscriptions(session, get_settings(), utcnow()) == []  # a fresh lease: nothing to do
        later = utcnow() + timedelta(minutes=50)  # 10 minutes left of the hub's 3600 s lease
        assert websub.renew_subscriptions(session, get_settings(), later) == [feed.id]
    _wait_for(lambda: _subscription().state == "active" and _subscription().secret != first_secret, "renewal")


def test_a_retired_feed_is_unsubscribed_from_its_hub(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: _subscription().state == "active", "an active subscription")
    with session_scope() as session:
        session.get(Feed, feed.id).status = "retired"  # as a 410 leaves it
    with session_scope() as session:
        assert websub.unsubscribe_retired(session, get_settings()) == [feed.id]
    _wait_for(lambda: any(code == 200 for code, _, _ in hub.verifications[1:]), "the hub's unsubscribe check")
    _wait_for(lambda: not hub.subscriptions, "the hub to drop us")
    assert _subscription().state == "unsubscribed"
    assert hub.verifications[-1][1] == hub.verifications[-1][2]  # we echoed the challenge: intent confirmed
    with session_scope() as session:
        assert websub.unsubscribe_retired(session, get_settings()) == []  # once is enough
