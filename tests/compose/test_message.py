import email
import re
from datetime import datetime, timezone
from email import policy

import pytest

from publisher.compose.identity import one_line
from publisher.compose.message import NAME_LIMIT, Recipient, build_message, personalize
from publisher.compose.render import NAME, PREFERENCES_URL, UNSUBSCRIBE_URL, RenderedDigest
from publisher.errors import InvalidInputError
from tests.support.mail import display_name

SENDER = "Weekly Food <news@example.com>"
LIST_ID = "weekly-food.news.example.com"
DATE = datetime(2025, 3, 5, 8, 0, tzinfo=timezone.utc)
UNSUBSCRIBE = "https://news.example.com/u/" + "T0k3n-" * 20 + "?a=1&b=2"  # long: must not be folded oddly
MAILTO = "mailto:unsubscribe+T0k3n@news.example.com"


def make_recipient(**overrides) -> Recipient:
    values = dict(
        email="zoe@example.org",
        name="Zoë <b>&",
        unsubscribe_url=UNSUBSCRIBE,
        unsubscribe_mailto=MAILTO,
        preferences_url="https://news.example.com/p/abc?x=1&y=2",
        message_id="<digest-7.sub-42.e3b0c442@news.example.com>",
    )
    return Recipient(**(values | overrides))


def build(rendered, **overrides) -> bytes:
    return build_message(rendered, make_recipient(**overrides), sender=SENDER, list_id=LIST_ID, date=DATE)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


# --- personalize ------------------------------------------------------------------------------------------

def test_personalize_substitutes_every_placeholder(rendered):
    out = personalize(rendered, make_recipient())
    for part in (out.subject, out.html, out.text):
        assert not any(p in part for p in (NAME, UNSUBSCRIBE_URL, PREFERENCES_URL))


def test_name_is_escaped_in_html_and_raw_in_text(rendered):
    out = personalize(rendered, make_recipient())
    assert "Hi Zoë &lt;b&gt;&amp;," in out.html
    assert "<b>&" not in out.html
    assert "Hi Zoë <b>&," in out.text


def test_urls_are_attribute_escaped_in_html_and_raw_in_text(rendered):
    out = personalize(rendered, make_recipient())
    assert 'href="https://news.example.com/p/abc?x=1&amp;y=2"' in out.html
    assert f'href="{UNSUBSCRIBE.replace("&", "&amp;")}"' in out.html
    assert f"Unsubscribe: {UNSUBSCRIBE}\n" in out.text
    assert "Preferences: https://news.example.com/p/abc?x=1&y=2" in out.text


def test_missing_or_blank_name_falls_back(rendered):
    for name in (None, "", "  \n "):
        out = personalize(rendered, make_recipient(name=name))
        assert "Hi there," in out.html and "Hi there," in out.text


def test_control_characters_in_names_are_flattened(rendered):
    out = personalize(rendered, make_recipient(name="Eve\r\nBcc: x@evil.example"))
    assert "Hi Eve Bcc: x@evil.example," in out.text


def test_personalize_leaves_the_rendered_digest_alone(rendered):
    personalize(rendered, make_recipient())
    assert NAME in rendered.html


# --- build_message ----------------------------------------------------------------------------------------

def test_message_is_multipart_alternative_text_first(rendered):
    msg = parse(build(rendered))
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] in ("quoted-printable", "base64", "7bit") for p in parts)
    expected = personalize(rendered, make_recipient())
    assert parts[0].get_content().replace("\r\n", "\n") == expected.text
    assert parts[1].get_content().replace("\r\n", "\n") == expected.html.replace("\r\n", "\n")


def test_headers_have_exact_values(rendered):
    msg = parse(build(rendered))
    assert msg["From"] == SENDER
    assert msg["To"] == '"Zoë <b>&" <zoe@example.org>'
    assert msg["To"].addresses[0].display_name == "Zoë <b>&"
    assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    assert msg["Subject"] == "Weekly Food: 3 new posts — Crème brûlée, Straße и 日本"
    assert msg["Date"] == "Wed, 05 Mar 2025 08:00:00 +0000"
    assert msg["Message-ID"] == "<digest-7.sub-42.e3b0c442@news.example.com>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Id"] == "<weekly-food.news.example.com>"
    assert msg["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <{MAILTO}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe"):
        assert len(msg.get_all(name)) == 1


def test_wire_format_is_smtp_ready(rendered):
    raw = build(rendered)
    assert raw.isascii()  # non-ASCII lives in encoded words and QP/base64 bodies
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in headers  # the subject and the To name are RFC 2047-encoded
    # Verbatim, never as encoded words, which providers would not read as a URL.
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>,\r\n <{MAILTO}>\r\n".encode() in headers
    assert headers.count(b"MIME-Version") == 1


def test_message_id_is_stable_for_the_same_recipient(rendered):
    first, second = parse(build(rendered)), parse(build(rendered))
    assert first["Message-ID"] == second["Message-ID"] == make_recipient().message_id
    other = parse(build(rendered, message_id="<digest-7.sub-43.aa@news.example.com>"))
    assert other["Message-ID"] != first["Message-ID"]


def test_list_id_may_carry_a_display_name(rendered):
    for given, expected in [
        ("Weekly Food <weekly-food.news.example.com>", "Weekly Food <weekly-food.news.example.com>"),
        ("Food, weekly <weekly-food.news.example.com>", '"Food, weekly" <weekly-food.news.example.com>'),
        ("Crème <creme.news.example.com>", "Crème <creme.news.example.com>"),
    ]:
        raw = build_message(rendered, make_recipient(), sender=SENDER, list_id=given, date=DATE)
        assert parse(raw)["List-Id"] == expected


