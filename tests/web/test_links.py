"""Links in mails: unsubscribe (GET changes nothing, POST and RFC 8058 one-click do), confirm and the
preference center; tampered, cross-purpose and expired tokens are refused with a page and a 4xx."""

from __future__ import annotations

import itertools
import time

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode
from sqlalchemy import select

from publisher.db import session_scope
from publisher.models import (
    Delivery,
    EditionSlot,
    Subscriber,
    Subscription,
    Suppression,
)
from publisher.models.base import utcnow
from publisher.services.digests import compose_digest
from publisher.services.subscribers import subscribe
from publisher.tokens import (
    CONFIRM,
    PREFERENCES,
    UNSUBSCRIBE,
    SubscriptionRef,
    make_expiring_token,
    make_token,
)
from tests.support.consent import add_post


@pytest.fixture
def people(settings, news):
    with session_scope() as session:
        subs = [subscribe(session, news, email=f"p{i}@example.com", name=f"P{i}", confirmed=True) for i in range(100)]
        return [SubscriptionRef(s.subscriber_id, s.list_id) for s in subs]


def _email(ref: SubscriptionRef) -> str:
    with session_scope() as session:
        return session.get(Subscriber, ref.subscriber_id).email


def _token(settings, purpose, ref):
    return make_token(settings.resolved_secret_key(), purpose, ref, email=_email(ref))


def _statuses() -> list[str]:
    with session_scope() as session:
        return session.scalars(select(Subscription.status).order_by(Subscription.id)).all()


def test_a_hundred_gets_on_unsubscribe_links_change_nothing(client, settings, people):
    before = _statuses()
    codes = {client.get(f"/unsubscribe/{_token(settings, UNSUBSCRIBE, ref)}").status_code for ref in people}
    after = _statuses()
    changed = sum(a != b for a, b in zip(before, after))
    print(f"\n100 GETs on unsubscribe links: {changed} subscriptions changed")
    assert codes == {200} and changed == 0 and set(after) == {"confirmed"}


