"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the publisher's secret
key with HKDF, so the database alone never reveals a token, an app password or a webhook secret."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from publisher.errors import ConfigError

_INFO = b"publisher crosspost credentials v1"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"publisher", info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, value: str | dict | None) -> str | None:
    if value is None:
        return None
    plain = json.dumps(value) if isinstance(value, dict) else value
    return _fernet(secret_key).encrypt(plain.encode()).decode()


def unseal(secret_key: str, token: str | None, *, what: str) -> str | None:
    if token is None:
        return None
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigError(f"cannot decrypt the credentials of {what}: PUBLISHER_SECRET_KEY changed since they "
                          f"were stored; remove the target and add it again") from None
