"""Header values of any length and content fold or shorten within RFC 5322's limits and read back as written;
addresses are checked and put in the form relays accept."""

from __future__ import annotations

import email
import unicodedata
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.compose.headers import address_header, encode_header, mailbox, shorten
from publisher.compose.render import NAME, SUBJECT_LIMIT, subject_line
from publisher.errors import InvalidInputError
from tests.support.mail import display_name

_no_controls = st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]))


def _lines(header: bytes) -> list[bytes]:
    return header.removesuffix(b"\r\n").split(b"\r\n")


def _read(header: bytes, name: str) -> str:
    return email.message_from_bytes(header + b"\r\n", policy=policy.default)[name]


@given(_no_controls.map(lambda text: " ".join(text.split())))
def test_any_subject_folds_within_78_columns_and_reads_back(value):
    header = encode_header("Subject", value)
    assert all(len(line) <= 78 for line in _lines(header))
    assert _read(header, "Subject") == value


@pytest.mark.parametrize("value", [
    "A" * 1200,                                       # no space to fold at
    "Quilts: " + "x" * 990 + " and 2 more",
    "=?utf-8?b?SGFja2Vk?= looks encoded",              # must arrive literally, not decoded
    "=?iso-8859-1?q?=41?=",
    "Ünïcødé " * 150 + "😀" * 200,
])
def test_long_or_tricky_subjects(value):
    header = encode_header("Subject", value)
    assert all(len(line) <= 78 for line in _lines(header))
    assert _read(header, "Subject") == value


@given(st.text(max_size=3000), st.integers(min_value=2, max_value=300))
def test_shorten_keeps_a_prefix_within_the_limit(text, limit):
    short = shorten(text, limit)
    assert len(short) <= limit
    if short == text:
        assert len(text) <= limit
    else:
        assert short.endswith("…") and text.startswith(short[:-1])
        kept = short[:-1]
        if kept and len(kept) < len(text):
            # never between a character and a mark or joiner belonging to it
            assert not unicodedata.combining(text[len(kept)]) and text[len(kept)] not in "\u200d\ufe0f"


def test_shorten_cuts_at_a_space_near_the_end():
    assert shorten("The quick brown fox jumps over the lazy dog", 20) == "The quick brown fox…"
    assert shorten("👩‍👩‍👧" * 10, 5).count("\u200d") % 2 == 0  # a family emoji is not torn apart


@given(st.text(max_size=2000))
def test_any_subject_line_is_one_clean_line_within_the_limit(text):
    line = subject_line(text)
    assert len(line) <= SUBJECT_LIMIT and "\n" not in line and "\r" not in line
    assert not any(unicodedata.category(c) == "Cc" for c in line)


def test_a_placeholder_in_a_long_subject_is_kept_whole():
    line = subject_line(f"Hi {NAME}, " + "news " * 100)
    assert NAME in line
    cut = subject_line("x" * SUBJECT_LIMIT + NAME)
    assert cut.endswith("…") and "zzPUB" not in cut  # dropped whole, never in part


@given(st.text(max_size=1500))
def test_any_display_name_folds_and_reads_back(name):
    # As message._clean_name leaves it: one line of words, no control characters, no space at either end.
    name = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in name).split())[:64].strip()
    header = address_header("To", "reader@example.org", name)
    assert all(len(line) <= 78 for line in _lines(header))
    assert _read(header, "To").addresses[0].addr_spec == "reader@example.org"
    assert display_name(header) == name


@pytest.mark.parametrize("given_address, wire", [
    ("reader@example.org", "reader@example.org"),
    ("Reader+tag@EXAMPLE.org", "Reader+tag@example.org"),       # the local part is never altered
    ("anna@bücher.example", "anna@xn--bcher-kva.example"),
    ("anna@BÜCHER.example", "anna@xn--bcher-kva.example"),      # UTS #46 maps case
    ("taro@例え.jp", "taro@xn--r8jz45g.jp"),
    ("zoé@example.org", "zoé@example.org"),                    # needs SMTPUTF8, left as it is
    (" padded@example.org ", "padded@example.org"),
])
def test_mailbox_puts_the_domain_in_ascii(given_address, wire):
    assert mailbox(given_address).addr_spec == wire
    assert mailbox(given_address).needs_smtputf8 == (not wire.partition("@")[0].isascii())


@pytest.mark.parametrize("bad", [
    "", "plain", "@example.org", "x@", "x y@example.org", "x@exa mple.org", "x@example..org", "x@-x.example",
    "x@example.org.", "a\r\nb@example.org", "nul\x00@example.org", "x@ex\x07ample.org", "<x>@example.org",
    "l" * 65 + "@example.org", "x@" + "d" * 64 + ".example", "zoé\u2028@example.org", "zo\u0085e@example.org",
    ".dot@example.org", "dot.@example.org", "two..dots@example.org", '"quoted"@example.org',
])
def test_mailbox_refuses_what_is_not_an_address(bad):
    with pytest.raises(InvalidInputError, match="not a valid email address"):
        mailbox(bad)
