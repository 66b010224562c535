"""Fetch a feed's bytes over HTTP: conditional GET, hand-followed redirects, SSRF guard, size cap.

The stage takes a URL and returns bytes plus the validators (ETag, Last-Modified) the caller stores for the
next conditional GET. It never parses. Every error is one of the typed FetchErrors in `publisher.errors`.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from publisher.errors import (
    BlockedAddressError,
    FeedTooLargeError,
    FetchError,
    HTTPStatusError,
)

USER_AGENT = "publisher/0.1 (+self-hosted newsletter)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# Only encodings we can inflate ourselves with a bounded output (see _Decoder); brotli/zstd would bypass the cap.
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
PERMANENT_REDIRECT_STATUSES = {301, 308}
# RFC 6598 shared address space; Python's ipaddress calls it neither private nor global, so we name it.
CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int  # 200 (or another 2xx) or 304
    content: bytes  # b"" on 304
    etag: str | None
    last_modified: str | None
    content_type: str | None
    permanent_redirect_url: str | None  # set when a 301/308 moved the feed (caller updates the stored URL)
    hub_url: str | None = None  # WebSub hub named by a `Link: <...>; rel="hub"` header
    self_url: str | None = None  # the topic URL named by `Link: <...>; rel="self"` (WebSub topic)
    max_age: int | None = None  # seconds from Cache-Control max-age: do not ask again sooner


def make_client(*, allow_private_networks: bool = False, timeout: float = 20.0,
                max_connections: int = 100) -> httpx.Client:
    """A client whose every TCP connection goes through the SSRF guard at connect time (see GuardedBackend).

    Share one across threads to poll many feeds over pooled connections. trust_env is off: an environment
    proxy would connect on our behalf to addresses we never checked."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.HTTPTransport(limits=limits)
    # httpx has no public hook for the network backend; the pool is rebuilt with the same settings plus ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allow_private_networks=allow_private_networks),
    )
    return httpx.Client(transport=transport, follow_redirects=False, timeout=timeout, trust_env=False)


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private_networks: bool = False,
    timeout: float = 20.0,
    max_bytes: int = 10 * 1024 * 1024,
    client: httpx.Client | None = None,
) -> FetchResult:
    """GET `url`, following at most 5 redirects, each hop checked against the SSRF guard."""
    plan = _Plan(etag=etag, last_modified=last_modified, allow_private_networks=allow_private_networks,
                 timeout=timeout, max_bytes=max_bytes,
                 # The deadline bounds the whole fetch: httpx's timeout is per read, so a server dribbling
                 # a byte a second would otherwise hold a worker for hours.
                 deadline=time.monotonic() + timeout)
    owned = client is None
    if client is None:
        client = make_client(allow_private_networks=allow_private_networks, timeout=timeout, max_connections=2)
    try:
        return _follow(client, url, plan)
    finally:
        if owned:
            client.close()


@dataclass(frozen=True)
class _Plan:
    """The caller's options for one fetch, carried across redirect hops."""

    etag: str | None
    last_modified: str | None
    allow_private_networks: bool
    timeout: float
    max_bytes: int
    deadline: float

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def timed_out(self, url: str) -> FetchError:
        return FetchError(f"timed out after {self.timeout:g}s fetching {url}")


def _follow(client: httpx.Client, url: str, plan: _Plan) -> FetchResult:
    current, permanent, still_permanent = url, None, True
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(current, allow_private_networks=plan.allow_private_networks)
        try:
            with client.stream("GET", current, headers=plan.headers(), timeout=plan.timeout,
                               follow_redirects=False) as response:
                if response.status_code not in REDIRECT_STATUSES:
                    return _result(response, current, permanent, plan)
                target = _redirect_target(response, current)
                # A feed has "moved" only if every hop from the stored URL so far was permanent.
                still_permanent = still_permanent and response.status_code in PERMANENT_REDIRECT_STATUSES
                permanent = target if still_permanent else permanent
                current = target
        except httpx.TimeoutException as exc:
            raise plan.timed_out(current) from exc
        except httpx.ConnectError as exc:
            raise FetchError(f"could not connect to {current}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"network error fetching {current}: {exc}") from exc
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS}) fetching {url}")


