"""Per-subscriber work: substitute the placeholders of a rendered digest and build the RFC 5322 message.

This runs once per recipient, so it must cost almost nothing. `prepare` does the expensive part once per
digest: it cuts each body at its placeholders and quoted-printable-encodes the static pieces, ending every
piece with a soft line break so a substituted value always starts at column 0. `Prepared.build` then
encodes only the few personal values and joins bytes. The result is ordinary MIME: any parser decodes it to
exactly `personalize(...)`.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parseaddr

from publisher.compose.headers import (
    address_header,
    encode_header,
    fold_verbatim,
    folded_header,
    header_url,
    list_id_value,
    message_id_value,
    shorten,
)
from publisher.compose.render import NAME, PLACEHOLDERS, PREFERENCES_URL, UNSUBSCRIBE_URL, RenderedDigest
from publisher.errors import InvalidInputError

FALLBACK_NAME = "there"  # "Hi there," when we do not know the subscriber's name
NAME_LIMIT = 64  # characters of a person's name we show ("To:", "Hi ..."); longer ones end in an ellipsis

_PLACEHOLDER_RE = re.compile("|".join(map(re.escape, PLACEHOLDERS)))
_SPLIT_RE = re.compile("(" + "|".join(map(re.escape, PLACEHOLDERS)) + ")")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SOFT_BREAK = b"=\r\n"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None
    unsubscribe_url: str  # https one-click URL (RFC 8058 POST target, also shown in the footer)
    unsubscribe_mailto: str  # "mailto:unsubscribe+TOKEN@domain"
    preferences_url: str
    message_id: str  # "<...@domain>", stable per digest x subscriber


def personalize(rendered: RenderedDigest, recipient: Recipient) -> RenderedDigest:
    """Swap the placeholders for this recipient's values; the HTML part gets them HTML-escaped."""
    plain = _values(recipient)
    escaped = {key: html.escape(value, quote=True) for key, value in plain.items()}
    return RenderedDigest(
        subject=_substitute(rendered.subject, plain),
        html=_substitute(rendered.html, escaped),
        text=_substitute(rendered.text, plain),
    )


def build_message(
    rendered: RenderedDigest,
    recipient: Recipient,
    *,
    sender: str,
    list_id: str,
    date: datetime | None = None,
    sender_name: str | None = None,
) -> bytes:
    """The complete message for one recipient, as CRLF bytes ready for SMTP DATA (before DKIM signing).
    Sending many? Call `prepare` once and `Prepared.build` per recipient."""
    return prepare(rendered, sender=sender, list_id=list_id, sender_name=sender_name).build(recipient, date=date)


