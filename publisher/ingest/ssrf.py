"""The SSRF guard: which addresses the publisher may connect to on a feed's, a hub's or a service's behalf.

Entry points, for every outbound request the app makes:
- `check_url(url, policy=..., client="httpx"|"aiohttp")`: refuse a URL, or return it as that client will send it;
- `make_client(policy=...)`: an httpx client guarded at every hop (redirects included) and at connect time;
- `aiohttp_url` + `GuardedResolver`: the same for aiohttp (the feed fetcher, `publisher.ingest.fetch`).
`Policy.of(settings)` says what is allowed (PUBLISHER_ALLOW_PRIVATE_NETWORKS, PUBLISHER_ALLOWED_PRIVATE_ADDRESSES).

Two rules make it hold:
1. The host checked is the host the client will connect to, derived with the client's own URL class (yarl for
   aiohttp, httpx.URL for httpx): each applies IDNA/UTS #46 its own way, so "127。0。0。1", "１２７.０.０.１" or
   "①②⑦.0.0.1" become 127.0.0.1 in one and an error in the other. What comes out must be a plain host name
   (ASCII letters, digits, hyphens) or an IP literal: a percent-escape, a numeric form that is no dotted quad
   ("2130706433", "0x7f.1", "127.1", "0177.0.0.1": socket reads them as addresses) is refused outright.
2. A name is resolved where the connection is made, and the connection goes to an address that was checked:
   a check followed by a second resolution inside the HTTP library would let a DNS answer that changes in
   between (DNS rebinding) reach an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpcore
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from publisher.errors import BlockedAddressError, FetchError
from publisher.ingest.addresses import Network, blocked_reason, is_localhost, parse_networks, plain_host

__all__ = ["Policy", "check_url", "make_client", "aiohttp_url", "GuardedResolver", "blocked_reason", "resolve"]

AIOHTTP, HTTPX = "aiohttp", "httpx"
HOW_TO_ALLOW = ("set PUBLISHER_ALLOW_PRIVATE_NETWORKS=true to allow private networks, or list the address in "
                "PUBLISHER_ALLOWED_PRIVATE_ADDRESSES")


@dataclass(frozen=True)
class Policy:
    """Public addresses are always allowed; non-public ones when private networks are, or when listed."""

    allow_private_networks: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, settings) -> Policy:
        return cls(settings.allow_private_networks, parse_networks(settings.allowed_private_addresses))

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be reached under this policy, or None."""
        if self.allow_private_networks or any(_within(address, net) for net in self.allowed_networks):
            return None
        return blocked_reason(address)

    def refuse_any(self, what: str, addresses: list[str]) -> None:
        """Raise BlockedAddressError if any of the addresses `what` names is refused: one bad DNS record is
        enough. Not an HTTP library error, so either library passes it up to the caller unchanged."""
        for address in addresses:
            reason = self.refusal(address)
            if reason:
                raise BlockedAddressError(f"refusing to fetch {what}: {address} is {reason}; {HOW_TO_ALLOW}")

    def refuse_name(self, what: str, host: str) -> None:
        """A name that is loopback by definition is refused as loopback, before any resolver is asked."""
        if is_localhost(host) and self.refusal("127.0.0.1"):
            raise BlockedAddressError(f"refusing to fetch {what}: {host} is a loopback name; {HOW_TO_ALLOW}")


def _within(address: str, network: Network) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version == network.version and ip in network


def _policy(policy: Policy | None, allow_private_networks: bool) -> Policy:
    return policy if policy is not None else Policy(allow_private_networks=allow_private_networks)


def check_url(url: str | httpx.URL | yarl.URL, *, policy: Policy | None = None, allow_private_networks: bool = False,
              resolve_names: bool = True, client: str = HTTPX) -> str:
    """Refuse `url` unless it is http(s) to a plain host name or an IP literal the policy allows, as `client`
    ("httpx" or "aiohttp") reads it; return it as that client will send it. With resolve_names=False a name
    is left to the connect-time guard (which resolves it once, and connects to what it checked)."""
    return str(_checked(url, _policy(policy, allow_private_networks), resolve_names, client))


