"""VERP return paths: a bounce names the digest and the subscriber it was for, and cannot be forged.

The envelope sender of each message is `bounce-<digest>-<subscriber>-<hmac8>@<bounce domain>`. A bounce comes
back to that address, so the bounce handler learns which delivery failed without parsing the (unreliable)
DSN body. The HMAC stops anyone from unsubscribing others by mailing forged bounce addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_PREFIX = "bounce"
_ADDRESS_RE = re.compile(rf"{_PREFIX}-(\d{{1,18}})-(\d{{1,18}})-([0-9a-f]{{8}})@[^@\s]+", re.IGNORECASE)


def verp_address(secret_key: str, *, digest_id: int, subscriber_id: int, domain: str) -> str:
    """The per-recipient envelope sender (Return-Path) of one delivery."""
    return f"{_PREFIX}-{digest_id}-{subscriber_id}-{_mac(secret_key, digest_id, subscriber_id)}@{domain}"


def parse_verp(secret_key: str, address: str) -> tuple[int, int] | None:
    """(digest_id, subscriber_id) of a bounce address we made; None when not ours or the HMAC is wrong."""
    match = _ADDRESS_RE.fullmatch(address.strip().strip("<>"))
    if not match:
        return None
    digest_id, subscriber_id = int(match[1]), int(match[2])
    # Some relays lower-case the local part, so the hex digest is compared case-insensitively.
    if not hmac.compare_digest(match[3].lower(), _mac(secret_key, digest_id, subscriber_id)):
        return None
    return digest_id, subscriber_id


def _mac(secret_key: str, digest_id: int, subscriber_id: int) -> str:
    message = f"verp:{digest_id}:{subscriber_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:8]
