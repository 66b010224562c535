"""WebSub (W3C Recommendation) subscriber: subscribe to a feed's hub, answer verification, take signed pushes.

Push is an accelerator: polling goes on as the fallback, and pushed content goes through the same parse
and store as a poll, so a pushed post and a polled copy of it are one post.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import InvalidInputError, NotFoundError, PublisherError
from publisher.ingest.ssrf import Policy, check_url, make_client
from publisher.models import Feed, HubSubscription
from publisher.models.base import utcnow
from publisher.services import feeds as feed_service

# X-Hub-Signature: method=hexdigest; the spec names these four.
SIGNATURE_METHODS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
                     "sha512": hashlib.sha512}
# Renew when less than this fraction of the lease is left (or less than a day).
RENEW_FRACTION = 0.2
MAX_PER_TICK = 20
# A hub's lease is taken up to a year (we renew before it ends anyway); longer ones are clamped to it.
MAX_LEASE_SECONDS = 366 * 24 * 3600
# ASCII digits only: int() would also take "+1", " 1", "1_000", "٣٦٠٠"; and a bounded count of them.
_LEASE = re.compile(r"[0-9]{1,100}\Z", re.ASCII)
NOT_OURS = "not a subscription we asked for"


@dataclass(frozen=True)
class Verification:
    """The hub's verification GET, as query parameters."""

    mode: str
    topic: str
    challenge: str
    lease_seconds: str | None = None


def callback_url(settings: Settings, feed_id: int, secret: str) -> str:
    """Where the hub calls us for this subscription: the feed, and a secret only the hub learns (a new one
    with each subscription's new HMAC key), so nobody else can verify, deny or push in our name."""
    return f"{settings.base_url.rstrip('/')}/websub/{feed_id}/{_callback_token(feed_id, secret)}"


def _callback_token(feed_id: int, secret: str) -> str:
    # Derived from the subscription's own secret: nothing more to store, and the HMAC key itself never
    # appears in a URL (which ends up in access logs).
    return hmac.new(secret.encode(), f"websub-callback:{feed_id}".encode(), hashlib.sha256).hexdigest()[:40]


def subscription_at(session: Session, feed_id: str | int, token: str) -> HubSubscription:
    """The subscription a callback URL names; NotFoundError unless it carries that subscription's current
    secret (an old subscription's, another feed's or none at all is not ours)."""
    key = str(feed_id)
    sub = None
    if key.isascii() and key.isdigit() and len(key) <= 18:
        sub = session.scalar(select(HubSubscription).where(HubSubscription.feed_id == int(key)))
    if sub is None or not sub.secret or not hmac.compare_digest(
            _callback_token(sub.feed_id, sub.secret).encode(), token.encode("utf-8", "replace")):
        raise NotFoundError(NOT_OURS)
    return sub


def lease_seconds(value: str | None, requested: int) -> int:
    """The hub's hub.lease_seconds: whole seconds, clamped to MAX_LEASE_SECONDS; absent, what we asked for."""
    if value is None:
        return requested
    if not _LEASE.match(value) or int(value) == 0:
        raise InvalidInputError("hub.lease_seconds must be a positive whole number of seconds")
    return min(int(value), MAX_LEASE_SECONDS)


def renew_subscriptions(session: Session, settings: Settings, now: datetime) -> list[int]:
    """Subscribe feeds whose hub we are not subscribed to, and renew leases about to end. Returns feed ids."""
    if not settings.websub:
        return []
    rows = session.execute(
        select(Feed, HubSubscription).outerjoin(HubSubscription, HubSubscription.feed_id == Feed.id)
        .where(Feed.status == "active", Feed.hub_url.is_not(None))
    ).all()
    wanted = [feed.id for feed, sub in rows if _needs_subscribe(feed, sub, now)][:MAX_PER_TICK]
    session.commit()
    for feed_id in wanted:
        subscribe(session, settings, feed_id)
    unsubscribe_retired(session, settings)
    return wanted


def unsubscribe_retired(session: Session, settings: Settings) -> list[int]:
    """A retired feed (HTTP 410) or one an editor paused needs no pushes: tell its hub, so it stops calling us."""
    subs = session.scalars(
        select(HubSubscription).join(Feed, Feed.id == HubSubscription.feed_id)
        .where(Feed.status != "active", HubSubscription.state.in_(["active", "requested"]))
    ).all()
    for sub in subs:
        sub.state = "unsubscribed"  # verify_intent confirms the hub's unsubscribe check from this state
        session.commit()
        error = _post_to_hub(settings, sub.hub_url, {
            "hub.mode": "unsubscribe", "hub.topic": sub.topic_url,
            "hub.callback": callback_url(settings, sub.feed_id, sub.secret)})
        sub.last_error = error
        session.commit()
    return [sub.feed_id for sub in subs]


