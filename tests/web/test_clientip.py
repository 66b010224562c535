"""Whom the app believes about the client's address: the peer, unless the peer is a trusted proxy; then the
right-most X-Forwarded-For hop that is not a trusted proxy. Spoofed headers from anyone else are ignored."""

from __future__ import annotations

import pytest

from publisher.config import Settings
from publisher.web.clientip import client_address

PROXIES = ["10.0.0.0/8", "2001:db8:cafe::/48"]


@pytest.mark.parametrize(("peer", "headers", "trusted", "client"), [
    # Nobody trusted (the default): whatever the headers say, the peer is the client.
    ("198.51.100.9", ["1.2.3.4"], [], "198.51.100.9"),
    ("198.51.100.9", ["1.2.3.4, 10.0.0.1"], [], "198.51.100.9"),
    ("2001:db8::9", ["1.2.3.4"], [], "2001:db8::9"),
    # An untrusted peer cannot make itself trusted with a header.
    ("198.51.100.9", ["10.0.0.1"], PROXIES, "198.51.100.9"),
    ("198.51.100.9", ["203.0.113.7", "10.0.0.2"], PROXIES, "198.51.100.9"),
    # A trusted proxy: the hop it appended.
    ("10.0.0.1", ["203.0.113.7"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["  203.0.113.7  "], PROXIES, "203.0.113.7"),
    # The client wrote its own X-Forwarded-For; the proxy appended the real address: the right-most wins.
    ("10.0.0.1", ["6.6.6.6, 203.0.113.7"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["10.9.9.9, 203.0.113.7"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["6.6.6.6", "203.0.113.7"], PROXIES, "203.0.113.7"),  # two headers, in order
    # Two trusted proxies in a row.
    ("10.0.0.1", ["6.6.6.6, 203.0.113.7, 10.0.0.5"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["203.0.113.7", "10.0.0.5"], PROXIES, "203.0.113.7"),
    # Forms proxies write: ports, brackets, IPv6, IPv4-mapped peers.
    ("10.0.0.1", ["203.0.113.7:4711"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["[2001:db8::7]:4711"], PROXIES, "2001:db8::7"),
    ("10.0.0.1", ["2001:db8::7"], PROXIES, "2001:db8::7"),
    ("::ffff:10.0.0.1", ["203.0.113.7"], PROXIES, "203.0.113.7"),
    ("2001:db8:cafe::1", ["203.0.113.7"], PROXIES, "203.0.113.7"),
    # Unreadable hops: believe nothing left of them.
    ("10.0.0.1", ["evil, 203.0.113.7"], PROXIES, "203.0.113.7"),
    ("10.0.0.1", ["203.0.113.7, not-an-ip"], PROXIES, "10.0.0.1"),
    ("10.0.0.1", ["unknown"], PROXIES, "10.0.0.1"),
    ("10.0.0.1", [""], PROXIES, "10.0.0.1"),
    ("10.0.0.1", [], PROXIES, "10.0.0.1"),
    # Every hop a trusted proxy: the left-most is as far as we can see.
    ("10.0.0.1", ["10.0.0.7, 10.0.0.5"], PROXIES, "10.0.0.7"),
    # No peer address at all.
    (None, ["203.0.113.7"], PROXIES, "unknown"),
])
def test_client_address(peer, headers, trusted, client):
    assert client_address(peer, headers, trusted) == client


def test_trusted_proxies_setting_takes_ips_and_networks_and_refuses_the_rest(monkeypatch):
    monkeypatch.setenv("PUBLISHER_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 fd00::/8")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    monkeypatch.setenv("PUBLISHER_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == []
    monkeypatch.delenv("PUBLISHER_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []  # default: believe nobody
    for bad in ("10.0.0.0/33", "proxy.example.org", "10.0.0.1;rm"):
        monkeypatch.setenv("PUBLISHER_TRUSTED_PROXIES", bad)
        with pytest.raises(ValueError, match="PUBLISHER_TRUSTED_PROXIES"):
            Settings()
