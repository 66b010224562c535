"""One bad row never stalls or loops a send: a recipient whose message cannot be put on the wire fails alone,
with its reason; its neighbours go out once; no row whose 250 we received is ever sent again.

Against a real SMTP server (aiosmtpd), with and without SMTPUTF8, and the sweeper run again and again."""

from __future__ import annotations

import email
import itertools
from email import policy

import idna
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from publisher.models import Delivery, DeliveryEvent
from publisher.services import delivery
from publisher.services.messages import DigestMailing
from publisher.services.suppression import is_suppressed
from tests.support.ledger import hand_back_everything, ledger_settings, make_send, open_session
from tests.support.mail import display_name
from tests.support.smtp import SMTPSink

GOOD = [
    ("ada@example.org", None),
    ("anna@bücher.example", "Anna"),                    # IDN domain: goes out as punycode
    ("Mixed.Case+tag@ÉCOLE.example", None),            # UTS #46 maps the domain to lower case
    ("taro@例え.jp", "太郎"),
    ("long.name@example.org", "W" * 1200),             # a name longer than a header line
    ("spaced.name@example.org", "Zoë " * 400),
    ("controls@example.org", "Eve\r\nBcc: victim@example.net\x00\x1b[31m"),
    ("encoded@example.org", "=?utf-8?b?SGFja2Vk?= =?iso-8859-1?q?=41?="),
    ("emoji@example.org", "😀" * 300 + "👩‍👩‍👧"),
]
NON_ASCII_LOCAL = ["zoé@example.org", "用户@例子.广告", "δοκιμή@παράδειγμα.δοκιμή", "josé.garcía@exämple.org"]
INVALID = [
    "not-an-address",
    "two words@example.org",
    "x@",
    "@example.org",
    "x@example.org\r\nRCPT TO:<evil@example.org>",
    "nul\x00byte@example.org",
    "bell@exa\x07mple.org",
    "x@example..org",
    "x@-hyphen-.example",
    "a<b>@example.org",
    ("l" * 65) + "@example.org",                      # local part over 64 octets
    "x@" + ("d" * 64) + ".example",                   # a label over 63 octets
]


def _rcpt(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local}@{idna.encode(domain, uts46=True).decode()}"


@pytest.fixture(params=[False, True], ids=["no-smtputf8", "smtputf8"])
def server(request):
    with SMTPSink(smtputf8=request.param) as sink:
        sink.smtputf8 = request.param
        yield sink


def _deliver_until_quiet(session, settings, digest_id: int, rounds: int = 5) -> None:
    """Send, then hand everything back as a sweeper would much later, again and again."""
    for _ in range(rounds):
        try:
            delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=1000)
        except Exception:  # noqa: BLE001 - the point: whatever happens, the invariants below hold
            session.rollback()
        hand_back_everything(session, settings)


def _rows(session, digest_id):
    session.expire_all()
    return {d.email: d for d in session.scalars(select(Delivery).where(Delivery.digest_id == digest_id))}


def _events(session, delivery_id, status):
    return session.scalar(select(func.count()).where(DeliveryEvent.delivery_id == delivery_id,
                                                     DeliveryEvent.status == status))


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_chunk_of_good_rows_and_every_poison_kind(request, tmp_path, server, database):
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    settings = ledger_settings(tmp_path, url, smtp_url=server.url, claim_chunk=4)
    storable = (lambda text: "\x00" not in text) if database == "postgres" else (lambda text: True)  # PG text: no NUL
    poison = [a for a in INVALID + ([] if server.smtputf8 else NON_ASCII_LOCAL) if storable(a)]
    good = [(a, n if database == "sqlite" or n is None else n[:200])  # PostgreSQL keeps names to 200
            for a, n in GOOD + ([(a, "Ünïcode") for a in NON_ASCII_LOCAL] if server.smtputf8 else [])
            if storable(a) and storable(n or "")]
    # Poison rows sit first, last and between good ones, in chunks of four.
    people = [row for pair in itertools.zip_longest(poison, good) for row in pair if row]
    with open_session(settings) as session:
        digest_id = make_send(session, people)
        _deliver_until_quiet(session, settings, digest_id)
        rows = _rows(session, digest_id)
        received = [rcpt for m in server.messages for rcpt in m.rcpt_tos]
        for address, name in good:
            assert received.count(_rcpt(address)) == 1, address
            assert rows[address].status == "sent"
        assert len(received) == len(good)
        for address in poison:
            row = rows[address]
            assert (row.status, row.attempts) == ("hard_failed", 1), address
            assert _events(session, row.id, "hard_failed") == 1
            # Our data or our server, not the address's owner: nothing to suppress.
            assert not is_suppressed(session, address)
        assert "SMTPUTF8" in " ".join(rows[a].last_reply for a in poison if a in NON_ASCII_LOCAL) or \
            server.smtputf8
        assert all(rows[a].last_reply and "valid" in rows[a].last_reply for a in INVALID if a in poison)


def test_what_reaches_the_server_is_well_formed(tmp_path, server):
    settings = ledger_settings(tmp_path, smtp_url=server.url)
    good = GOOD + ([(a, None) for a in NON_ASCII_LOCAL] if server.smtputf8 else [])
    with open_session(settings) as session:
        delivery.deliver_batch(session, settings, digest_id=make_send(session, good), after_id=0, limit=100)
    by_rcpt = {m.rcpt_tos[0]: m for m in server.messages}
    for address, name in good:
        received = by_rcpt[_rcpt(address)]
        # RFC 6532: UTF-8 in header fields (only in a message that went with SMTPUTF8).
        message = email.message_from_string(received.data.decode("utf-8"), policy=policy.default)
        assert message["To"].addresses[0].addr_spec == _rcpt(address)
        assert len(message.get_all("To")) == 1 and message["Bcc"] is None
        if name and name.strip():
            shown = display_name(received.data)
            assert 0 < len(shown) <= 80 and "\n" not in shown and "\x00" not in shown
        lines = _header_lines(received.data)
        assert all(len(line) <= 998 for _, line in lines)
        # The fields a person's data reaches fold within 78 columns (URLs in List-Unsubscribe cannot fold).
        assert all(len(line) <= 78 for field, line in lines if field in (b"to", b"subject", b"from", b"list-id"))
        # SMTPUTF8 only where the address needs it.
        assert ("SMTPUTF8" in received.mail_options) == (not address.partition("@")[0].isascii())


