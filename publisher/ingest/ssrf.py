"""The SSRF guard: which addresses the publisher may connect to on a feed's or a hub's behalf.

A URL is checked before each request (scheme, host, IP literals), and a host name is resolved and checked
where the connection is made, and the connection goes to an address that was checked: a check followed by a
second resolution inside the HTTP library would let a DNS answer that changes in between (DNS rebinding)
reach an internal address. Both HTTP clients we use go through it: aiohttp for feeds (GuardedResolver),
httpx for WebSub hubs (make_client).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from publisher.errors import BlockedAddressError, FetchError

# RFC 6598 shared address space; Python's ipaddress calls it neither private nor global, so we name it.
CGNAT = ipaddress.ip_network("100.64.0.0/10")


def check_url(url: str, *, allow_private_networks: bool = False, resolve_names: bool = True) -> None:
    """Refuse non-HTTP schemes and, unless allowed, hosts that resolve to a non-public address.
    With resolve_names=False only IP literals are checked here; names are left to the connect-time guard."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"refusing to fetch {url}: malformed URL ({exc})") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise FetchError(f"refusing to fetch {url}: only http and https URLs are supported")
    if not parts.hostname:
        raise FetchError(f"refusing to fetch {url}: the URL has no host")
    if allow_private_networks or (not resolve_names and not _is_ip_literal(parts.hostname)):
        return
    refuse_blocked(url, resolve(parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to: one bad A/AAAA record is enough to refuse."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve {host}: {exc}") from exc
    # Strip an IPv6 zone ("fe80::1%eth0") so ipaddress can read it.
    return sorted({info[4][0].split("%", 1)[0] for info in infos})


class GuardedBackend(httpcore.SyncBackend):
    """httpx's network backend: resolve the host when connecting, refuse it if any address is non-public,
    and connect to an address that was checked."""

    def __init__(self, *, allow_private_networks: bool):
        self.allow_private_networks = allow_private_networks

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve(host, port)
        if not self.allow_private_networks:
            refuse_blocked(f"from {host}", addresses)
        last_error: Exception | None = None
        for address in addresses:  # TLS still verifies the certificate against `host` (the SNI name)
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host}")


def refuse_blocked(what: str, addresses: list[str]) -> None:
    """Raise BlockedAddressError if any of the addresses `what` (a URL, or "from host") resolved to is
    non-public. Not an HTTP library error, so either library passes it up to the caller unchanged."""
    for address in addresses:
        reason = blocked_reason(address)
        if reason:
            raise BlockedAddressError(f"refusing to fetch {what}: {address} is {reason}")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver: the connector connects to the addresses returned here, and only those, so a
    refused address is never reached. (aiohttp skips the resolver for IP literals: check_url covers them.)"""

    def __init__(self, *, allow_private_networks: bool):
        self.allow_private_networks = allow_private_networks

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        addresses = await asyncio.get_running_loop().run_in_executor(None, resolve, host, port)
        if not self.allow_private_networks:
            refuse_blocked(f"from {host}", addresses)
        return [{"hostname": host, "host": address, "port": port, "proto": 0,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                 "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV} for address in addresses]

    async def close(self) -> None:
        pass


def make_client(*, allow_private_networks: bool = False, timeout: float = 20.0,
                max_connections: int = 10) -> httpx.Client:
    """An httpx client whose every TCP connection goes through the guard at connect time (GuardedBackend).
    trust_env is off: an environment proxy would connect on our behalf to addresses we never checked."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.HTTPTransport(limits=limits)
    # httpx has no public hook for the network backend; the pool is rebuilt with the same settings plus ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allow_private_networks=allow_private_networks),
    )
    return httpx.Client(transport=transport, follow_redirects=False, timeout=timeout, trust_env=False)


def blocked_reason(address: str) -> str | None:
    """Why we refuse to connect to `address` ("a loopback address", ...), or None if it is public."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        inner = blocked_reason(str(ip.ipv4_mapped))
        return f"{inner} (IPv4-mapped)" if inner else None
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
