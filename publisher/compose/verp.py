"""Signed delivery identities: a bounce or a complaint names the digest and the subscriber it was for, and
cannot be forged.

The envelope sender of each message is `bounce-<digest>-<subscriber>-<hmac8>@<bounce domain>`. A bounce comes
back to that address, so the bounce handler learns which delivery failed without parsing the (unreliable)
DSN body. The Message-ID, `<digest-<d>.subscriber-<s>.<hmac16>@<domain>>`, is signed the same way: a
complaint (ARF) usually comes to a plain address, and the Message-ID in the copy of our message it encloses
is then the only thing that says whose it was. Anything unsigned is only a stranger's claim.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_PREFIX = "bounce"
_ADDRESS_RE = re.compile(rf"{_PREFIX}-(\d{{1,18}})-(\d{{1,18}})-([0-9a-f]{{8}})@[^@\s]+", re.IGNORECASE)
_MESSAGE_ID_RE = re.compile(r"<digest-(\d{1,18})\.subscriber-(\d{1,18})\.([0-9a-f]{16})@[^@\s<>]+>",
                            re.IGNORECASE)


def verp_address(secret_key: str, *, digest_id: int, subscriber_id: int, domain: str) -> str:
    """The per-recipient envelope sender (Return-Path) of one delivery."""
    return f"{_PREFIX}-{digest_id}-{subscriber_id}-{_mac(secret_key, 'verp', digest_id, subscriber_id, 8)}@{domain}"


def parse_verp(secret_key: str, address: str) -> tuple[int, int] | None:
    """(digest_id, subscriber_id) of a bounce address we made; None when not ours or the HMAC is wrong."""
    match = _ADDRESS_RE.fullmatch(address.strip().strip("<>"))
    if not match:
        return None
    # Some relays lower-case the local part, so the hex digest is compared case-insensitively.
    return _checked(secret_key, "verp", match, 8)


def message_id(secret_key: str, *, digest_id: int, subscriber_id: int, domain: str) -> str:
    """The Message-ID of one delivery: stable (a retry carries the same one) and signed."""
    mac = _mac(secret_key, "msgid", digest_id, subscriber_id, 16)
    return f"<digest-{digest_id}.subscriber-{subscriber_id}.{mac}@{domain}>"


def parse_message_id(secret_key: str, value: str) -> tuple[int, int] | None:
    """(digest_id, subscriber_id) of a Message-ID we made; None for any other, or a wrong HMAC."""
    match = _MESSAGE_ID_RE.fullmatch(" ".join(value.split()))
    return _checked(secret_key, "msgid", match, 16) if match else None


def _checked(secret_key: str, purpose: str, match: re.Match, length: int) -> tuple[int, int] | None:
    digest_id, subscriber_id = int(match[1]), int(match[2])
    if not hmac.compare_digest(match[3].lower(), _mac(secret_key, purpose, digest_id, subscriber_id, length)):
        return None
    return digest_id, subscriber_id


def _mac(secret_key: str, purpose: str, digest_id: int, subscriber_id: int, length: int) -> str:
    # The purpose is part of the signed text: a VERP signature is never a valid Message-ID one.
    message = f"{purpose}:{digest_id}:{subscriber_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:length]


# Transactional mail (a confirmation, a test send) has no digest: its row in the `mails` ledger names it.
_MAIL_ADDRESS_RE = re.compile(rf"{_PREFIX}-m(\d{{1,18}})-([0-9a-f]{{8}})@[^@\s]+", re.IGNORECASE)


def mail_verp_address(secret_key: str, *, mail_id: int, domain: str) -> str:
    """The envelope sender of one transactional mail: `bounce-m<mail>-<hmac8>@<bounce domain>`."""
    return f"{_PREFIX}-m{mail_id}-{_mail_mac(secret_key, 'mail-verp', mail_id, 8)}@{domain}"


def parse_mail_verp(secret_key: str, address: str) -> int | None:
    """The mail id of a transactional bounce address we made; None when not ours or the HMAC is wrong."""
    match = _MAIL_ADDRESS_RE.fullmatch(address.strip().strip("<>"))
    if not match or not hmac.compare_digest(match[2].lower(), _mail_mac(secret_key, "mail-verp", int(match[1]), 8)):
        return None
    return int(match[1])


def mail_message_id(secret_key: str, *, mail_id: int, domain: str) -> str:
    """The Message-ID of one transactional mail: stable across retries, and signed."""
    return f"<mail-{mail_id}.{_mail_mac(secret_key, 'mail-msgid', mail_id, 16)}@{domain}>"


def _mail_mac(secret_key: str, purpose: str, mail_id: int, length: int) -> str:
    return hmac.new(secret_key.encode(), f"{purpose}:{mail_id}".encode(), hashlib.sha256).hexdigest()[:length]
