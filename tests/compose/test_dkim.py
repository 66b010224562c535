"""DKIM signatures made with the key `publisher dkim keygen` writes verify against the record it prints."""

import re
from types import SimpleNamespace

import dkim
import pytest

from publisher.compose.dkim import SIGNED_HEADERS, generate_key, load_signer
from publisher.compose.message import prepare
from publisher.errors import ConfigError
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
    for name in ("from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"):
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
    with pytest.raises(ConfigError, match="not a PEM private key"):
        load_signer(SimpleNamespace(dkim_selector="s", dkim_domain="example.com", dkim_key_file=tmp_path / "pub.pem"))


def test_keygen_command_writes_the_key_and_prints_the_record(tmp_path, embedded, rendered):
    key_file = tmp_path / "keys" / "dkim.pem"
    result = embedded.run("dkim", "keygen", "--selector", "mail", "--domain", "news.example.com",
                          "--out", str(key_file))
    record = re.search(r'^mail\._domainkey\.news\.example\.com\. IN TXT "(v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+)"$',
                       result.stdout, re.MULTILINE)
    assert record, result.stdout
    assert key_file.stat().st_mode & 0o077 == 0
    signer = load_signer(SimpleNamespace(dkim_selector="mail", dkim_domain="news.example.com", dkim_key_file=key_file))
    raw = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=signer).build(make_recipient())
    pair = SimpleNamespace(txt_record=record.group(1), dns_name="mail._domainkey.news.example.com")
    assert dkim.verify(raw, dnsfunc=_dns(pair))
    again = embedded.run("dkim", "keygen", "--out", str(key_file), check=False)
    assert again.returncode == 2 and "exists" in again.stderr


def test_a_message_with_a_utf8_address_is_signed_and_verifies(tmp_path, rendered, key_pair):
    """RFC 6532 headers (an address that goes with SMTPUTF8) are signed as the bytes they are."""
    prepared = prepare(rendered, sender=SENDER, list_id=LIST_ID, signer=_signer(tmp_path, key_pair))
    raw = prepared.build(make_recipient(email="zoé@exämple.org", name="Zoë " * 30), date=DATE)
    assert not raw.isascii()
    assert dkim.verify(raw, dnsfunc=_dns(key_pair))
