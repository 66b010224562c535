from publisher.compose.verp import parse_verp, verp_address

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