def aiohttp_url(url: str | yarl.URL, *, policy: Policy) -> yarl.URL:
    """The URL object to hand aiohttp, checked: aiohttp connects to its raw_host, and skips the resolver (so
    the connect-time guard) for IP literals, which makes this check the one that sees them."""
    return _checked(url, policy, False, AIOHTTP)


def _checked(url, policy: Policy, resolve_names: bool, client: str):
    parsed = _parse(url, client)
    text = str(url)
    if parsed.scheme not in {"http", "https"}:
        raise FetchError(f"refusing to fetch {text}: only http and https URLs are supported")
    host = parsed.raw_host if client == AIOHTTP else parsed.raw_host.decode("ascii", "replace")
    if not host:
        raise FetchError(f"refusing to fetch {text}: the URL has no host")
    try:
        address = plain_host(host)
    except ValueError as exc:
        raise BlockedAddressError(f"refusing to fetch {text}: {exc}") from None
    if address is not None:
        policy.refuse_any(text, [address])
        return parsed
    policy.refuse_name(text, host)
    if resolve_names:
        policy.refuse_any(text, resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80)))
    return parsed


def _parse(url, client: str):
    try:
        if client == AIOHTTP:
            parsed = url if isinstance(url, yarl.URL) else yarl.URL(str(url).strip())
            parsed.port  # noqa: B018 - a bad port is found now, not in the middle of a request
            return parsed
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url).strip())
        parsed.port  # noqa: B018
        return parsed
    except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
        raise FetchError(f"refusing to fetch {url}: malformed URL ({exc})") from None


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to: one bad A/AAAA record is enough to refuse."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve {host}: {exc}") from exc
    # Strip an IPv6 zone ("fe80::1%eth0") so ipaddress can read it.
    return sorted({info[4][0].split("%", 1)[0] for info in infos})


def _resolve_guarded(host: str, port: int, policy: Policy) -> list[str]:
    """The connect-time guard of both clients: the host must be plain, and all it resolves to allowed."""
    try:
        address = plain_host(host)
    except ValueError as exc:
        raise BlockedAddressError(f"refusing to fetch from {host}: {exc}") from None
    if address is None:
        policy.refuse_name(f"from {host}", host)
    addresses = [address] if address is not None else resolve(host, port)
    policy.refuse_any(f"from {host}", addresses)
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpx's network backend: resolve the host when connecting, refuse it if any address is refused,
    and connect to an address that was checked."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last_error: Exception | None = None
        for address in _resolve_guarded(host, port, self.policy):  # TLS still verifies `host` (the SNI name)
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host}")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver: the connector connects to the addresses returned here, and only those, so a
    refused address is never reached. (aiohttp skips the resolver for IP literals: `aiohttp_url` checks
    those, on the very URL object aiohttp is given.)"""

    def __init__(self, policy: Policy):
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        addresses = await asyncio.get_running_loop().run_in_executor(None, _resolve_guarded, host, port,
                                                                     self.policy)
        return [{"hostname": host, "host": address, "port": port, "proto": 0,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                 "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV} for address in addresses]

    async def close(self) -> None:
        pass


def make_client(*, policy: Policy | None = None, allow_private_networks: bool = False, timeout: float = 20.0,
                max_connections: int = 10) -> httpx.Client:
    """A guarded httpx client: every request, each redirect hop included, is checked as httpx reads its URL
    (a request hook), and every TCP connection goes through the connect-time guard (GuardedBackend).
    Redirects are not followed unless a request asks (follow_redirects=True); each hop is checked then too.
    trust_env is off: an environment proxy would connect on our behalf to addresses we never checked."""
    policy = _policy(policy, allow_private_networks)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.HTTPTransport(limits=limits)
    # httpx has no public hook for the network backend; the pool is rebuilt with the same settings plus ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy),
    )

    def check_hop(request: httpx.Request) -> None:
        _checked(request.url, policy, False, HTTPX)

    return httpx.Client(transport=transport, follow_redirects=False, timeout=timeout, trust_env=False,
                        event_hooks={"request": [check_hop]})
