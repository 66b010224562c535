"""DKIM: sign each outgoing message with dkimpy, and make the key pair and DNS record to publish.

The signature covers the headers a receiver (and the Gmail/Yahoo bulk-sender rules) cares about: From,
Subject, Date, Message-ID, the List-* headers, To and the MIME headers. It must be made per message
(the To, Date and body differ), which costs one RSA signature each: see benchmarks/render.py.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import dkim

from publisher.errors import ConfigError

SIGNED_HEADERS = (
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Id", b"List-Unsubscribe",
    b"List-Unsubscribe-Post", b"MIME-Version", b"Content-Type",
)
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class DKIMSigner:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header on top."""
        signature = dkim.sign(
            message, self.selector.encode(), self.domain.encode(), self.private_key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS), linesep=b"\r\n",
        )
        return signature + message


def load_signer(settings) -> DKIMSigner | None:
    """A signer when PUBLISHER_DKIM_SELECTOR, _DOMAIN and _KEY_FILE are all set; None when none is."""
    values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)
    if not any(values):
        return None
    if not all(values):
        raise ConfigError("DKIM needs PUBLISHER_DKIM_SELECTOR, PUBLISHER_DKIM_DOMAIN and PUBLISHER_DKIM_KEY_FILE")
    try:
        key = Path(settings.dkim_key_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read PUBLISHER_DKIM_KEY_FILE {settings.dkim_key_file}: {exc.strerror}") from exc
    if b"PRIVATE KEY-----" not in key:
        raise ConfigError(f"PUBLISHER_DKIM_KEY_FILE {settings.dkim_key_file} is not a PEM private key")
    return DKIMSigner(_label(settings.dkim_selector, "selector"), _domain(settings.dkim_domain), key)


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    dns_name: str  # "<selector>._domainkey.<domain>"
    txt_record: str  # "v=DKIM1; k=rsa; p=..."


def generate_key(selector: str, domain: str, *, bits: int = 2048) -> KeyPair:
    """A new RSA key and the TXT record that publishes its public half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(
        private_pem=private_pem,
        dns_name=f"{_label(selector, 'selector')}._domainkey.{_domain(domain)}",
        txt_record=f"v=DKIM1; k=rsa; p={base64.b64encode(public_der).decode('ascii')}",
    )


def _label(value: str, what: str) -> str:
    if not _LABEL_RE.fullmatch(value or ""):
        raise ConfigError(f"DKIM {what} {value!r} must be a DNS label (letters, digits, hyphens)")
    return value


def _domain(value: str) -> str:
    labels = (value or "").strip().rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise ConfigError(f"DKIM domain {value!r} is not a domain name like example.com")
    return ".".join(labels).lower()