def test_date_defaults_to_now(rendered):
    raw = build_message(rendered, make_recipient(), sender=SENDER, list_id=LIST_ID)
    sent = parse(raw)["Date"].datetime
    assert abs((datetime.now(timezone.utc) - sent).total_seconds()) < 60


def test_ascii_recipient_without_name(rendered):
    msg = parse(build(rendered, name=None))
    assert msg["To"] == "zoe@example.org"


def test_internationalized_domain_goes_out_as_punycode(rendered):
    msg = parse(build(rendered, email="zoe@exämple.org"))
    assert msg["To"].addresses[0].domain == "xn--exmple-cua.org"


def test_non_ascii_local_part_is_written_in_utf8(rendered):
    """RFC 6532: the only way to write it; the mailer sends such a message only with SMTPUTF8."""
    raw = build(rendered, email="zoé@exämple.org")
    msg = email.message_from_string(raw.decode("utf-8"), policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "zoé@xn--exmple-cua.org"
    assert not raw.isascii() and raw.split(b"\r\n\r\n", 1)[1].isascii()  # the bodies stay 7-bit


@pytest.mark.parametrize("name", ["W" * 1200, "Zoë " * 400, "😀" * 300, "a\x00b\x1b[31m\u2028c " * 50])
def test_a_name_longer_than_a_header_line_is_shortened(rendered, name):
    raw = build(rendered, name=name)
    msg = parse(raw)
    shown = display_name(raw)
    assert len(shown) <= 64 and shown.endswith("…")
    assert f"Hi {shown}," in list(msg.iter_parts())[0].get_content()
    to_lines = raw.split(b"\r\nSubject:")[0].split(b"\r\nTo:")[1].split(b"\r\n")
    assert all(len(line) <= 78 for line in to_lines)


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", "not-an-address"),
        ("email", "zoé @example.org"),
        ("email", "zoe@example.org\r\nBcc: x@example.net"),
        ("unsubscribe_url", "https://e.example/u x"),
        ("unsubscribe_url", "ftp://e.example/u"),
        ("unsubscribe_mailto", "https://e.example/u"),
        ("message_id", "digest-7@news.example.com"),
    ],
)
def test_malformed_recipient_fields_are_refused(rendered, field, value):
    with pytest.raises(InvalidInputError):
        build(rendered, **{field: value})


def test_malformed_list_id_is_refused(rendered):
    with pytest.raises(InvalidInputError, match="list id"):
        build_message(rendered, make_recipient(), sender=SENDER, list_id="no dots here", date=DATE)


def test_html_part_keeps_inlined_styles_after_encoding(rendered):
    html_part = list(parse(build(rendered)).iter_parts())[1].get_content()
    assert re.search(r'class="card"[^>]*style="[^"]+"', html_part)


@pytest.mark.parametrize("blog_title", ["Quiltville's Quips & Snips!!", "Évasion, \"quoted\" <angle>",
                                        "Evil\r\nBcc: victim@example.net", "Blog " * 60, "😀" * 50])
def test_the_blog_title_is_the_from_name_unless_the_sender_has_one(rendered, blog_title):
    raw = build_message(rendered, make_recipient(), sender="news@example.com", list_id=LIST_ID,
                        sender_name=blog_title)
    head = raw.split(b"\r\n\r\n", 1)[0]
    from_field = re.search(rb"^From:.*?\r\n(?! )", head, re.MULTILINE | re.DOTALL).group()
    assert all(len(line) <= 78 for line in from_field.split(b"\r\n")) and b"\r\nBcc:" not in head
    assert parse(raw)["From"].addresses[0].addr_spec == "news@example.com"
    assert display_name(raw, "From") == one_line(blog_title, NAME_LIMIT)  # one line, at most 64 characters
    own = parse(build_message(rendered, make_recipient(), sender=SENDER, list_id=LIST_ID, sender_name=blog_title))
    assert own["From"].addresses[0].display_name == "Weekly Food"  # the list's own --from name wins


DOTTED_LINES = [
    ".", "..", ".button { color: #fff }", "." + "x" * 74, ".." + "y" * 80, ". é" * 30, "=." * 40,
    "a" * 75 + "\n." + "b" * 75, ".\t", ". ", "x" * 76 + ".",
]


@pytest.mark.parametrize("name", [None, ".", ".dot", "." * 70, "Zoë"])
def test_no_line_starts_with_a_dot_so_smtp_has_nothing_to_stuff(name):
    """CSS in <style>, a line of text or a name beginning with "." would make SMTP double the dot (RFC 5321
    4.5.2), which means copying every message: we write it "=2E", and the lines still fit 76 characters."""
    body = "\n".join(DOTTED_LINES)
    rendered = RenderedDigest(subject="Dots", text=f"Hi {NAME},\n{body}\n{NAME}\n.{UNSUBSCRIBE_URL}",
                              html=f"<style>\n.a {{ x: y }}\n</style><p>{NAME}</p>\n{body}\n{NAME}.{PREFERENCES_URL}")
    raw = build(rendered, name=name)
    assert b"\r\n." not in raw
    body_lines = raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body_lines) <= 76  # RFC 2045 6.7
    expected = personalize(rendered, make_recipient(name=name))
    parts = {part.get_content_type(): part.get_content() for part in parse(raw).walk() if not part.is_multipart()}
    # (a part's last line break belongs to the boundary after it)
    assert parts["text/plain"].replace("\r\n", "\n").removesuffix("\n") == expected.text
    assert parts["text/html"].replace("\r\n", "\n").removesuffix("\n") == expected.html
