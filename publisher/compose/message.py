"""Per-subscriber work: substitute the placeholders of a rendered digest and build the RFC 5322 message.

This runs once per recipient, so it does no parsing or templating: one regex pass per part and the stdlib
`email` package.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime

from publisher.compose.render import NAME, PLACEHOLDERS, PREFERENCES_URL, UNSUBSCRIBE_URL, RenderedDigest
from publisher.errors import InvalidInputError

FALLBACK_NAME = "there"  # "Hi there," when we do not know the subscriber's name

_PLACEHOLDER_RE = re.compile("|".join(map(re.escape, PLACEHOLDERS)))
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_LINE = 998  # RFC 5322 hard limit, without the CRLF


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
    name = _clean_name(recipient.name) or FALLBACK_NAME
    plain = {NAME: name, UNSUBSCRIBE_URL: recipient.unsubscribe_url, PREFERENCES_URL: recipient.preferences_url}
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
) -> bytes:
    """The complete message for one recipient, as CRLF bytes ready for SMTP DATA (before DKIM signing)."""
    personal = personalize(rendered, recipient)
    unsubscribe_url = _header_url(recipient.unsubscribe_url, "unsubscribe URL", ("https", "http"))
    unsubscribe_mailto = _header_url(recipient.unsubscribe_mailto, "unsubscribe mailto", ("mailto",))
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = _address(recipient)
    msg["Subject"] = personal.subject
    msg["Date"] = format_datetime((date or datetime.now(timezone.utc)).astimezone(timezone.utc))
    msg["Message-ID"] = _message_id(recipient.message_id)
    msg["List-Id"] = _list_id(list_id)
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{unsubscribe_mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # text/plain first: multipart/alternative lists the parts from the plainest to the richest.
    msg.set_content(personal.text, subtype="plain", charset="utf-8")
    msg.add_alternative(personal.html, subtype="html", charset="utf-8")
    for part in msg.iter_parts():
        del part["MIME-Version"]  # add_alternative copies it onto the part; it belongs on the top only
    return msg.as_bytes()


class _MailPolicy(EmailPolicy):
    """SMTP policy that writes a few ASCII headers as they are.

    The stdlib folds a header whose single word is longer than the line limit by turning it into RFC 2047
    encoded words. For List-Unsubscribe (long token URLs) that yields "=?utf-8?q?=3Chttps=3A//...", which
    mail providers do not decode, so one-click unsubscribe would silently break. These headers are ASCII
    and validated, so they are written verbatim, folded only at the ", " between URLs.
    """

    _VERBATIM = frozenset({"message-id", "list-unsubscribe", "list-unsubscribe-post"})

    def fold(self, name: str, value: str) -> str:
        if name.lower() in self._VERBATIM:
            return _fold_verbatim(name, str(value), self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in self._VERBATIM:
            return _fold_verbatim(name, str(value), self.linesep).encode("ascii")
        return super().fold_binary(name, value)


# cte_type="7bit": bodies go out as quoted-printable or base64 (whichever is shorter), never raw 8-bit,
# so the message is safe for any relay and no line exceeds 998 octets.
SMTP_POLICY = _MailPolicy(linesep="\r\n", cte_type="7bit")


def _fold_verbatim(name: str, value: str, linesep: str) -> str:
    line = f"{name}: {value}"
    if len(line) <= 78:
        return line + linesep
    return f"{name}: " + f",{linesep} ".join(value.split(", ")) + linesep


def _substitute(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group()], text)


def _clean_name(name: str | None) -> str:
    # A name is user input: newlines or control characters would break the header or the text layout.
    return " ".join(_CONTROL_RE.sub(" ", name or "").split())


def _address(recipient: Recipient) -> Address:
    local, _, domain = recipient.email.strip().rpartition("@")
    if not local or not domain:
        raise InvalidInputError(f"recipient address {recipient.email!r} is not a valid email address")
    if not local.isascii():
        # That needs SMTPUTF8 end to end; an encoded word in To: would be wrong, so refuse clearly.
        raise InvalidInputError(f"recipient address {recipient.email!r} has a non-ASCII local part")
    try:
        # An internationalized domain goes out in its ASCII (punycode) form, which every relay accepts.
        domain = domain.encode("idna").decode("ascii")
        return Address(display_name=_clean_name(recipient.name), username=local, domain=domain)
    except (ValueError, UnicodeError) as exc:  # the stdlib raises ValueError subclasses for bad parts
        raise InvalidInputError(f"recipient address {recipient.email!r} is not a valid email address") from exc


def _header_url(url: str, what: str, schemes: tuple[str, ...]) -> str:
    # Inside <...> in a header: no whitespace, no angle brackets, no commas, and it must fit on a line.
    scheme = url.split(":", 1)[0].lower()
    if scheme not in schemes or re.search(r"[\s<>,]", url) or not url.isascii() or len(url) > _MAX_LINE - 40:
        raise InvalidInputError(f"{what} {url!r} cannot go in a List-Unsubscribe header")
    return url


def _message_id(message_id: str) -> str:
    if not re.fullmatch(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>", message_id):
        raise InvalidInputError(f"message id {message_id!r} is not of the form <left@right>")
    return message_id


def _list_id(list_id: str) -> str:
    """'news.example.com' or 'Weekly News <news.example.com>' -> a List-Id value (RFC 2919)."""
    label, _, rest = list_id.strip().partition("<")
    dotted = rest.removesuffix(">") if rest else label
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)+", dotted):
        raise InvalidInputError(f"list id {list_id!r} must be dotted like 'my-list.example.com'")
    label = _clean_name(label).strip('"') if rest else ""
    if re.search(r'[()<>@,;:\\"\[\]]', label):  # specials are allowed only inside a quoted phrase
        label = '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{label} <{dotted}>" if label else f"<{dotted}>"
