"""Signed tokens for links in mails: purpose and ids inside, HMAC over them, so a link cannot be forged or
turned into another subscriber's link. The purpose is the salt: a confirm token is no unsubscribe token.

A token also carries a keyed fingerprint of the address it was mailed to (its holder). Ids are not forever:
SQLite gives a deleted row's id to the next sign-up, a restored backup gives out ids again. A link works
only while the subscriber it names still has the address it was sent to, so it dies with its person and
never opens a newcomer's page."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import functools

from itsdangerous import (
    BadSignature,
    Serializer,
    SignatureExpired,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_encode

from publisher.errors import InvalidInputError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
CONFIRM = "confirm"

_INVALID = "this link is not valid (it may have been mistyped or altered)"


class ExpiredTokenError(InvalidInputError):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class SubscriptionRef:
    subscriber_id: int
    list_id: int


@dataclass(frozen=True)
class LinkRef:
    """What a link names: a subscription, the holder's fingerprint, and (confirm links) the name given."""

    subscriber_id: int
    list_id: int
    holder: str
    name: str | None = None

    def is_held_by(self, secret_key: str, email: str) -> bool:
        return hmac.compare_digest(self.holder, holder_of(secret_key, email))


def holder_of(secret_key: str, email: str) -> str:
    """A keyed fingerprint of an address (72 bits): tells one person's link from a newcomer's, reveals nothing."""
    mac = hmac.new(secret_key.encode(), b"holder:" + email.strip().lower().encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:9]).decode()


class _LinkSerializer(URLSafeSerializer):
    """itsdangerous's URL-safe tokens without the zlib attempt. It keeps the compressed form only when shorter,
    which a ~40-byte payload never is, so the tokens are the same; but each attempt sets up 256 KB of deflate
    state, 0.16 ms per token, half an RSA signature, on every message of a send. Reading is unchanged."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


@functools.lru_cache(maxsize=16)
def _serializer(secret_key: str, purpose: str) -> _LinkSerializer:
    return _LinkSerializer(secret_key, salt=purpose)


def make_token(secret_key: str, purpose: str, ref: SubscriptionRef, *, email: str) -> str:
    return _serializer(secret_key, purpose).dumps(_payload(secret_key, ref, email))


def read_token(secret_key: str, purpose: str, token: str) -> LinkRef:
    try:
        payload = _serializer(secret_key, purpose).loads(token)
    except BadSignature:
        raise InvalidInputError(_INVALID) from None
    return _ref(payload)


def make_expiring_token(secret_key: str, purpose: str, ref: SubscriptionRef, *, email: str,
                        name: str | None = None) -> str:
    """Like make_token, with the signing time inside: read_expiring_token refuses it after max_age.
    A confirm link carries the name the sign-up gave: it is the mailbox owner's click that makes it stick."""
    return URLSafeTimedSerializer(secret_key, salt=purpose).dumps(_payload(secret_key, ref, email) + [name])


def read_expiring_token(secret_key: str, purpose: str, token: str, *, max_age_seconds: float) -> LinkRef:
    serializer = URLSafeTimedSerializer(secret_key, salt=purpose)
    try:
        payload = serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise ExpiredTokenError("this link has expired: please sign up again to get a fresh one") from None
    except BadSignature:
        raise InvalidInputError(_INVALID) from None
    return _ref(payload)


def _payload(secret_key: str, ref: SubscriptionRef, email: str) -> list:
    return [ref.subscriber_id, ref.list_id, holder_of(secret_key, email)]


def _ref(payload) -> LinkRef:
    if isinstance(payload, list) and len(payload) == 2:
        # Genuine, but from before links named their holder: the bare id may belong to someone else now.
        raise ExpiredTokenError("this link comes from an older mail and no longer works: "
                                "use the link in your most recent mail")
    try:
        subscriber_id, list_id, holder, *rest = payload
        name = rest[0] if rest else None
        if not isinstance(holder, str) or not (name is None or isinstance(name, str)) or len(rest) > 1:
            raise TypeError
        return LinkRef(int(subscriber_id), int(list_id), holder, name)
    except (ValueError, TypeError):
        raise InvalidInputError(_INVALID) from None
