import string

import pytest

from publisher.compose.verp import message_id, parse_message_id, parse_verp, verp_address

KEY = "s3cret"


def test_round_trip():
    address = verp_address(KEY, digest_id=12, subscriber_id=3456, domain="bounces.example.com")
    assert address.startswith("bounce-12-3456-") and address.endswith("@bounces.example.com")
    assert parse_verp(KEY, address) == (12, 3456)
    assert parse_verp(KEY, f"<{address.upper()}>") == (12, 3456)  # relays may change case or add brackets


def test_forged_or_foreign_addresses_are_refused():
    address = verp_address(KEY, digest_id=12, subscriber_id=3456, domain="bounces.example.com")
    assert parse_verp("another key", address) is None
    assert parse_verp(KEY, address.replace("-3456-", "-3457-")) is None  # someone else's delivery
    for other in ("postmaster@example.com", "bounce-1-2@example.com", "bounce-x-2-abcdef12@e.com", ""):
        assert parse_verp(KEY, other) is None


def test_message_ids_are_signed_and_stable():
    value = message_id(KEY, digest_id=7, subscriber_id=42, domain="example.org")
    assert value == message_id(KEY, digest_id=7, subscriber_id=42, domain="example.org")  # a retry: same id
    assert value.startswith("<digest-7.subscriber-42.") and value.endswith("@example.org>")
    assert parse_message_id(KEY, value) == (7, 42)
    assert parse_message_id(KEY, f"  {value}\r\n") == (7, 42)  # as a header value may come
    for other in ("<digest-7.subscriber-42@example.org>", message_id("another key", digest_id=7, subscriber_id=42,
                                                                      domain="example.org"),
                  value.replace("subscriber-42", "subscriber-43"), value.replace("digest-7", "digest-8"),
                  value.strip("<>"), "", "<@>"):
        assert parse_message_id(KEY, other) is None, other


def test_a_verp_signature_is_no_message_id_signature():
    address = verp_address(KEY, digest_id=7, subscriber_id=42, domain="b.example")
    mac = address.split("@")[0].rsplit("-", 1)[1]
    assert parse_message_id(KEY, f"<digest-7.subscriber-42.{mac}{mac}@b.example>") is None


def _one_character_changes(text: str, start: int, end: int):
    for i in range(start, end):
        for c in string.digits + "abcdef-.xZ":
            if c != text[i]:
                yield text[:i] + c + text[i + 1:]
        yield text[:i] + text[i + 1:]


@pytest.mark.parametrize("kind", ["verp", "message-id"])
def test_no_one_character_change_of_a_signed_identity_names_someone_else(kind):
    """Every edit of the signed part (ids and HMAC) is refused, or still names the very same delivery."""
    if kind == "verp":
        genuine, parse = verp_address(KEY, digest_id=120, subscriber_id=3456, domain="b.example"), parse_verp
    else:
        genuine, parse = message_id(KEY, digest_id=120, subscriber_id=3456, domain="b.example"), parse_message_id
    variants = list(_one_character_changes(genuine, 0, genuine.index("@")))
    named = {parse(KEY, variant) for variant in variants}
    print(f"\n{len(variants)} edits of a {kind}: they name {named}")
    assert named <= {None, (120, 3456)} and len(variants) > 300