def _redirect_target(response: httpx.Response, current: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchError(f"{current} answered {response.status_code} without a Location header")
    return urljoin(current, location.strip())


def _result(response: httpx.Response, url: str, permanent: str | None, plan: _Plan) -> FetchResult:
    status = response.status_code
    if status >= 400:
        raise HTTPStatusError(f"{url} answered {status} {response.reason_phrase}".rstrip(),
                              status=status, retry_after=response.headers.get("retry-after"))
    if status != 304 and not 200 <= status < 300:
        raise FetchError(f"{url} answered an unexpected status {status}")
    not_modified = status == 304
    links = response.links
    # A 304 may omit the validators; keep the ones the caller sent so it stores the same values again.
    return FetchResult(
        url=url,
        status=status,
        content=b"" if not_modified else _read_body(response, url, plan),
        etag=response.headers.get("etag") or (plan.etag if not_modified else None),
        last_modified=response.headers.get("last-modified") or (plan.last_modified if not_modified else None),
        content_type=response.headers.get("content-type"),
        permanent_redirect_url=permanent,
        hub_url=_link(links, "hub", url),
        self_url=_link(links, "self", url),
        max_age=cache_max_age(response.headers.get("cache-control")),
    )


def _link(links: dict, rel: str, base: str) -> str | None:
    href = (links.get(rel) or {}).get("url")
    return urljoin(base, href) if href else None


def cache_max_age(cache_control: str | None) -> int | None:
    """Seconds a response stays fresh per Cache-Control (max-age, or 0 for no-cache/no-store)."""
    if not cache_control:
        return None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age" and value.strip().strip('"').isdigit():
            return int(value.strip().strip('"'))
    return None


def _read_body(response: httpx.Response, url: str, plan: _Plan) -> bytes:
    """Read the raw stream and inflate it ourselves, so the cap applies to the decoded size (gzip bombs)."""
    decoder = _Decoder(response.headers.get("content-encoding", ""), url, plan.max_bytes)
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > plan.max_bytes:
        raise decoder.too_large()
    for chunk in response.iter_raw():
        if time.monotonic() > plan.deadline:
            raise plan.timed_out(url)
        decoder.feed(chunk)
    return decoder.finish()


class _Decoder:
    """Collect the body, inflating gzip/deflate with every call's output bounded by the room left under the cap.

    httpx's own decoders inflate a whole network chunk at once (64 KB of zeros → 64 MB), so we read raw bytes.
    """

    def __init__(self, content_encoding: str, url: str, max_bytes: int):
        self.url, self.max_bytes, self.body = url, max_bytes, bytearray()
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in {"gzip", "x-gzip", "deflate"}):
            raise FetchError(f"{url} used an unsupported Content-Encoding: {content_encoding}")
        self.coding = codings[0] if codings else None
        self.identity = self.coding is None
        # gzip: wbits 31; deflate: zlib-wrapped per the RFC, raw deflate tried if that fails (servers differ).
        self._inflater = zlib.decompressobj(31 if self.coding in {"gzip", "x-gzip"} else 15)
        self._raw_fallback = self.coding == "deflate"

    def feed(self, chunk: bytes) -> None:
        self._append(chunk if self.identity else self._inflate(chunk))

    def finish(self) -> bytes:
        if not self.identity:
            self._append(self._inflater.flush())
        return bytes(self.body)

    def too_large(self) -> FeedTooLargeError:
        return FeedTooLargeError(f"{self.url} is larger than the {self.max_bytes:,}-byte limit")

    def _append(self, data: bytes) -> None:
        if len(self.body) + len(data) > self.max_bytes:
            raise self.too_large()
        self.body += data

    def _inflate(self, chunk: bytes) -> bytes:
        room = self.max_bytes - len(self.body)
        try:
            # zlib stops before the input ends only at max_length, so room + 1 bytes out means "too large".
            out = self._inflater.decompress(chunk, room + 1)
        except zlib.error as exc:
            if not self._raw_fallback:
                raise FetchError(f"{self.url} sent a corrupt {self.coding} body: {exc}") from exc
            self._raw_fallback = False
            self._inflater = zlib.decompressobj(-15)
            return self._inflate(chunk)
        self._raw_fallback = False
        return out


# --- SSRF guard -------------------------------------------------------------------------------------------

def check_url(url: str, *, allow_private_networks: bool = False) -> None:
    """Refuse non-HTTP schemes and, unless allowed, hosts that resolve to a non-public address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"refusing to fetch {url}: malformed URL ({exc})") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise FetchError(f"refusing to fetch {url}: only http and https URLs are supported")
    if not parts.hostname:
        raise FetchError(f"refusing to fetch {url}: the URL has no host")
    if allow_private_networks:
        return
    for address in resolve(parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)):
        reason = blocked_reason(address)
        if reason:
            raise BlockedAddressError(f"refusing to fetch {url}: {address} is {reason}")


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to: one bad A/AAAA record is enough to refuse."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve {host}: {exc}") from exc
    # Strip an IPv6 zone ("fe80::1%eth0") so ipaddress can read it.
    return sorted({info[4][0].split("%", 1)[0] for info in infos})


class GuardedBackend(httpcore.SyncBackend):
    """Resolve the host when connecting, refuse it if any address is non-public, and connect to an address
    that was checked. A check before the request and a second resolution by the HTTP library would let a
    DNS answer that changes in between (DNS rebinding) reach an internal address."""

    def __init__(self, *, allow_private_networks: bool):
        self.allow_private_networks = allow_private_networks

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve(host, port)
        if not self.allow_private_networks:
            for address in addresses:
                reason = blocked_reason(address)
                if reason:
                    # Not an httpcore error, so httpx passes it up to the caller unchanged.
                    raise BlockedAddressError(f"refusing to fetch from {host}: {address} is {reason}")
        last_error: Exception | None = None
        for address in addresses:  # TLS still verifies the certificate against `host` (the SNI name)
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host}")


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
