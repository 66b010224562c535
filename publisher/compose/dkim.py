"""DKIM (RFC 6376, and RFC 8463 for Ed25519): sign each outgoing message, make key pairs and DNS records.

Signing is per message (To, Date and the personal links differ), so it must cost little: the key is parsed
once per process, the body hash is one SHA-256 over bytes we already hold, and the signature is one call into
OpenSSL through `cryptography` (dkimpy re-parses the PEM and canonicalises in pure Python on every call:
~8 ms for a 73 KB digest against ~0.3 ms here, see benchmarks/render.py).

Canonicalisation is relaxed for headers (relays re-fold them) and simple for the body: our bodies are CRLF,
quoted-printable, without trailing whitespace, so their simple form is the bytes as they are, with no per-line
rewrite. The signature covers what receivers and the Gmail/Yahoo bulk-sender rules care about, including
List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 requires both signed). dkimpy verifies in the tests.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import ConfigError

SIGNED_HEADERS = (
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Id", b"List-Unsubscribe",
    b"List-Unsubscribe-Post", b"MIME-Version", b"Content-Type",
)
RSA, ED25519 = "rsa-sha256", "ed25519-sha256"
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_WSP_RUN = re.compile(rb"[ \t]+")
_FIELD_START = re.compile(rb"^(?=[^ \t])", re.MULTILINE)


@dataclass(frozen=True)
class DKIMKey:
    """One signing identity: selector, domain, algorithm and the parsed private key."""

    selector: str
    domain: str
    algorithm: str  # RSA or ED25519
    private_key: object  # a cryptography private key

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if self.algorithm == ED25519:
            # RFC 8463: PureEdDSA over the SHA-256 digest of the canonicalised header data.
            return self.private_key.sign(hashlib.sha256(data).digest())
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class DKIMSigner:
    """Signs messages with one or more keys (an RSA signature, and optionally an Ed25519 one beside it)."""

    def __init__(self, keys: list[DKIMKey], *, headers: tuple[bytes, ...] = SIGNED_HEADERS):
        self.keys = keys
        self._wanted = {name.lower() for name in headers}
        self._order = [name.lower() for name in headers]

    def __eq__(self, other: object) -> bool:
        # Equal when they sign alike: the same parsed keys (one object per key file, see _parsed_key).
        return isinstance(other, DKIMSigner) and (self.keys, self._order) == (other.keys, other._order)

    def __hash__(self) -> int:
        return hash((tuple(self.keys), tuple(self._order)))

    def sign(self, message: bytes, *, now: int | None = None) -> bytes:
        """The message with a DKIM-Signature header per key on top."""
        split = message.index(b"\r\n\r\n") + 2
        body_hash = hashlib.sha256(simple_body(message[split + 2:])).digest()
        return self.signature(message[:split], body_hash, now=now) + message

    def signature(self, head: bytes, body_hash: bytes, *, now: int | None = None) -> bytes:
        """The DKIM-Signature header fields (one per key) for a message whose header fields are `head` (each
        ending in CRLF, without the empty line) and whose body's simple canonical form has SHA-256 digest
        `body_hash`: a caller that builds the body in segments hashes them without joining them first."""
        fields = self._signed_fields(head)
        names = b":".join(name for name, _ in fields)
        signed = b"".join(relaxed_header(field) for _, field in fields)
        stamp = int(time.time()) if now is None else now
        out = []
        for key in self.keys:
            prefix = (f"DKIM-Signature: v=1; a={key.algorithm}; c=relaxed/simple; d={key.domain};\r\n"
                      f"\ts={key.selector}; t={stamp}; h=").encode() + _fold_list(names) + \
                     b";\r\n\tbh=" + base64.b64encode(body_hash) + b";\r\n\tb="
            signature = key.sign(signed + relaxed_header(prefix).removesuffix(b"\r\n"))
            out.append(prefix + _fold_base64(base64.b64encode(signature)) + b"\r\n")
        return b"".join(out)

    def _signed_fields(self, head: bytes) -> list[tuple[bytes, bytes]]:
        """(lower-cased name, raw field) of the headers we sign, in our order; the last instance of a name is the
        one a verifier takes first (RFC 6376 5.4.2), and we write each once."""
        found: dict[bytes, bytes] = {}
        for field in _FIELD_START.split(head):
            if field:
                name = field.split(b":", 1)[0].strip().lower()
                if name in self._wanted:
                    found[name] = field
        return [(name, found[name]) for name in self._order if name in found]


def relaxed_header(field: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfold, runs of whitespace to one space, none around the colon or at
    the end."""
    name, _, value = field.partition(b":")
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def simple_body(body: bytes) -> bytes | memoryview:
    """RFC 6376 3.4.3: the body as is, with empty lines at its end removed (an empty body is one CRLF)."""
    end = len(body)
    while body.endswith(b"\r\n\r\n", 0, end):
        end -= 2
    if end == 0:
        return b"\r\n"
    if not body.endswith(b"\r\n", 0, end):
        return body[:end] + b"\r\n"
    return memoryview(body)[:end]  # no copy of the 70 KB we already hold


