"""Who is asking: the address sign-up limits count and consent records keep.

`publisher serve` runs uvicorn with proxy headers off, so the app decides whom to believe. X-Forwarded-For is
anybody's to write; only a proxy we trust (PUBLISHER_TRUSTED_PROXIES) appends the address it saw. So the
peer is the client unless it is a trusted proxy; then, reading X-Forwarded-For from the right, the first hop
that is not a trusted proxy is the client (whatever stands left of it was written by that client)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def request_client(request, settings) -> str:
    """The client of a Starlette request, as the settings say whom to believe."""
    return client_address(request.client.host if request.client else None,
                          request.headers.getlist("x-forwarded-for"), settings.trusted_proxies)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[str]) -> str:
    """The client's address, as text. `forwarded_for`: every X-Forwarded-For header, in order."""
    if not peer:
        return "unknown"
    peer_ip = parse_hop(peer)
    networks = _networks(tuple(trusted))
    if peer_ip is None or not _is_trusted(peer_ip, networks):
        return str(peer_ip) if peer_ip is not None else peer
    client = peer_ip
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        ip = parse_hop(hop)
        if ip is None:
            break  # unreadable: believe nothing further left; the last hop we could read is the client
        client = ip
        if not _is_trusted(ip, networks):
            break
    return str(client)


def parse_hop(text: str) -> IPAddress | None:
    """'203.0.113.7', '203.0.113.7:4711', '2001:db8::1', '[2001:db8::1]:4711' -> the address, else None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return ip


def _is_trusted(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)
