"""Header fields written by hand, for speed, and checked, for safety.

The stdlib `email` package spends ~1 ms per message on header policy objects; the headers we send are few
and simple, so they are formatted here directly: ASCII text as is (folded at spaces), anything else as
RFC 2047 base64 encoded words, addresses validated. Every value is user- or feed-controlled somewhere, so
nothing reaches the wire without passing a check that rules out CR, LF and other header breakers.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address, HeaderRegistry
from functools import lru_cache

import idna

from publisher.errors import InvalidInputError

_MAX_LINE = 998  # RFC 5322 hard limit, without the CRLF
_FOLD_AT = 78  # RFC 5322 "SHOULD": every header line we write stays within it
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_DOT_ATOM_RE = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# RFC 6531: a local part may also hold UTF-8 (sent only with SMTPUTF8); which characters is checked apart.
_UTF8_DOT_ATOM_RE = re.compile(rf"(?:{_ATEXT}|[^\x00-\x7f])+(?:\.(?:{_ATEXT}|[^\x00-\x7f])+)*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME_RE = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
_PHRASE_RE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")  # a display name that needs no quoting
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")
_WORD_BYTES = 42  # 42 bytes -> 56 base64 chars -> a 68-char encoded word: "Subject: " + one fits in 78


@dataclass(frozen=True)
class Mailbox:
    """An address as it goes on the wire: the local part as given, the domain in ASCII (IDNA A-labels)."""

    local: str
    domain: str

    @property
    def addr_spec(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        """A non-ASCII local part has no ASCII form: it travels only where the server offers SMTPUTF8."""
        return not self.local.isascii()


@lru_cache(maxsize=4096)
def mailbox(address: str) -> Mailbox:
    """Check an address and put its domain in the form every relay accepts (punycode, UTS #46), or raise
    InvalidInputError saying what is wrong. The local part is never altered: it belongs to its domain."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not _local_part_ok(local):
        raise InvalidInputError(f"address {address!r} is not a valid email address")
    ascii_domain = domain.lower()
    if not (ascii_domain.isascii() and _HOSTNAME_RE.fullmatch(ascii_domain)):
        try:
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidInputError(f"address {address!r} is not a valid email address: "
                                    f"its domain cannot be written in IDNA ({exc})") from None
    if len(ascii_domain) > 253 or not _HOSTNAME_RE.fullmatch(ascii_domain):
        raise InvalidInputError(f"address {address!r} is not a valid email address")
    return Mailbox(local, ascii_domain)


def _local_part_ok(local: str) -> bool:
    if len(local.encode("utf-8")) > 64:  # RFC 5321 4.5.3.1.1
        return False
    if local.isascii():
        return bool(_DOT_ATOM_RE.fullmatch(local))
    # Letters, marks, numbers, punctuation and symbols; never controls, separators or unassigned points.
    return bool(_UTF8_DOT_ATOM_RE.fullmatch(local)) and all(
        unicodedata.category(c)[0] in "LMNPS" for c in local if not c.isascii())


_ELLIPSIS = "\u2026"
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner and variation selectors glue characters


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking the cut: at a space in the last fifth when there is
    one, else between two characters, never between a character and the marks or joiners that belong to it."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    space = text.rfind(" ", 0, cut + 1)
    if space >= limit * 4 // 5:
        cut = space
    else:
        while cut > 0 and (unicodedata.combining(text[cut]) or text[cut] in _JOINERS
                           or text[cut - 1] in _JOINERS or "\udc00" <= text[cut] <= "\udfff"):
            cut -= 1
    return text[:cut].rstrip() + _ELLIPSIS


def encode_header(name: str, value: str) -> bytes:
    """An unstructured header (Subject): ASCII as is, else encoded words; folded under 78 columns. A word
    too long to fold (a 1,200-character title without spaces) goes as encoded words, which can be cut."""
    words = value.split(" ")
    if _PRINTABLE_RE.fullmatch(value) and "=?" not in value and _foldable(name, words):
        return _fold_words(name, words)
    return _fold_words(name, _encoded_words(value))


def address_header(name: str, address: str, display_name: str = "") -> bytes:
    """'To: "Name" <local@domain>' with the name quoted or encoded as needed, the domain in IDNA form.
    A non-ASCII local part is written as UTF-8 (RFC 6532): the mailer sends it only with SMTPUTF8."""
    addr_spec = mailbox(address).addr_spec
    if not display_name:
        return _fold_words(name, [addr_spec])
    if _PHRASE_RE.fullmatch(display_name) and _foldable(name, display_name.split(" ")):
        words = display_name.split(" ")
    elif _PRINTABLE_RE.fullmatch(display_name) and "=?" not in display_name and \
            len(display_name) + len(name) + 4 < _FOLD_AT:
        words = ['"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    else:
        words = _encoded_words(display_name)
    return _fold_words(name, [*words, f"<{addr_spec}>"])


def _foldable(name: str, words: list[str]) -> bool:
    return all(len(name) + 2 + len(word) <= _FOLD_AT for word in words)


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
        if len(line) + 1 + len(word) > _FOLD_AT and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    if any(len(text.encode("utf-8")) > _MAX_LINE for text in lines):
        raise InvalidInputError(f"{name} header has a word longer than {_MAX_LINE} characters")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


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


_LABEL_LIMIT = 60


def folded_header(name: str, value: str) -> bytes:
    """A structured header whose value may be folded at its spaces (List-Id)."""
    return _fold_words(name, value.split(" "))


def list_id_value(list_id: str) -> str:
    """'news.example.com' or 'Weekly News <news.example.com>' -> a List-Id value (RFC 2919)."""
    label, _, rest = list_id.strip().partition("<")
    dotted = rest.removesuffix(">") if rest else label
    if not re.fullmatch(rf"{_ATEXT}+(\.{_ATEXT}+)+", dotted):
        raise InvalidInputError(f"list id {list_id!r} must be dotted like 'my-list.example.com'")
    label = " ".join(re.sub(r"[\x00-\x1f\x7f]+", " ", label).split()).strip('"') if rest else ""
    label = shorten(label, _LABEL_LIMIT)
    if not label:
        return f"<{dotted}>"
    if not label.isascii():
        return " ".join(_encoded_words(label)) + f" <{dotted}>"
    if re.search(r'[()<>@,;:\\"\[\]]', label):  # specials are allowed only inside a quoted phrase
        label = '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{label} <{dotted}>"


# Control characters (CR, LF, NUL, TAB ...), line and paragraph separators, invisible format characters.
_CONTROLS = ("Cc", "Cf", "Zl", "Zp", "Cs")


def has_control_characters(text: str) -> bool:
    """True when text would not stay one plain line in a header (or could hide a part of itself)."""
    return any(unicodedata.category(c) in _CONTROLS for c in text)


def single_address(value: str) -> Address | None:
    """The one address of a From-style value ("Blog <news@example.org>"), or None unless there is exactly one,
    parsed without defects."""
    try:
        header = HeaderRegistry()("From", value)
    except (ValueError, IndexError, TypeError):  # the parser's own failures on odd input
        return None
    if len(header.addresses) != 1 or header.defects:
        return None
    return header.addresses[0]
