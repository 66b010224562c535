"""DKIM signatures made with the key `publisher dkim keygen` writes verify against the record it prints."""

import os
import re
from types import SimpleNamespace

import dkim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.compose.dkim import SIGNED_HEADERS, generate_key, load_signer
from publisher.compose.message import prepare
from publisher.errors import ConfigError
from publisher.errors import InvalidInputError
from tests.compose.test_message import DATE, LIST_ID, SENDER, make_recipient, parse


@pytest.fixture(scope="module")
def key_pair():
    return generate_key("s2025", "news.example.com", bits=1024)  # small: fast to make; the code is the same


def _dns(pair):
    def lookup(name, timeout=5):
        return pair.txt_record.encode() if name.decode().rstrip(".") == pair.dns_name else None
    return lookup


def _signer(tmp_path, pair):
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(pair.private_pem)
    return load_signer(SimpleNamespace(dkim_selector="s2025", dkim_domain="news.example.com", dkim_key_file=key_file))


def test_signed_message_verifies_against_the_published_key(tmp_path, rendered, key_pair):
    prepared = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_signer(tmp_path, key_pair))
    raw = prepared.build(make_recipient(), date=DATE)
    assert dkim.verify(raw, dnsfunc=_dns(key_pair))
    signature = parse(raw)["DKIM-Signature"]
    assert "d=news.example.com" in signature and "s=s2025" in signature
    signed = {h.strip().lower() for h in re.search(r"h=([^;]+)", signature.replace("\r\n", "")).group(1).split(":")}
    # RFC 8058 requires both List-Unsubscribe fields signed; the rest are what a forger would change.
    for name in ("from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe",
                 "list-unsubscribe-post"):
        assert name in signed
    assert signed <= {h.decode().lower() for h in SIGNED_HEADERS}


def test_a_tampered_message_fails_verification(tmp_path, rendered, key_pair):
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_signer(tmp_path, key_pair)).build(
        make_recipient(), date=DATE)
    for forged in (raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"),
                   raw.replace(b"Second post", b"Second p0st", 1)):
        assert forged != raw
        assert not dkim.verify(forged, dnsfunc=_dns(key_pair))


def test_a_different_key_does_not_verify(tmp_path, rendered, key_pair):
    other = generate_key("s2025", "news.example.com", bits=1024)
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_signer(tmp_path, key_pair)).build(make_recipient())
    assert not dkim.verify(raw, dnsfunc=_dns(other))


def test_no_settings_means_no_signing_and_half_settings_are_an_error(tmp_path):
    assert load_signer(SimpleNamespace(dkim_selector=None, dkim_domain=None, dkim_key_file=None)) is None
    with pytest.raises(ConfigError, match="PUBLISHER_DKIM_KEY_FILE"):
        load_signer(SimpleNamespace(dkim_selector="s", dkim_domain="example.com", dkim_key_file=None))
    with pytest.raises(ConfigError, match="cannot read"):
        load_signer(SimpleNamespace(dkim_selector="s", dkim_domain="example.com", dkim_key_file=tmp_path / "nope"))
    (tmp_path / "pub.pem").write_text("-----BEGIN PUBLIC KEY-----\n")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_signer(SimpleNamespace(dkim_selector="s", dkim_domain="example.com", dkim_key_file=tmp_path / "pub.pem"))


def test_keygen_command_writes_the_key_and_prints_the_record(tmp_path, embedded, rendered):
    key_file = tmp_path / "keys" / "dkim.pem"
    result = embedded.run("dkim", "keygen", "--selector", "mail", "--domain", "news.example.com",
                          "--out", str(key_file))
    record = re.search(r'^mail\._domainkey\.news\.example\.com\. IN TXT ((?:"[^"]{1,255}" ?)+)$', result.stdout,
                       re.MULTILINE)
    assert record, result.stdout
    txt = "".join(re.findall(r'"([^"]*)"', record.group(1)))  # strings of at most 255 characters, joined
    assert re.fullmatch(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+", txt), txt
    assert key_file.stat().st_mode & 0o077 == 0
    signer = load_signer(SimpleNamespace(dkim_selector="mail", dkim_domain="news.example.com", dkim_key_file=key_file))
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=signer).build(make_recipient())
    pair = SimpleNamespace(txt_record=txt, dns_name="mail._domainkey.news.example.com")
    assert dkim.verify(raw, dnsfunc=_dns(pair))
    again = embedded.run("dkim", "keygen", "--out", str(key_file), check=False)
    assert again.returncode == 2 and "exists" in again.stderr


def test_a_message_with_a_utf8_address_is_signed_and_verifies(tmp_path, rendered, key_pair):
    """RFC 6532 headers (an address that goes with SMTPUTF8) are signed as the bytes they are."""
    prepared = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_signer(tmp_path, key_pair))
    raw = prepared.build(make_recipient(email="zoé@exämple.org", name="Zoë " * 30), date=DATE)
    assert not raw.isascii()
    assert dkim.verify(raw, dnsfunc=_dns(key_pair))