def _fold_list(names: bytes) -> bytes:
    return b":\r\n\t".join(b":".join(names.split(b":")[i:i + 5]) for i in range(0, names.count(b":") + 1, 5))


def _fold_base64(value: bytes) -> bytes:
    return b"\r\n\t".join(value[i:i + 72] for i in range(0, len(value), 72))


# --- keys ---------------------------------------------------------------------------------------------------

def load_signer(settings) -> DKIMSigner | None:
    """A signer when PUBLISHER_DKIM_SELECTOR, _DOMAIN and _KEY_FILE are all set (plus an Ed25519 key beside it
    when PUBLISHER_DKIM_ED25519_SELECTOR and _KEY_FILE are set); None when none is."""
    values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)
    if not any(values):
        return None
    if not all(values):
        raise ConfigError("DKIM needs PUBLISHER_DKIM_SELECTOR, PUBLISHER_DKIM_DOMAIN and PUBLISHER_DKIM_KEY_FILE")
    domain = _domain(settings.dkim_domain)
    keys = [_load_key(str(settings.dkim_key_file), _label(settings.dkim_selector, "selector"), domain)]
    ed_selector = getattr(settings, "dkim_ed25519_selector", None)
    ed_file = getattr(settings, "dkim_ed25519_key_file", None)
    if bool(ed_selector) != bool(ed_file):
        raise ConfigError("an Ed25519 DKIM signature needs PUBLISHER_DKIM_ED25519_SELECTOR and "
                          "PUBLISHER_DKIM_ED25519_KEY_FILE")
    if ed_selector:
        keys.append(_load_key(str(ed_file), _label(ed_selector, "Ed25519 selector"), domain))
    return DKIMSigner(keys)


def _load_key(path: str, selector: str, domain: str) -> DKIMKey:
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"cannot read the DKIM key file {path}: {exc.strerror}") from exc
    return _parsed_key(path, stamp, selector, domain)


@functools.lru_cache(maxsize=8)
def _parsed_key(path: str, _mtime_ns: int, selector: str, domain: str) -> DKIMKey:
    """Parsed once per process (and again only if the file changes): PEM parsing costs more than signing."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"cannot read the DKIM key file {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the DKIM key file {path} is not an unencrypted PEM private key ({exc})") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise ConfigError(f"the DKIM key in {path} has {key.key_size} bits: receivers need at least 1024")
        return DKIMKey(selector, domain, RSA, key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return DKIMKey(selector, domain, ED25519, key)
    raise ConfigError(f"the DKIM key in {path} is neither RSA nor Ed25519")


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    dns_name: str  # "<selector>._domainkey.<domain>"
    txt_record: str  # "v=DKIM1; k=rsa; p=..."


def generate_key(selector: str, domain: str, *, bits: int = 2048, algorithm: str = "rsa") -> KeyPair:
    """A new key and the TXT record that publishes its public half (k=rsa, or k=ed25519 per RFC 8463)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        private_format = serialization.PrivateFormat.PKCS8
    elif algorithm == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        private_format = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        raise ConfigError(f"DKIM key algorithm must be rsa or ed25519, got {algorithm!r}")
    return KeyPair(
        private_pem=key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()),
        dns_name=f"{_label(selector, 'selector')}._domainkey.{_domain(domain)}",
        txt_record=f"v=DKIM1; k={algorithm}; p={base64.b64encode(public).decode('ascii')}",
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
