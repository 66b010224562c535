"""Signed tokens for links in mails: purpose and ids inside, HMAC over them, so a link cannot be forged or
turned into another subscriber's link."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from publisher.errors import InvalidInputError

UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class SubscriptionRef:
    subscriber_id: int
    list_id: int


def make_token(secret_key: str, purpose: str, ref: SubscriptionRef) -> str:
    return URLSafeSerializer(secret_key, salt=purpose).dumps([ref.subscriber_id, ref.list_id])


def read_token(secret_key: str, purpose: str, token: str) -> SubscriptionRef:
    try:
        subscriber_id, list_id = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidInputError("this link is not valid (it may have been mistyped or altered)") from None
    return SubscriptionRef(int(subscriber_id), int(list_id))