# --- fast signing: both algorithms, every message verifies with dkimpy -------------------------------------

@pytest.fixture(scope="module")
def ed_pair():
    return generate_key("ed2026", "news.example.com", algorithm="ed25519")


def _dual_signer(tmp_path, rsa_pair, ed_pair):
    (tmp_path / "rsa.pem").write_bytes(rsa_pair.private_pem)
    (tmp_path / "ed.pem").write_bytes(ed_pair.private_pem)
    return load_signer(SimpleNamespace(dkim_selector="s2025", dkim_domain="news.example.com",
                                       dkim_key_file=tmp_path / "rsa.pem", dkim_ed25519_selector="ed2026",
                                       dkim_ed25519_key_file=tmp_path / "ed.pem"))


def _dns_of(*pairs):
    records = {pair.dns_name: pair.txt_record.encode() for pair in pairs}

    def lookup(name, timeout=5):
        return records.get(name.decode().rstrip("."))
    return lookup


def _verify_all(raw: bytes, *pairs) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature of the message, in order."""
    checker = dkim.DKIM(raw)
    count = raw.split(b"\r\n\r\n", 1)[0].lower().count(b"\ndkim-signature:") + raw.lower().startswith(b"dkim-signature:")
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(bool(checker.verify(idx=i, dnsfunc=_dns_of(*pairs))))
        except dkim.DKIMException:
            verdicts.append(False)
    return verdicts


def test_rsa_and_ed25519_signatures_both_verify(tmp_path, rendered, key_pair, ed_pair):
    signer = _dual_signer(tmp_path, key_pair, ed_pair)
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=signer).build(make_recipient(), date=DATE)
    assert _verify_all(raw, key_pair, ed_pair) == [True, True]
    signatures = parse(raw).get_all("DKIM-Signature")
    assert any("a=rsa-sha256" in s for s in signatures) and any("a=ed25519-sha256" in s for s in signatures)
    for forged in (raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: no"),
                   raw.replace(b"Second post", b"Second p0st", 1), raw.replace(b"zoe@example.org", b"eve@example.org")):
        assert _verify_all(forged, key_pair, ed_pair) == [False, False]


def test_a_relay_refolding_headers_keeps_the_signature_valid(tmp_path, rendered, key_pair, ed_pair):
    signer = _dual_signer(tmp_path, key_pair, ed_pair)
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=signer).build(make_recipient(), date=DATE)
    head, body = raw.split(b"\r\n\r\n", 1)
    refolded = re.sub(rb"\r\n[ \t]+", b"\r\n\t   ", head).replace(b"List-Unsubscribe-Post: ", b"List-Unsubscribe-Post:   ")
    assert refolded != head
    assert _verify_all(refolded + b"\r\n\r\n" + body, key_pair, ed_pair) == [True, True]


def test_the_key_is_parsed_once_and_again_when_the_file_changes(tmp_path, key_pair):
    path = tmp_path / "rsa.pem"
    path.write_bytes(key_pair.private_pem)
    settings = SimpleNamespace(dkim_selector="s2025", dkim_domain="news.example.com", dkim_key_file=path)
    first, second = load_signer(settings), load_signer(settings)
    assert first.keys[0].private_key is second.keys[0].private_key
    other = generate_key("s2025", "news.example.com", bits=1024)
    path.write_bytes(other.private_pem)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_signer(settings).keys[0].private_key is not first.keys[0].private_key


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(min_size=1, max_size=300), name=st.text(max_size=120),
       text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=2000),
       trailing_blank_lines=st.integers(min_value=0, max_value=3))
def test_any_message_we_build_verifies(tmp_path, key_pair, ed_pair, subject, name, text, trailing_blank_lines):
    from publisher.compose.render import RenderedDigest

    subject = " ".join(subject.split()) or "x"
    rendered = RenderedDigest(subject=subject, html=f"<p>{text}</p>" + "\n" * trailing_blank_lines,
                              text=text + "\n" * trailing_blank_lines)
    signer = _dual_signer(tmp_path, key_pair, ed_pair)
    try:
        raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=signer).build(make_recipient(name=name))
    except InvalidInputError:
        return  # a value no header can carry is refused before signing (tested with the headers)
    assert _verify_all(raw, key_pair, ed_pair) == [True, True]


def test_the_static_start_of_the_body_is_hashed_once_and_every_recipient_still_verifies(tmp_path, rendered,
                                                                                      key_pair, ed_pair):
    prepared = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_dual_signer(tmp_path, key_pair, ed_pair))
    assert 0 < prepared.prefix_segments  # the part headers and the text before the greeting's name
    names = ["Zoë", "A much longer name than the others, with commas", None, "=?utf-8?q?x?=", ".dot"]
    messages = [prepared.build(make_recipient(name=name)) for name in names]
    assert len({m.split(b"bh=", 1)[1][:44] for m in messages}) == len(names)  # each body hashed as it is
    for raw in messages:
        assert _verify_all(raw, key_pair, ed_pair) == [True, True]
