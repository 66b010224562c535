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
from publisher.services import watched_feeds
from publisher.services import feeds as watcher
from publisher.services import websub
from publisher.services.database import upgrade_database
from tests.services.test_feeds_watcher import RECENT, Site, rss


class FakeHub:
    """Accepts subscription requests (202), then verifies intent by GET to the callback, as hubs do (unless
    told not to: then the test plays the hub's verification itself)."""

    def __init__(self, verify: bool = True):
        self.subscriptions: dict[str, dict] = {}  # callback -> {topic, secret, verified}
        self.verifications: list[tuple[int, str, str]] = []
        self.requests: list[dict] = []  # every subscription request's form, in order
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                outer.requests.append(form)
                self.send_response(202)
                self.end_headers()
                if verify:
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


def _subscribed(hub: FakeHub) -> str:
    """Subscribe every feed with a hub, wait for the hub to verify; the callback URL it was given."""
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: hub.subscriptions, "the hub's verification")
    [callback] = hub.subscriptions
    return callback


def test_subscribe_verify_and_ingest_a_signed_push_once(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    assert feed.hub_url == hub.url  # discovered from the Link header
    with session_scope() as session:
        assert websub.renew_subscriptions(session, get_settings(), utcnow()) == [feed.id]
    _wait_for(lambda: hub.subscriptions, "the hub's verification")
    [callback] = hub.subscriptions
    assert callback.startswith(f"{app_url}/websub/{feed.id}/")  # ... and a secret after it
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
    _feed_with_hub(site, hub)
    callback = _subscribed(hub)
    hub.publish(callback, rss(("m", f"Signed {method}", RECENT)), method=method)
    with session_scope() as session:
        assert session.scalar(select(Post).where(Post.title == f"Signed {method}")) is not None


def test_unsigned_and_forged_pushes_are_ignored(app_url):
    site, hub = Site(), FakeHub()
    _feed_with_hub(site, hub)
    callback = _subscribed(hub)
    forged = rss(("evil", "Forged", RECENT))
    assert hub.publish(callback, forged, secret="not-the-secret") == 202  # 2xx, as the spec says...
    unsigned = httpx.post(callback, content=forged, headers={"Content-Type": "application/rss+xml"})
    assert unsigned.status_code == 202
    with session_scope() as session:  # ...but nothing was ingested
        assert session.scalar(select(Post).where(Post.title == "Forged")) is None


def test_verification_for_a_topic_we_did_not_ask_for_is_refused(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    callback = _subscribed(hub)
    before = _state()
    query = urlencode({"hub.mode": "subscribe", "hub.topic": "https://other.example/feed", "hub.challenge": "x",
                       "hub.lease_seconds": "60"})
    assert httpx.get(f"{callback}?{query}").status_code == 404
    query = urlencode({"hub.mode": "unsubscribe", "hub.topic": feed.url, "hub.challenge": "x"})
    assert httpx.get(f"{callback}?{query}").status_code == 404
    query = urlencode({"hub.mode": "denied", "hub.topic": "https://other.example/feed", "hub.reason": "x"})
    assert httpx.get(f"{callback}?{query}").status_code == 404
    assert _state() == before


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


def test_a_paused_feed_takes_no_pushes_and_leaves_its_hub_until_resumed(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    callback = _subscribed(hub)
    _wait_for(lambda: _subscription().state == "active", "an active subscription")
    with session_scope() as session:
        watched_feeds.pause_feed(session, feed.url)
    assert hub.publish(callback, rss(("p", "While paused", RECENT))) == 202
    with session_scope() as session:
        assert session.scalar(select(Post).where(Post.title == "While paused")) is None
        websub.renew_subscriptions(session, get_settings(), utcnow())  # the next tick
    _wait_for(lambda: not hub.subscriptions, "the hub to drop us")
    with session_scope() as session:
        watched_feeds.resume_feed(session, feed.url)
    with session_scope() as session:
        assert websub.renew_subscriptions(session, get_settings(), utcnow()) == [feed.id]
    _wait_for(lambda: hub.subscriptions, "the hub to take us back")


# --- the callback: only for a subscription we asked for --------------------------------------------------------

def _state() -> tuple:
    """What a callback request could change: the subscriptions, and the posts stored."""
    with session_scope() as session:
        subs = [(s.feed_id, s.state, s.lease_seconds, s.expires_at, s.verified_at, s.secret, s.last_error)
                for s in session.scalars(select(HubSubscription).order_by(HubSubscription.feed_id))]
        return subs, sorted(session.scalars(select(Post.title)))


def _pending(hub: FakeHub) -> dict:
    """Ask the (non-verifying) hub for a subscription; the form it received (callback, topic, secret)."""
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: hub.requests, "the subscription request")
    return hub.requests[-1]


def _verify(callback: str, form: dict, **query: str | None) -> httpx.Response:
    params = {"hub.mode": "subscribe", "hub.topic": form["hub.topic"], "hub.challenge": secrets.token_hex(8),
              "hub.lease_seconds": "3600", **query}
    return httpx.get(callback, params={k: v for k, v in params.items() if v is not None})


def test_the_callback_carries_a_secret_and_each_subscription_a_new_one(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    first = _subscribed(hub)
    secret = first.rsplit("/", 1)[1]
    assert first == f"{app_url}/websub/{feed.id}/{secret}" and len(secret) >= 32
    assert secret not in (_subscription().secret, hub.subscriptions[first]["secret"])  # not the signing key
    with session_scope() as session:  # renewal: a new subscription, a new secret in its callback
        assert websub.renew_subscriptions(session, get_settings(), utcnow() + timedelta(minutes=50)) == [feed.id]
    _wait_for(lambda: len(hub.subscriptions) == 2, "the renewal's verification")
    [second] = [c for c in hub.subscriptions if c != first]
    assert second.startswith(f"{app_url}/websub/{feed.id}/") and second != first


def test_a_callback_without_its_current_secret_gets_404_and_changes_nothing(app_url):
    site, hub = Site(), FakeHub()
    feed = _feed_with_hub(site, hub)
    site.serve("/other", rss(("o", "O", RECENT)), Link=f'<{hub.url}>; rel="hub"')
    with session_scope() as session:
        other = session.get(Feed, watcher.add_feed(session, get_settings(), url=site.url("/other")).feed_id)
    with session_scope() as session:
        websub.renew_subscriptions(session, get_settings(), utcnow())
    _wait_for(lambda: len(hub.subscriptions) == 2, "both verifications")
    old = next(c for c in hub.subscriptions if c.startswith(f"{app_url}/websub/{feed.id}/"))
    with session_scope() as session:  # renew: `old` is now a callback of the past
        websub.subscribe(session, get_settings(), feed.id)
    _wait_for(lambda: len(hub.subscriptions) == 3, "the renewal's verification")
    current = hub.requests[-1]["hub.callback"]
    token, secret = current.rsplit("/", 1)[1], hub.requests[-1]["hub.secret"]
    forged = {
        "no secret": f"{app_url}/websub/{feed.id}",
        "an empty secret": f"{app_url}/websub/{feed.id}/",
        "a guessed secret": f"{app_url}/websub/{feed.id}/{secrets.token_hex(16)}",
        "the secret of the last subscription": old,
        "the secret uppercased": f"{app_url}/websub/{feed.id}/{token.upper()}",
        "the secret and more": f"{current}0",
        "the secret cut short": current[:-1],
        "the secret under another feed": f"{app_url}/websub/{other.id}/{token}",
        "a huge feed id": f"{app_url}/websub/{10 ** 30}/{token}",
        "no feed id": f"{app_url}/websub/x/{token}",
        "the signing key as the secret": f"{app_url}/websub/{feed.id}/{secret}",
    }
    before = _state()
    form = {"hub.topic": feed.url}
    body = rss(("evil", "Forged", RECENT))
    for what, callback in forged.items():
        assert _verify(callback, form).status_code == 404, what
        assert _verify(callback, form, **{"hub.mode": "unsubscribe"}).status_code == 404, what
        assert _verify(callback, form, **{"hub.mode": "denied", "hub.reason": "no"}).status_code == 404, what
        signed = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()  # even signed with the real key
        pushed = httpx.post(callback, content=body, headers={"X-Hub-Signature": f"sha256={signed}"})
        assert pushed.status_code == 404, what
    assert _state() == before
    assert hub.publish(current, body) == 202  # the real callback still works
    assert "Forged" in _state()[1]


MAX_LEASE = websub.MAX_LEASE_SECONDS


@pytest.mark.parametrize("value, status, stored", [
    ("3600", 200, 3600),
    (str(10 ** 30), 200, MAX_LEASE),
    ("9" * 99, 200, MAX_LEASE),
    ("0003600", 200, 3600),
    (None, 200, "requested"),  # the spec says a hub sends it; one that does not gets what we asked for
    ("9" * 5000, 400, None),  # int() itself refuses this many digits: a 500 before
    ("-5", 400, None), ("0", 400, None), ("", 400, None), ("abc", 400, None), ("1e9", 400, None),
    ("3600.5", 400, None), ("+3600", 400, None), (" 3600", 400, None), ("3600\n", 400, None),
    ("٣٦٠٠", 400, None), ("３６００", 400, None), ("²", 400, None), ("3_600", 400, None), ("0x10", 400, None),
])
def test_a_lease_is_clamped_or_refused_never_a_500(app_url, value, status, stored):
    site, hub = Site(), FakeHub(verify=False)
    _feed_with_hub(site, hub)
    form = _pending(hub)
    before = _state()
    answer = _verify(form["hub.callback"], form, **{"hub.lease_seconds": value})
    assert answer.status_code == status, answer.text
    sub = _subscription()
    if status == 400:
        assert "hub.lease_seconds" in answer.text and _state() == before
        assert _verify(form["hub.callback"], form).status_code == 200  # a corrected retry is honoured
        return
    expected = get_settings().websub_lease_seconds if stored == "requested" else stored
    assert sub.state == "active" and sub.lease_seconds == expected
    assert sub.expires_at == sub.verified_at + timedelta(seconds=expected)


@pytest.mark.parametrize("challenge", ["<html><script>alert(1)</script></html>", "ü ☃ 𝟏", "a" * 200])
def test_the_challenge_is_echoed_as_plain_text_that_is_never_sniffed(app_url, challenge):
    site, hub = Site(), FakeHub(verify=False)
    _feed_with_hub(site, hub)
    form = _pending(hub)
    answer = _verify(form["hub.callback"], form, **{"hub.challenge": challenge})
    assert answer.status_code == 200 and answer.text == challenge
    assert answer.headers["content-type"].split(";")[0] == "text/plain"
    assert answer.headers["x-content-type-options"] == "nosniff"
