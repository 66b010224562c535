"""Addresses and hosts, as the SSRF guard judges them: pure functions of strings, no network.

`plain_host` says whether a URL's host (as an HTTP client parsed it) is a plain name or an IP literal, and
refuses everything else; `blocked_reason` says why an address is not public, looking through the IPv6 forms
that carry an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote

from publisher.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 6598 shared address space; Python's ipaddress calls it neither private nor global, so we name it.
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the IPv4 address in the low 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefixes: a site's own translators
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z", re.IGNORECASE | re.ASCII)
# WHATWG URL: a host whose last label is a number (decimal, or 0x-hex) is an IPv4 address, not a name.
_NUMBER = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z", re.IGNORECASE | re.ASCII)


def plain_host(host: str) -> str | None:
    """The address `host` is a literal of, or None for a plain host name. Anything else raises ValueError
    with the reason: a percent-escape, a character no DNS name has, a numeric form that is no dotted quad."""
    if ":" in host:  # an IPv6 literal: the URL parser took its brackets off and percent-encoded its zone
        try:
            return str(ipaddress.ip_address(unquote(host)))
        except ValueError:
            raise ValueError(f"the host {host} is not a valid IPv6 address") from None
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if _NUMBER.match(labels[-1]):
        if name == host:
            try:  # exactly four decimal numbers without leading zeros
                return str(ipaddress.IPv4Address(host))
            except ValueError:
                pass
        raise ValueError(f"the host {host} is not a plain IP address{_reads_as(name)}; "
                         "write an address as four decimal numbers, as in 192.0.2.1")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"the host {host!r} is not a plain host name (ASCII letters, digits, hyphens, dots)")
    return None


def _reads_as(name: str) -> str:
    try:  # what the C library (so an HTTP client) would make of it
        return f" (it reads as {socket.inet_ntoa(socket.inet_aton(name))})"
    except OSError:
        return ""


def is_localhost(host: str) -> bool:
    """RFC 6761: "localhost" and names under it are loopback, whatever a resolver says."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def blocked_reason(address: str) -> str | None:
    """Why we refuse to connect to `address` ("a loopback address", ...), or None if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone id does not change the range
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner, kind = embedded
            reason = blocked_reason(str(inner))
            if reason:
                return f"{reason} ({kind})"
            if kind in {"IPv4-mapped", "NAT64"}:
                # Connects to that public IPv4 address (dual stack, or an IPv6-only host's DNS64/NAT64).
                return None
        if ip in NAT64_LOCAL:
            return "a local-use NAT64 address"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.version == 4 and ip in CGNAT, "a carrier-grade NAT address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        # Catch-all for documentation, benchmarking, 6to4-relay and other special-purpose ranges.
        (not ip.is_global, "not a public address"),
    )
    return next((reason for blocked, reason in checks if blocked), None)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and how, for the forms a network may route to it."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in NAT64:
        return low32, "NAT64"
    if ip in IPV4_TRANSLATED:
        return low32, "IPv4-translated"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip.teredo is not None:
        return ip.teredo[1], "Teredo"  # the client's address (Python undoes the obfuscation)
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are IPv6's own
        return low32, "IPv4-compatible"
    return None


def parse_networks(text: str) -> tuple[Network, ...]:
    """PUBLISHER_ALLOWED_PRIVATE_ADDRESSES: addresses or CIDR networks, separated by commas or spaces."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"PUBLISHER_ALLOWED_PRIVATE_ADDRESSES: {item!r} is not an IP address or network "
                              "(write e.g. 192.168.1.10 or 10.0.0.0/8)") from None
    return tuple(networks)
