"""Signed tokens for links in mails: purpose and ids inside, HMAC over them, so a link cannot be forged or
turned into another subscriber's link. The purpose is the salt: a confirm token is no unsubscribe token."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from publisher.errors import InvalidInputError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
CONFIRM = "confirm"


class ExpiredTokenError(InvalidInputError):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class SubscriptionRef:
    subscriber_id: int
    list_id: int


def make_token(secret_key: str, purpose: str, ref: SubscriptionRef) -> str:
    return URLSafeSerializer(secret_key, salt=purpose).dumps([ref.subscriber_id, ref.list_id])


def read_token(secret_key: str, purpose: str, token: str) -> SubscriptionRef:
    try:
        payload = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except BadSignature:
        raise InvalidInputError("this link is not valid (it may have been mistyped or altered)") from None
    return _ref(payload)


def make_expiring_token(secret_key: str, purpose: str, ref: SubscriptionRef) -> str:
    """Like make_token, with the signing time inside: read_expiring_token refuses it after max_age."""
    return URLSafeTimedSerializer(secret_key, salt=purpose).dumps([ref.subscriber_id, ref.list_id])


def read_expiring_token(secret_key: str, purpose: str, token: str, *, max_age_seconds: float) -> SubscriptionRef:
    serializer = URLSafeTimedSerializer(secret_key, salt=purpose)
    try:
        payload = serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise ExpiredTokenError("this link has expired: please sign up again to get a fresh one") from None
    except BadSignature:
        raise InvalidInputError("this link is not valid (it may have been mistyped or altered)") from None
    return _ref(payload)


def _ref(payload) -> SubscriptionRef:
    try:
        subscriber_id, list_id = payload
        return SubscriptionRef(int(subscriber_id), int(list_id))
    except (ValueError, TypeError):
        raise InvalidInputError("this link is not valid (it may have been mistyped or altered)") from None