def _header_lines(data: bytes) -> list[tuple[bytes, bytes]]:
    """(field name, line) for every line of the header, continuation lines under their field's name."""
    lines, field = [], b""
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        field = field if line[:1] in (b" ", b"\t") else line.split(b":", 1)[0].lower()
        lines.append((field, line))
    return lines


# --- the class, by hypothesis ----------------------------------------------------------------------------

_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
_ascii_atom = st.text(_ATEXT, min_size=1, max_size=12)
_utf8_atom = st.builds(lambda a, b: a + b, st.text(_ATEXT, max_size=4),
                       st.text(st.characters(categories=["L", "N"], min_codepoint=0xA0), min_size=1, max_size=6))
_breakers = st.sampled_from([" ", "\r", "\n", "\r\n", "\x00", "\x7f", "<", ">", ",", "\u2028", "\u0085", "\t"])
_bad_local = st.builds(lambda a, bad, b: a + bad + b, _ascii_atom, _breakers, st.text(_ATEXT, max_size=4))
_domains = {
    "ascii": ["example.org", "mail.example.co.uk", "EXAMPLE.NET", "x1-y2.example"],
    "idn": ["bücher.example", "例え.jp", "παράδειγμα.δοκιμή", "münchen.example", "xn--bcher-kva.example"],
    "bad": ["", "exa mple.org", "example..org", "-x.example", "ex\x07ample.org", "exa<mple.org", "e.x\r\n.org"],
}
_names = st.one_of(st.none(), st.text(max_size=1500),
                   st.text(st.characters(categories=["L", "Zs", "So", "Cc"]), min_size=70, max_size=400))


@st.composite
def recipients(draw):
    local_kind = draw(st.sampled_from(["ascii", "utf8", "bad"]))
    local = draw({"ascii": _ascii_atom, "utf8": _utf8_atom, "bad": _bad_local}[local_kind])
    domain_kind = draw(st.sampled_from(["ascii", "ascii", "idn", "bad"]))
    return local, local_kind, draw(st.sampled_from(_domains[domain_kind])), domain_kind, draw(_names)


_serial = itertools.count()


@pytest.mark.parametrize("smtputf8", [False, True], ids=["no-smtputf8", "smtputf8"])
def test_any_mix_of_recipients_settles_each_row_once(tmp_path, smtputf8):
    settings = ledger_settings(tmp_path, claim_chunk=3)
    with SMTPSink(smtputf8=smtputf8) as server, open_session(settings.model_copy(
            update={"smtp_url": server.url})) as session:
        settings = settings.model_copy(update={"smtp_url": server.url})

        @hypothesis_settings(max_examples=25, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(recipients(), min_size=1, max_size=10))
        def check(drawn):
            n = next(_serial)
            people, expected = [], {}
            for i, (local, local_kind, domain, domain_kind, name) in enumerate(drawn):
                local = f"{local}{n}x{i}" if local_kind != "bad" else f"{n}x{i}{local}"
                address = f"{local}@{domain}"
                people.append((address, name))
                deliverable = domain_kind != "bad" and (local_kind == "ascii" or (local_kind == "utf8" and smtputf8))
                expected[address] = _rcpt(address) if deliverable else None
            before = len(server.messages)
            digest_id = make_send(session, people, list_name=f"list-{n}")
            _deliver_until_quiet(session, settings, digest_id, rounds=3)
            received = [r for m in server.messages[before:] for r in m.rcpt_tos]
            rows = _rows(session, digest_id)
            for address, rcpt in expected.items():
                if rcpt is None:
                    assert rows[address].status == "hard_failed" and rows[address].attempts == 1, address
                    assert rows[address].last_reply
                else:
                    assert rows[address].status == "sent", (address, rows[address].last_reply)
                    assert received.count(rcpt) == 1, address
            assert len(received) == sum(r is not None for r in expected.values())

        check()


def test_a_row_whose_message_fails_after_its_envelope_went_ahead_gets_nothing(tmp_path, smtp, monkeypatch):
    """Its MAIL, RCPT and DATA left right behind the message before it (the server pipelines); its message
    never comes. The server must not receive anything for it, not even an empty message; its neighbours go
    out once, and it fails alone, with its reason."""
    real = DigestMailing.assembled_for

    def assembled_for(self, row):
        if row.email == "broken@example.org":
            raise ValueError("no encoding takes this name")
        return real(self, row)

    monkeypatch.setattr(DigestMailing, "assembled_for", assembled_for)
    settings = ledger_settings(tmp_path, smtp_url=smtp.url)
    with open_session(settings) as session:
        digest_id = make_send(session, [("a@example.org", None), ("broken@example.org", None),
                                        ("c@example.org", None)])
        outcome = delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=1000)
        rows = _rows(session, digest_id)
    assert [m.rcpt_tos for m in smtp.messages] == [("a@example.org",), ("c@example.org",)]
    assert (outcome.sent, outcome.failed) == (2, 1)
    assert rows["broken@example.org"].status == "hard_failed"
    assert "no encoding takes this name" in rows["broken@example.org"].last_reply