def prepare(rendered: RenderedDigest, *, sender: str, list_id: str | None, signer=None, one_click: bool = True,
            extra_headers: tuple[tuple[str, str], ...] = (), sender_name: str | None = None) -> Prepared:
    """Everything about the message that does not depend on the recipient, encoded once.
    `signer` (a `dkim.DKIMSigner`) signs each built message. A transactional mail (a confirmation) is no
    list mail: no `list_id` and `one_click=False` leave out List-Id and List-Unsubscribe(-Post);
    `extra_headers` are fixed ones such as Auto-Submitted. `sender_name` (the blog's title) is the From
    display name when the sender has none of its own."""
    boundary = f"=_pub_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable text
    head = _from_header(sender, sender_name)
    static = (
        head
        + (folded_header("List-Id", list_id_value(list_id)) if list_id else b"")
        + b"".join(folded_header(name, value) for name, value in extra_headers)
        + b"MIME-Version: 1.0\r\n"
        + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
    )
    part_head = (
        f"--{boundary}\r\nContent-Type: text/%s; charset=\"utf-8\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    subject = " ".join(rendered.subject.split())
    text = _Body((part_head % "plain").encode(), _pieces(rendered.text), escape=False)
    html_body = _Body((part_head % "html").encode(), _pieces(rendered.html), escape=True)
    closing = f"--{boundary}--\r\n".encode()
    prefix = _static_prefix(text, html_body, closing)
    return Prepared(
        subject=None if _PLACEHOLDER_RE.search(subject) else encode_header("Subject", subject),
        subject_template=subject,
        static_headers=static,
        personal_at=len(head),
        one_click=one_click,
        text=text,
        html=html_body,
        closing=closing,
        signer=signer,
        prefix_segments=len(prefix),
        prefix_hash=hashlib.sha256(b"".join(prefix)) if signer else None,
    )


def _static_prefix(text: _Body, html_body: _Body, closing: bytes) -> list[bytes]:
    """The segments every recipient's body starts with: up to the first personal value. SHA-256 reads its
    input in order, so only a prefix can be hashed once; the part after a personal value depends on it."""
    prefix = []
    for segment in (*text.segments({}), *html_body.segments({}), closing):
        if segment is None:
            break
        prefix.append(segment)
    return prefix


def check_encodable(rendered: RenderedDigest) -> None:
    """Raise (InvalidInputError, ValueError) when the rendered content cannot become a message for anyone,
    so a digest fails when it is composed rather than at each send; the sender and list id are settings,
    checked by `prepare` when the digest is sent (a person can fix those and resume it)."""
    encode_header("Subject", _PLACEHOLDER_RE.sub(FALLBACK_NAME, " ".join(rendered.subject.split())))
    _pieces(rendered.text)
    _pieces(rendered.html)


@dataclass(frozen=True)
class _Body:
    head: bytes
    pieces: tuple[bytes | str, ...]  # encoded static bytes, or the placeholder (str) to fill in
    escape: bool  # HTML-escape the values

    def segments(self, values: dict[str, bytes]) -> list[bytes | None]:
        """The part's bytes in order, each placeholder replaced by its value (None where none is given)."""
        return [self.head, *[values.get(p) if p.__class__ is str else p for p in self.pieces], b"\r\n"]


@dataclass(frozen=True)
class Prepared:
    subject: bytes | None  # the encoded header, or None when it holds a placeholder
    subject_template: str
    static_headers: bytes
    personal_at: int  # where the personal headers go: after From, before List-Id and MIME-Version
    one_click: bool  # List-Unsubscribe with RFC 8058 one-click (list mail), or none (transactional mail)
    text: _Body
    html: _Body
    closing: bytes
    signer: object | None = None
    prefix_segments: int = 0  # how many of the body's segments precede its first personal value
    prefix_hash: object | None = None  # SHA-256 state after that prefix, copied for each message

    def build(self, recipient: Recipient, *, date: datetime | None = None) -> bytes:
        return self.assemble(recipient, date=date).signed()

    def assemble(self, recipient: Recipient, *, date: datetime | None = None) -> Assembled:
        """The recipient's message, all but its DKIM signature: a sender can overlap the signing (one call
        into OpenSSL, which lets other threads run) with whatever it waits for."""
        plain = _values(recipient)
        subject = self.subject or encode_header("Subject", _substitute(self.subject_template, plain))
        moment = (date or datetime.now(timezone.utc)).astimezone(timezone.utc)
        headers = (
            address_header("To", recipient.email, _clean_name(recipient.name))
            + subject
            + f"Date: {format_datetime(moment)}\r\n".encode()
            + f"Message-ID: {message_id_value(recipient.message_id)}\r\n".encode()
            + (_one_click_headers(recipient) if self.one_click else b"")
        )
        head = self.static_headers[:self.personal_at] + headers + self.static_headers[self.personal_at:]
        # text/plain first: multipart/alternative lists the parts from the plainest to the richest.
        body = [*self.text.segments({k: _qp(v) for k, v in plain.items()}),
                *self.html.segments({k: _qp(html.escape(v, quote=True)) for k, v in plain.items()}),
                self.closing]
        return Assembled(head, body, self.signer, self._body_hash(body) if self.signer else b"")

    def _body_hash(self, body: list[bytes]) -> bytes:
        """SHA-256 of the body's simple canonical form (RFC 6376 3.4.3), which is the body itself: it ends
        with the closing boundary's one CRLF. The static prefix was hashed once, in `prepare`."""
        hasher = self.prefix_hash.copy()
        for segment in body[self.prefix_segments:]:
            hasher.update(segment)
        return hasher.digest()


@dataclass(frozen=True)
class Assembled:
    head: bytes  # the header fields, ending with the empty line
    body: list[bytes]  # the body's segments, in order
    signer: object | None
    body_hash: bytes  # of the body's simple canonical form, when there is a signer

    def signed(self) -> bytes:
        """The message as it goes on the wire, DKIM-Signature fields on top. The ~80 KB of the body are
        copied once, here: signing read the segments as they are."""
        signature = self.signer.signature(self.head[:-2], self.body_hash) if self.signer else b""
        return b"".join((signature, self.head, *self.body))


def _one_click_headers(recipient: Recipient) -> bytes:
    unsubscribe = header_url(recipient.unsubscribe_url, "unsubscribe URL", ("https", "http"))
    mailto = header_url(recipient.unsubscribe_mailto, "unsubscribe mailto", ("mailto",))
    return (fold_verbatim("List-Unsubscribe", f"<{unsubscribe}>, <{mailto}>")
            + b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")


def _from_header(sender: str, default_name: str | None = None) -> bytes:
    display_name, address = parseaddr(sender)
    try:
        return address_header("From", address, _clean_name(display_name or default_name))
    except InvalidInputError:
        raise InvalidInputError(f"sender {sender!r} is not an address like 'News <news@example.com>'") from None


def _pieces(body: str) -> tuple[bytes | str, ...]:
    """Static text encoded once; each piece ends with a soft break unless it ends a line already."""
    out: list[bytes | str] = []
    for n, piece in enumerate(_SPLIT_RE.split(body.replace("\r\n", "\n").replace("\n", "\r\n"))):
        if n % 2:
            out.append(piece)
        elif piece:
            out.append(_qp(piece))
    return tuple(out)


def _qp(value: str) -> bytes:
    if not value:
        return b""
    encoded = binascii.b2a_qp(value.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if b"\r\n" not in encoded and b"\n" in encoded:  # b2a_qp soft-breaks with "=\n" when it saw no CRLF
        encoded = encoded.replace(b"\n", b"\r\n")
    if not encoded.endswith(b"\r\n"):
        encoded += _SOFT_BREAK
    if len(encoded) <= _QP_LINE + 2 and not encoded.startswith(b".") and encoded.count(b"\r\n") == 1:
        return encoded  # one short line, as personal values mostly are: nothing to look for
    lines = encoded.split(b"\r\n")
    if any(line.startswith(b".") or len(line) > _QP_LINE for line in lines):
        return b"\r\n".join(_fitted(lines))
    return encoded


_QP_LINE = 76  # RFC 2045 6.7: an encoded line has at most 76 characters, a soft break's "=" included


def _fitted(lines: list[bytes]) -> list[bytes]:
    """Every line that starts with "." starts with "=2E" instead (the same character, quoted-printable),
    so SMTP has nothing to dot-stuff (RFC 5321 4.5.2): the mailer sends the bytes as built instead of copying
    each ~80 KB message to double the dots of the digest's CSS. A line too long (the "=2E", or the soft break
    added after b2a_qp's last line) is split by a soft break, never inside an "=XX"."""
    out = []
    for line in lines:
        while True:
            if line.startswith(b"."):
                line = b"=2E" + line[1:]
            if len(line) <= _QP_LINE:
                break
            cut = _soft_break_at(line)
            out.append(line[:cut] + b"=")
            line = line[cut:]
        out.append(line)
    return out


def _soft_break_at(line: bytes) -> int:
    """Where to cut a quoted-printable line so that its first part, plus the "=" of a soft break, fits."""
    at = 0
    while True:
        step = 3 if line[at:at + 1] == b"=" and at + 1 < len(line) else 1
        if at + step > _QP_LINE - 1:
            return at
        at += step


def _values(recipient: Recipient) -> dict[str, str]:
    return {
        NAME: _clean_name(recipient.name) or FALLBACK_NAME,
        UNSUBSCRIBE_URL: recipient.unsubscribe_url,
        PREFERENCES_URL: recipient.preferences_url,
    }


def _substitute(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group()], text)


def _clean_name(name: str | None) -> str:
    # A name is user input: newlines or control characters would break the header or the text layout, and
    # a name longer than a header line says nothing more than its first few words.
    return shorten(" ".join(_CONTROL_RE.sub(" ", name or "").split()), NAME_LIMIT)
