"""Header fields written by hand, for speed, and checked, for safety.

The stdlib `email` package spends ~1 ms per message on header policy objects; the headers we send are few
and simple, so they are formatted here directly: ASCII text as is (folded at spaces), anything else as
RFC 2047 base64 encoded words, addresses validated. Every value is user- or feed-controlled somewhere, so
nothing reaches the wire without passing a check that rules out CR, LF and other header breakers.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

from publisher.errors import InvalidInputError

_MAX_LINE = 998  # RFC 5322 hard limit, without the CRLF
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_DOT_ATOM_RE = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_PHRASE_RE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")  # a display name that needs no quoting
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")
_WORD_BYTES = 45  # 45 bytes -> 60 base64 chars -> a 72-char encoded word, under the 75 limit


def encode_header(name: str, value: str) -> bytes:
    """An unstructured header (Subject): ASCII as is, else encoded words; folded under 78 columns."""
    if _PRINTABLE_RE.fullmatch(value) and "=?" not in value:
        return _fold_words(name, value.split(" "))
    return _fold_words(name, _encoded_words(value))


def address_header(name: str, address: str, display_name: str = "") -> bytes:
    """'To: "Name" <local@domain>' with the name quoted or encoded as needed, the domain in IDNA form."""
    addr_spec = _addr_spec(address)
    if not display_name:
        return f"{name}: {addr_spec}\r\n".encode()
    if _PHRASE_RE.fullmatch(display_name):
        words = display_name.split(" ")
    elif _PRINTABLE_RE.fullmatch(display_name) and "=?" not in display_name:
        words = ['"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    else:
        words = _encoded_words(display_name)
    return _fold_words(name, [*words, f"<{addr_spec}>"])


@lru_cache(maxsize=4096)
def _addr_spec(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    if not local.isascii():
        # That needs SMTPUTF8 end to end; an encoded word in To: would be wrong, so refuse clearly.
        raise InvalidInputError(f"recipient address {address!r} has a non-ASCII local part")
    if not _DOT_ATOM_RE.fullmatch(local) or not domain:
        raise InvalidInputError(f"recipient address {address!r} is not a valid email address")
    try:
        # An internationalized domain goes out in its ASCII (punycode) form, which every relay accepts.
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidInputError(f"recipient address {address!r} is not a valid email address") from exc
    if not _DOT_ATOM_RE.fullmatch(ascii_domain):
        raise InvalidInputError(f"recipient address {address!r} is not a valid email address")
    return f"{local}@{ascii_domain}"


def _encoded_words(value: str) -> list[str]:
    # Whole characters per word (RFC 2047 forbids splitting one across words); the space between two
    # encoded words is dropped by decoders, so spaces travel inside the words.
    words, chunk = [], b""
    for char in value:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words if w]


def _fold_words(name: str, words: list[str]) -> bytes:
    lines, line = [], f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > 78 and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    if any(len(text) > _MAX_LINE for text in lines):
        raise InvalidInputError(f"{name} header has a word longer than {_MAX_LINE} characters")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def fold_verbatim(name: str, value: str) -> bytes:
    """List-Unsubscribe and friends, written as they are and folded only at ", " between URLs.

    Turned into encoded words (as the stdlib does with a long unbreakable value), a URL header is
    no longer read as a URL by mail providers, and one-click unsubscribe silently breaks."""
    line = f"{name}: {value}"
    if len(line) <= 78:
        return (line + "\r\n").encode("ascii")
    return (f"{name}: " + ",\r\n ".join(value.split(", ")) + "\r\n").encode("ascii")


def header_url(url: str, what: str, schemes: tuple[str, ...]) -> str:
    # Inside <...> in a header: no whitespace, no angle brackets, no commas, and it must fit on a line.
    scheme = url.split(":", 1)[0].lower()
    if scheme not in schemes or re.search(r"[\s<>,]", url) or not url.isascii() or len(url) > _MAX_LINE - 40:
        raise InvalidInputError(f"{what} {url!r} cannot go in a List-Unsubscribe header")
    return url


def message_id_value(message_id: str) -> str:
    if not re.fullmatch(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>", message_id):
        raise InvalidInputError(f"message id {message_id!r} is not of the form <left@right>")
    return message_id


def list_id_value(list_id: str) -> str:
    """'news.example.com' or 'Weekly News <news.example.com>' -> a List-Id value (RFC 2919)."""
    label, _, rest = list_id.strip().partition("<")
    dotted = rest.removesuffix(">") if rest else label
    if not re.fullmatch(rf"{_ATEXT}+(\.{_ATEXT}+)+", dotted):
        raise InvalidInputError(f"list id {list_id!r} must be dotted like 'my-list.example.com'")
    label = " ".join(re.sub(r"[\x00-\x1f\x7f]+", " ", label).split()).strip('"') if rest else ""
    if not label:
        return f"<{dotted}>"
    if not label.isascii():
        return " ".join(_encoded_words(label)) + f" <{dotted}>"
    if re.search(r'[()<>@,;:\\"\[\]]', label):  # specials are allowed only inside a quoted phrase
        label = '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{label} <{dotted}>"