def _needs_subscribe(feed: Feed, sub: HubSubscription | None, now: datetime) -> bool:
    if sub is None or sub.hub_url != feed.hub_url or sub.topic_url != feed.url:
        return True
    if sub.state == "requested":  # the hub never called back: ask again after an hour
        return sub.requested_at is None or now - sub.requested_at > timedelta(hours=1)
    if sub.state == "unsubscribed":  # a paused feed resumed
        return True
    if sub.state in {"failed", "denied"}:
        return sub.requested_at is None or now - sub.requested_at > timedelta(days=1)
    if sub.state == "active" and sub.expires_at and sub.lease_seconds:
        margin = max(timedelta(seconds=sub.lease_seconds * RENEW_FRACTION), timedelta(days=1))
        return sub.expires_at - now < min(margin, timedelta(seconds=sub.lease_seconds / 2))
    return False


def subscribe(session: Session, settings: Settings, feed_id: int) -> HubSubscription:
    """Ask the feed's hub for pushes. The row (with a fresh secret) is committed before the request, because
    a hub may call our callback to verify before it even answers."""
    feed = session.get(Feed, feed_id)
    if feed is None or not feed.hub_url:
        raise NotFoundError(f"feed {feed_id} has no WebSub hub")
    sub = session.scalar(select(HubSubscription).where(HubSubscription.feed_id == feed_id))
    if sub is None:
        sub = HubSubscription(feed_id=feed_id, hub_url=feed.hub_url, topic_url=feed.url, secret="")
        session.add(sub)
    sub.hub_url, sub.topic_url, sub.state = feed.hub_url, feed.url, "requested"
    sub.secret, sub.requested_at, sub.last_error = secrets.token_hex(32), utcnow(), None
    session.commit()
    error = _post_to_hub(settings, sub.hub_url, {
        "hub.mode": "subscribe", "hub.topic": sub.topic_url,
        "hub.callback": callback_url(settings, feed_id, sub.secret),
        "hub.secret": sub.secret, "hub.lease_seconds": str(settings.websub_lease_seconds),
    })
    if error:
        sub.state, sub.last_error = "failed", error
    session.commit()
    return sub


def _post_to_hub(settings: Settings, hub_url: str, form: dict[str, str]) -> str | None:
    """POST the subscription request through the same SSRF guard as feed fetches; the error, if any."""
    policy = Policy.of(settings)
    try:
        check_url(hub_url, policy=policy)
        with make_client(policy=policy, timeout=settings.fetch_timeout, max_connections=1) as client:
            response = client.post(hub_url, data=form)
    except (PublisherError, httpx.HTTPError, httpx.InvalidURL) as exc:
        return f"could not reach the hub {hub_url}: {exc}"
    if response.status_code not in (202, 204) and not 200 <= response.status_code < 300:
        return f"the hub {hub_url} refused the subscription: {response.status_code} {response.text[:200]}"
    return None


def verify_intent(session: Session, settings: Settings, feed_id: str | int, token: str, check: Verification,
                  now: datetime) -> str:
    """The hub's verification of intent: the challenge to echo back. NotFoundError (answer 404) when we did
    not ask for this: not this callback's secret, another topic, or a mode we did not request;
    InvalidInputError (400) for a lease that is no number of seconds."""
    sub = subscription_at(session, feed_id, token)
    if check.topic != sub.topic_url or not check.challenge:
        raise NotFoundError(NOT_OURS)
    if check.mode == "subscribe" and sub.state in {"requested", "active"}:
        lease = lease_seconds(check.lease_seconds, settings.websub_lease_seconds)
        sub.state, sub.verified_at, sub.lease_seconds = "active", now, lease
        sub.expires_at = now + timedelta(seconds=lease)
        return check.challenge
    if check.mode == "unsubscribe" and sub.state == "unsubscribed":
        return check.challenge
    raise NotFoundError(NOT_OURS)


def record_denial(session: Session, feed_id: str | int, token: str, topic: str, reason: str | None) -> None:
    """The hub said no (hub.mode=denied): keep polling, and say why."""
    sub = subscription_at(session, feed_id, token)
    if sub.topic_url != topic:
        raise NotFoundError(NOT_OURS)
    sub.state, sub.last_error = "denied", f"the hub denied the subscription: {reason or 'no reason given'}"


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature: "method=hex" with an HMAC of the body under our secret; unsigned is invalid."""
    method, _, given = (header or "").strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.lower())
    if digest is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def receive_push(session: Session, settings: Settings, sub: HubSubscription, body: bytes,
                 content_type: str | None, signature: str | None) -> feed_service.RefreshResult | None:
    """A hub's content distribution to a callback that named `sub` (see subscription_at). Per the spec, a
    message whose signature does not match is ignored (the caller still answers 2xx); None then."""
    feed = session.get(Feed, sub.feed_id)
    if feed is None or feed.status != "active" or sub.state != "active" or not signature_valid(sub.secret, body, signature):
        return None
    sub.last_push_at = utcnow()
    return feed_service.ingest_pushed(session, settings, feed, body, content_type)
