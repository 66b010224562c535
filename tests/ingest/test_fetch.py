"""fetch_feed against a real HTTP server on 127.0.0.1 (port 0), and the address classifier."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from publisher.errors import BlockedAddressError, FeedTooLargeError, FetchError, HTTPStatusError
from publisher.ingest.fetch import USER_AGENT, Fetcher, cache_max_age, fetch_feed
from publisher.ingest.ssrf import blocked_reason, check_url

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


def _gzip_of_zeros(size: int) -> bytes:
    # Streamed, so the test never holds the 50 MB of zeros it describes.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


GZIP_BOMB = _gzip_of_zeros(50 * 1024 * 1024)


class Handler(BaseHTTPRequestHandler):
    seen_headers: list[dict[str, str]] = []

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        Handler.seen_headers.append(dict(self.headers))
        path = self.path
        if path == "/feed":
            return self._feed()
        if path == "/gzip-feed":
            return self._send(200, gzip.compress(FEED), {"Content-Encoding": "gzip"})
        if path == "/deflate-zlib":
            return self._send(200, zlib.compress(FEED), {"Content-Encoding": "deflate"})
        if path == "/deflate-raw":  # some servers send raw deflate despite the RFC
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            return self._send(200, packer.compress(FEED) + packer.flush(), {"Content-Encoding": "deflate"})
        if path == "/brotli":
            return self._send(200, b"??", {"Content-Encoding": "br"})
        if path == "/moved":
            return self._redirect(301, "/feed")
        if path == "/moved-then-temp":
            return self._redirect(308, "/temp")
        if path == "/temp":
            return self._redirect(302, "/feed")
        if path == "/temp-then-moved":
            return self._redirect(307, "/moved")
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            return self._redirect(302, f"/hops/{left - 1}" if left > 1 else "/feed")
        if path == "/websub-feed":
            return self._send(200, FEED, {"Link": '<https://hub.example/>; rel="hub", </websub-feed>; rel="self"',
                                          "Cache-Control": "public, max-age=900"})
        if path == "/no-location":
            return self._send(302, b"")
        if path == "/bomb":
            return self._send(200, GZIP_BOMB, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
        if path == "/big":
            return self._send(200, b"x" * 2048)
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            extra = {"Retry-After": "120"} if status in (429, 503) else {}
            return self._send(status, b"nope", extra)
        if path == "/slow":
            time.sleep(3)
            return self._feed()
        return self._send(404, b"not found")

    def _feed(self):
        if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return self._send(304, b"", {"ETag": ETAG})
        return self._send(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED,
                                      "Content-Type": "application/rss+xml; charset=utf-8"})

    def _redirect(self, status: int, location: str):
        self._send(status, b"", {"Location": location})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (size cap)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, **kwargs):
    kwargs.setdefault("allow_private_networks", True)  # the test server is on loopback
    return fetch_feed(url, **kwargs)


# --- conditional GET ----------------------------------------------------------------------------------------

def test_200_then_304_with_etag(server):
    first = fetch(f"{server}/feed")
    assert (first.status, first.content, first.etag, first.last_modified) == (200, FEED, ETAG, LAST_MODIFIED)
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert first.url == f"{server}/feed" and first.permanent_redirect_url is None

    second = fetch(f"{server}/feed", etag=first.etag)
    assert (second.status, second.content, second.etag) == (304, b"", ETAG)
    assert Handler.seen_headers[-1]["If-None-Match"] == ETAG


def test_304_with_last_modified_keeps_the_callers_validator(server):
    result = fetch(f"{server}/feed", last_modified=LAST_MODIFIED)
    assert result.status == 304
    assert result.last_modified == LAST_MODIFIED  # the server did not repeat it; we keep the caller's


def test_sends_user_agent_and_accept(server):
    fetch(f"{server}/feed")
    headers = {k.lower(): v for k, v in Handler.seen_headers[-1].items()}
    assert headers["user-agent"] == USER_AGENT
    assert "application/rss+xml" in headers["accept"] and "application/atom+xml" in headers["accept"]


def test_gzip_body_is_decoded(server):
    assert fetch(f"{server}/gzip-feed").content == FEED


@pytest.mark.parametrize("path", ["/deflate-zlib", "/deflate-raw"])
def test_deflate_body_is_decoded(server, path):
    assert fetch(f"{server}{path}").content == FEED


def test_unrequested_content_encoding_is_an_error(server):
    with pytest.raises(FetchError, match="unsupported Content-Encoding: br"):
        fetch(f"{server}/brotli")


def test_one_fetcher_serves_many_fetches_at_once_over_its_pool(server):
    async def many():
        async with Fetcher(allow_private_networks=True, max_connections=4) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(f"{server}/{path}") for path in ["feed", "moved"] * 10))
    results = asyncio.run(many())
    assert [r.content for r in results] == [FEED] * 20
    assert {r.permanent_redirect_url for r in results} == {None, f"{server}/feed"}


# --- redirects ----------------------------------------------------------------------------------------------

def test_permanent_redirect_is_reported(server):
    result = fetch(f"{server}/moved")
    assert result.url == f"{server}/feed"
    assert result.permanent_redirect_url == f"{server}/feed"
    assert result.content == FEED


def test_permanent_then_temporary_redirect_reports_only_the_permanent_hop(server):
    result = fetch(f"{server}/moved-then-temp")
    assert result.url == f"{server}/feed"
    assert result.permanent_redirect_url == f"{server}/temp"


def test_temporary_then_permanent_redirect_does_not_move_the_feed(server):
    result = fetch(f"{server}/temp-then-moved")
    assert result.url == f"{server}/feed"
    assert result.permanent_redirect_url is None


def test_five_redirects_are_followed(server):
    result = fetch(f"{server}/hops/5")
    assert result.url == f"{server}/feed" and result.content == FEED


def test_more_than_five_redirects_are_refused(server):
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(f"{server}/hops/6")


def test_redirect_without_location_is_an_error(server):
    with pytest.raises(FetchError, match="without a Location"):
        fetch(f"{server}/no-location")


# --- SSRF guard ---------------------------------------------------------------------------------------------

def test_loopback_is_refused_by_default(server):
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_feed(f"{server}/feed")


def test_localhost_name_is_resolved_and_refused(server):
    port = server.rsplit(":", 1)[1]
    with pytest.raises(BlockedAddressError, match="loopback"):
        fetch_feed(f"http://localhost:{port}/feed")


def test_loopback_is_allowed_when_private_networks_are(server):
    assert fetch_feed(f"{server}/feed", allow_private_networks=True).status == 200


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "file:///etc/passwd", "gopher://x/", "javascript:x",
                                 "http:///nohost"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(FetchError, match="refusing to fetch"):
        fetch_feed(url)


@pytest.mark.parametrize("address, reason", [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback address (IPv4-mapped)"),
    ("::ffff:10.0.0.1", "private address (IPv4-mapped)"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "private"),  # documentation range (TEST-NET-1)
])
def test_non_public_addresses_are_refused(address, reason):
    assert reason in (blocked_reason(address) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946",
                                     "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address):
    assert blocked_reason(address) is None


def test_check_url_refuses_ip_literals_without_dns():
    with pytest.raises(BlockedAddressError, match=r"refusing to fetch http://\[::1\]/: ::1 is a loopback"):
        check_url("http://[::1]/")
    with pytest.raises(BlockedAddressError, match="169.254.169.254 is a link-local"):
        check_url("http://169.254.169.254/latest/meta-data/")


# --- limits and errors --------------------------------------------------------------------------------------

def test_gzip_bomb_is_refused_by_decoded_size(server):
    assert len(GZIP_BOMB) < 200 * 1024  # the wire size is small; only the decoded size gives it away
    with pytest.raises(FeedTooLargeError, match="larger than"):
        fetch(f"{server}/bomb")


def test_plain_body_over_the_cap_is_refused(server):
    with pytest.raises(FeedTooLargeError):
        fetch(f"{server}/big", max_bytes=1024)
    assert len(fetch(f"{server}/big", max_bytes=4096).content) == 2048


@pytest.mark.parametrize("status, retry_after", [(404, None), (410, None), (429, "120"), (503, "120")])
def test_error_statuses_raise_with_status_and_retry_after(server, status, retry_after):
    with pytest.raises(HTTPStatusError) as caught:
        fetch(f"{server}/status/{status}")
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert str(status) in str(caught.value)


def test_slow_server_times_out(server):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0.5s fetching"):
        fetch(f"{server}/slow", timeout=0.5)
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_fetch_error():
    with socket.socket() as probe:  # a port that was free a moment ago, so nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="could not connect"):
        fetch(f"http://127.0.0.1:{port}/feed", timeout=2)


# --- DNS rebinding, WebSub discovery, caching hints ---------------------------------------------------------

def test_connection_goes_to_the_address_that_was_checked(server, monkeypatch):
    """A name that resolves to a public address when checked and to loopback a moment later (DNS
    rebinding) must not reach loopback: the name is resolved once, where the connection is made, and the
    connection goes to the address that was checked."""
    port = int(server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the first answer looks public...

    def rebinding(host, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")  # ...every later one points inside
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    before = len(Handler.seen_headers)
    with pytest.raises(FetchError) as caught:  # no route to the public address here: refused or timed out
        fetch_feed(f"http://rebind.example:{port}/feed", timeout=2)
    assert "127.0.0.1" not in str(caught.value)
    assert len(Handler.seen_headers) == before  # nothing reached the loopback server


def test_a_name_that_resolves_inside_is_refused_where_the_connection_is_made(server, monkeypatch):
    port = int(server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
         (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
        if host == "mixed.example" else real(host, *a, **k)))
    with pytest.raises(BlockedAddressError, match="10.0.0.7 is a private address"):
        fetch_feed(f"http://mixed.example:{port}/feed", timeout=2)  # one bad record is enough


def test_allowed_private_host_is_reached_by_name_with_its_host_header(server, monkeypatch):
    port = int(server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        "127.0.0.1" if host == "feeds.internal" else host, *a, **k))
    assert fetch(f"http://feeds.internal:{port}/feed").status == 200
    assert Handler.seen_headers[-1]["Host"] == f"feeds.internal:{port}"


def test_link_header_names_the_hub_and_cache_control_the_max_age(server):
    result = fetch(f"{server}/websub-feed")
    assert result.hub_url == "https://hub.example/"
    assert result.self_url == f"{server}/websub-feed"
    assert result.max_age == 900


@pytest.mark.parametrize("header, seconds", [("max-age=60", 60), ("public, max-age=\"120\"", 120),
                                             ("no-cache", None), (None, None), ("max-age=soon", None)])
def test_cache_max_age(header, seconds):
    assert cache_max_age(header) == seconds