def test_one_click_post_excludes_the_address_from_the_next_send(client, settings, news, people):
    victim = people[0]
    response = client.post(f"/unsubscribe/{_token(settings, UNSUBSCRIBE, victim)}",
                           data={"List-Unsubscribe": "One-Click"})  # no cookie, no login
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    with session_scope() as session:
        add_post(session, news, "After the unsubscribe", at=utcnow())
        digest = compose_digest(session, settings, news)
        recipients = digest.recipient_count
        emails = set(session.scalars(select(Delivery.email).where(Delivery.digest_id == digest.id)))
    assert recipients == 99 and "p0@example.com" not in emails
    # The one-click POST is idempotent, and the address is on the list's suppression list.
    assert client.post(f"/unsubscribe/{_token(settings, UNSUBSCRIBE, victim)}",
                       data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with session_scope() as session:
        entry = session.scalar(select(Suppression))
        assert (entry.reason, entry.list_id, entry.source) == ("unsubscribe", news.id, "one-click")


def _decoded(token: str):
    """The bytes a token stands for: base64 ignores the spare low bits of a segment's last character, so
    'changing' only those bits is no change at all (and no forgery)."""
    try:
        return tuple(base64_decode(segment) for segment in token.split("."))
    except Exception:  # noqa: BLE001 - undecodable: certainly a different token
        return None


def _tampered(token: str):
    """Many different corruptions of a genuine token."""
    alphabet = "AbZ09-_."
    for i in range(0, len(token), max(1, len(token) // 25)):
        for c in alphabet[:3]:
            variant = token[:i] + c + token[i + 1:]
            if token[i] != c and _decoded(variant) != _decoded(token):
                yield variant
    yield token[:-1]
    yield token + "A"
    yield token[::-1]
    payload, _, signature = token.rpartition(".")
    yield payload + "." + signature.swapcase()
    yield "W1swLDBdXQ." + signature  # [0,0] with the genuine signature


def test_every_tampered_or_cross_purpose_token_is_rejected(client, settings, people):
    ref = people[1]
    genuine = {
        "unsubscribe": _token(settings, UNSUBSCRIBE, ref),
        "preferences": _token(settings, PREFERENCES, ref),
        "confirm": make_expiring_token(settings.resolved_secret_key(), CONFIRM, ref, email=_email(ref)),
    }
    forged = [(path, bad) for path, token in genuine.items() for bad in _tampered(token)]
    # A token made for one purpose is refused for another (the preference center also takes the digest's
    # unsubscribe token), and one signed with another key everywhere.
    forged += [(path, token) for (path, _), (other, token) in itertools.product(genuine.items(), genuine.items())
               if path != other and (path, other) != ("preferences", "unsubscribe")]
    forged += [(path, make_token("another-key", UNSUBSCRIBE, ref, email=_email(ref))) for path in genuine]
    before = _statuses()
    rejected = 0
    for path, token in forged:
        get = client.get(f"/{path}/{token}")
        post = client.post(f"/{path}/{token}", data={"List-Unsubscribe": "One-Click"})
        if 400 <= get.status_code < 500 and 400 <= post.status_code < 500 and "does not work" in post.text:
            rejected += 1
    print(f"\ntampered tokens rejected: {rejected}/{len(forged)} ({100 * rejected // len(forged)}%)")
    assert rejected == len(forged) and len(forged) > 200
    assert _statuses() == before


def test_an_expired_confirmation_link_says_so_with_410(client, settings, news):
    with session_scope() as session:
        pending = subscribe(session, news, email="late@example.com")
        ref = SubscriptionRef(pending.subscriber_id, news.id)
    old = URLSafeTimedSerializer(settings.resolved_secret_key(), salt=CONFIRM)
    token = _signed_at(old, [ref.subscriber_id, ref.list_id, "x", None], time.time() - 49 * 3600)
    response = client.post(f"/confirm/{token}")
    assert response.status_code == 410 and "expired" in response.text
    with session_scope() as session:
        assert session.scalar(select(Subscription.status)) == "pending"


def _signed_at(serializer: URLSafeTimedSerializer, payload, when: float) -> str:
    signer = serializer.make_signer()
    signer.get_timestamp = lambda: int(when)
    return signer.sign(serializer.dump_payload(payload)).decode()


def test_the_digests_unsubscribe_token_opens_the_preference_center(client, settings, people):
    page = client.get(f"/preferences/{_token(settings, UNSUBSCRIBE, people[3])}")
    assert page.status_code == 200 and "p3@example.com" in page.text


def test_preference_center_changes_name_cadence_and_time_zone(client, settings, news, people):
    token = _token(settings, PREFERENCES, people[2])
    page = client.get(f"/preferences/{token}")
    assert page.status_code == 200 and "p2@example.com" in page.text and "<script" not in page.text
    key = str(news.id)
    saved = client.post(f"/preferences/{token}", data={"name": "Pat", f"list-{key}": "on",
                                                       f"cadence-{key}": "weekly", f"timezone-{key}": "Asia/Tokyo"})
    assert saved.status_code == 200 and "Saved." in saved.text
    with session_scope() as session:
        sub = session.scalar(select(Subscription).where(Subscription.subscriber_id == people[2].subscriber_id))
        assert (sub.cadence, sub.timezone, sub.status) == ("weekly", "Asia/Tokyo", "confirmed")
        assert session.get(Subscriber, people[2].subscriber_id).name == "Pat"
        # The new edition starts at its next slot, not at one that already passed.
        assert session.get(EditionSlot, (news.id, "weekly", "Asia/Tokyo")).last_slot_at <= utcnow()
    bad = client.post(f"/preferences/{token}", data={f"list-{key}": "on", f"timezone-{key}": "Mars/Olympus"})
    assert bad.status_code == 422 and "unknown time zone" in bad.text
    left = client.post(f"/preferences/{token}", data={"name": "Pat"})  # the box unticked: unsubscribed
    assert left.status_code == 200
    with session_scope() as session:
        assert session.scalar(select(Subscription.status).where(
            Subscription.subscriber_id == people[2].subscriber_id)) == "unsubscribed"
