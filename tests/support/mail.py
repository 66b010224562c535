"""Reading headers as an RFC 2047-compliant client does.

Python's `policy.default` address parser puts a space between adjacent encoded words of a display name,
where RFC 2047 6.2 (and Gmail, Thunderbird, Apple Mail) drop the whitespace between them; so display names
are decoded here with `email.header`, which follows the RFC."""

from __future__ import annotations

from email.header import decode_header, make_header


def header_value(raw: bytes, name: str) -> str:
    """The unfolded, undecoded value of the first `name` field in a message's header (UTF-8 allowed)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n ", " ").replace("\r\n\t", "\t")
    for line in head.split("\r\n"):
        field, _, value = line.partition(":")
        if field.lower() == name.lower():
            return value.strip()
    raise KeyError(name)


def display_name(raw: bytes, name: str = "To") -> str:
    """The display name of the (single) address in a header field, decoded as the RFC says."""
    text = str(make_header(decode_header(header_value(raw, name))))
    shown = text.rpartition("<")[0].strip()
    if shown.startswith('"') and shown.endswith('"'):
        shown = shown[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return shown
