"""The SSRF guard against real servers on loopback: every spelling of an internal address, for both HTTP
clients (aiohttp for feeds, httpx for hubs and cross-posting), directly and as a redirect's Location.

An *internal* server listens on 127.0.0.1 and ::1 (the same port): with private networks refused, no request
may ever reach it. An *allowed* server on 127.0.0.2 (let through by PUBLISHER_ALLOWED_PRIVATE_ADDRESSES)
stands for a public site whose redirect points inside."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from publisher.config import Settings
from publisher.errors import BlockedAddressError, ConfigError, FetchError
from publisher.ingest.fetch import fetch_feed
from publisher.ingest.ssrf import Policy, blocked_reason, check_url, make_client
from tests.support.servers import Internal, Recorder

# Spellings of 127.0.0.1 (or of "localhost") that some URL parser turns into loopback.
LOOPBACK_SPELLINGS = [
    # ideographic, full-width and halfwidth full stops (U+3002, U+FF0E, U+FF61), alone and mixed
    "127。0。0。1", "127．0．0．1", "127｡0｡0｡1", "127。0．0｡1",
    # full-width, mathematical, double-struck and circled digits, mixed with ASCII
    "１２７.０.０.１", "１２７。０。０。１", "127.0.0.１", "𝟏𝟐𝟕.𝟎.𝟎.𝟏", "𝟙𝟚𝟟.𝟘.𝟘.𝟙", "①②⑦.⓪.⓪.①",
    # mixed scripts and compatibility forms of "localhost"
    "ｌｏｃａｌｈｏｓｔ", "LOCALHOST", "locaⅼhost", "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "LocalHost.", "localhost。",
    # percent-encoding, of ASCII and of UTF-8 full-width digits
    "%31%32%37.0.0.1", "127%2e0%2e0%2e1", "127.0.0.1%2e", "%6c%6f%63%61%6c%68%6f%73%74",
    "%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1",
    # trailing dots
    "127.0.0.1.", "127.0.0.1..", "127。0。0。1。",
    # decimal, octal, hex and short IPv4 forms
    "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "0x7f000001", "0X7F.0.0.1", "017700000001",
    "0177.1", "127.000.000.001", "0", "0.0.0.0",
    # userinfo tricks
    "evil@127.0.0.1", "example.com@127.0.0.1", "example.com:80@127。0。0。1", "user:pass@localhost",
    # IPv6 literals: loopback, unspecified, zone ids, IPv4-mapped/-compatible/-translated, NAT64, 6to4
    "[::1]", "[0:0:0:0:0:0:0:1]", "[::0001]", "[::1%25lo]", "[::1%251]", "[::]", "[fe80::1%25lo]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[::127.0.0.1]",
    "[::ffff:0:127.0.0.1]", "[64:ff9b::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]",
    "[2002:a00:1::1]", "[64:ff9b::10.0.0.1]",
]
# Non-ASCII digits IDNA does not map to ASCII digits: they become xn-- names that resolve nowhere. Never
# reached, though not refused as an address (they are not one).
PUNYCODE_NAMES = ["١٢٧.٠.٠.١", "१२७.०.०.१"]
SCHEMES = ["http", "HTTP", "hTtP"]
STATUSES = [301, 302, 307, 308]


def _rotated(values: list, over: list) -> list[tuple]:
    """Each of `over` paired with one of `values` in turn: every value is exercised, without a product."""
    return [(item, values[i % len(values)]) for i, item in enumerate(over)]


@pytest.fixture(scope="module")
def internal():
    with Internal() as servers:
        yield servers


@pytest.fixture(autouse=True)
def _forget_hits(internal):
    internal.forget()


@pytest.fixture
def front():
    """An allowed server (127.0.0.2 is listed in PUBLISHER_ALLOWED_PRIVATE_ADDRESSES) whose redirects point
    inside."""
    with Recorder("127.0.0.2") as server:
        yield server


ALLOW_FRONT = Policy.of(Settings(allowed_private_addresses="127.0.0.2"))


def test_the_internal_servers_answer_when_private_networks_are_allowed(internal):
    """The control: the refusals below are the guard's doing, not a server that cannot be reached."""
    assert fetch_feed(internal.url("127.0.0.1"), allow_private_networks=True).status == 200
    assert fetch_feed(internal.url("[::1]"), allow_private_networks=True).status == 200
    with make_client(allow_private_networks=True) as client:
        assert client.get(internal.url("127.0.0.1")).status_code == 200
    assert len(internal.hits) == 3


@pytest.mark.parametrize("host, scheme", _rotated(SCHEMES, LOOPBACK_SPELLINGS))
def test_feed_fetcher_refuses_every_spelling_of_an_internal_address(internal, host, scheme):
    with pytest.raises(BlockedAddressError, match="^refusing to fetch "):
        fetch_feed(internal.url(host, scheme), timeout=5)
    assert internal.hits == []


@pytest.mark.parametrize("host", PUNYCODE_NAMES)
def test_digits_idna_does_not_map_make_a_name_that_reaches_nothing(internal, host):
    with pytest.raises(FetchError):
        fetch_feed(internal.url(host), timeout=5)
    assert internal.hits == []


@pytest.fixture(scope="module")
def guarded():
    with make_client(timeout=5) as client:
        yield client


@pytest.mark.parametrize("host, scheme", _rotated(SCHEMES, LOOPBACK_SPELLINGS + PUNYCODE_NAMES))
def test_httpx_client_and_check_url_refuse_every_spelling(internal, guarded, host, scheme):
    url = internal.url(host, scheme)
    if host not in PUNYCODE_NAMES:  # refused as an address, or as a URL httpx cannot read
        with pytest.raises(FetchError, match="^refusing to fetch "):
            check_url(url)
    with pytest.raises((FetchError, httpx.HTTPError, httpx.InvalidURL)):
        guarded.get(url)
    with pytest.raises((FetchError, httpx.HTTPError, httpx.InvalidURL)):
        guarded.post(url, data={"hub.mode": "subscribe"})
    assert internal.hits == []


def test_the_allowed_front_server_is_reached(front):
    """The control for the redirect tests: the first hop is allowed, so a refusal is the redirect's."""
    assert fetch_feed(front.url("/feed"), policy=ALLOW_FRONT).status == 200
    with make_client(policy=ALLOW_FRONT) as client:
        assert client.get(front.url("/feed")).status_code == 200


@pytest.mark.parametrize("host, status", _rotated(STATUSES, LOOPBACK_SPELLINGS))
def test_every_spelling_is_refused_as_a_redirect_location(internal, front, host, status):
    start = front.redirect("/moved", internal.url(host), status)
    with pytest.raises(BlockedAddressError, match="^refusing to fetch "):
        fetch_feed(start, policy=ALLOW_FRONT, timeout=5)
    with make_client(policy=ALLOW_FRONT, timeout=5) as client, pytest.raises((FetchError, httpx.HTTPError)):
        client.get(start, follow_redirects=True)
    assert len(front.hits) == 2 and internal.hits == []


@pytest.mark.parametrize("location", ["//127。0。0。1:{port}/feed", "//2130706433:{port}/feed",
                                      "//[::ffff:127.0.0.1]:{port}/feed", "HTTP://0x7f.1:{port}/feed",
                                      "http://%31%32%37.0.0.1:{port}/feed", " http://127．0．0．1:{port}/feed"])
def test_scheme_relative_and_odd_locations_are_refused(internal, front, location):
    start = front.redirect("/moved", location.format(port=internal.port))
    with pytest.raises(BlockedAddressError):
        fetch_feed(start, policy=ALLOW_FRONT, timeout=5)
    assert internal.hits == []


def test_a_refusal_says_how_to_allow_private_networks(internal):
    with pytest.raises(BlockedAddressError) as caught:
        fetch_feed(internal.url("127.0.0.1"))
    message = str(caught.value)
    assert "127.0.0.1 is a loopback address" in message and "PUBLISHER_ALLOW_PRIVATE_NETWORKS=true" in message
    assert "\n" not in message


# --- what passes: plain names and public literals, normalised as the client sends them --------------------

@pytest.mark.parametrize("url, aiohttp_form", [
    ("http://example.com/feed", "http://example.com/feed"),
    ("HTTPS://Example.COM/feed", "https://example.com/feed"),
    ("http://example.com./feed", "http://example.com./feed"),
    ("http://bücher.example/feed", "http://xn--bcher-kva.example/feed"),
    ("http://my_blog.example.com/feed", "http://my_blog.example.com/feed"),
    ("http://1.example.com/feed", "http://1.example.com/feed"),
    ("http://93.184.216.34/feed", "http://93.184.216.34/feed"),
    ("http://[2606:2800:220:1:248:1893:25c8:1946]/feed", "http://[2606:2800:220:1:248:1893:25c8:1946]/feed"),
    ("http://[64:ff9b::93.184.216.34]/feed", "http://[64:ff9b::5db8:d822]/feed"),  # NAT64 of a public address
])
def test_plain_hosts_and_public_literals_pass_as_the_client_writes_them(url, aiohttp_form):
    assert check_url(url, client="aiohttp", resolve_names=False) == aiohttp_form


@pytest.mark.parametrize("url", ["http://example.123/", "http://ex ample.com/", "http://exa%6dple.com/",
                                 "http://example.com../x", "http://a..b/", "http://-x.example/"])
def test_hosts_that_are_no_plain_name_are_refused(url):
    for client in ("aiohttp", "httpx"):
        with pytest.raises(FetchError, match="refusing to fetch"):
            check_url(url, client=client, resolve_names=False)


# --- addresses: embedded IPv4 in IPv6 ---------------------------------------------------------------------

@pytest.mark.parametrize("address, reason", [
    ("64:ff9b::7f00:1", "a loopback address (NAT64)"),
    ("64:ff9b::a00:1", "a private address (NAT64)"),
    ("2002:7f00:1::", "a loopback address (6to4)"),
    ("2002:c0a8:101::1", "a private address (6to4)"),
    ("::7f00:1", "a loopback address (IPv4-compatible)"),
    ("::ffff:0:a00:1", "a private address (IPv4-translated)"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address (Teredo)"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
])
def test_ipv4_embedded_in_ipv6_is_judged_by_the_ipv4_address(address, reason):
    assert reason in (blocked_reason(address) or "")


PRIVATE_V4 = st.one_of(st.ip_addresses(network="127.0.0.0/8"), st.ip_addresses(network="10.0.0.0/8"),
                       st.ip_addresses(network="192.168.0.0/16"), st.ip_addresses(network="169.254.0.0/16"),
                       st.ip_addresses(network="172.16.0.0/12"), st.ip_addresses(network="100.64.0.0/10"),
                       st.ip_addresses(network="0.0.0.0/8"))


def _embeddings(v4: ipaddress.IPv4Address) -> list[str]:
    n = int(v4)
    return [f"::ffff:{v4}", f"::{v4}", f"64:ff9b::{v4}", f"::ffff:0:{v4}",
            str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)),
            str(ipaddress.IPv6Address((0x2001 << 96) | (n ^ 0xFFFFFFFF)))]


@given(PRIVATE_V4)
def test_every_embedding_of_a_private_ipv4_is_refused(v4):
    for address in _embeddings(v4):
        assert blocked_reason(address), address


@given(st.ip_addresses(v=4).filter(lambda a: a.is_global and not a.is_multicast))
def test_a_public_ipv4_behind_nat64_or_mapped_is_allowed(v4):
    # IPv6-only hosts reach IPv4-only feeds through DNS64/NAT64: their addresses must keep working.
    for address in (f"::ffff:{v4}", f"64:ff9b::{v4}"):
        assert blocked_reason(address) is None, address


# --- generated spellings ------------------------------------------------------------------------------------

DOTS = st.sampled_from([".", "。", "．", "｡"])
DIGIT_SETS = [str.maketrans("0123456789", "".join(chr(base + i) for i in range(10)))
              for base in (0x30, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6)]


@st.composite
def loopback_spellings(draw) -> str:
    """127.0.0.1 (or 127.x.y.z, 0.0.0.0) written with any dots, digit scripts, octet bases and percent-escapes."""
    octets = draw(st.sampled_from([[127, 0, 0, 1], [0, 0, 0, 0]]) | st.tuples(
        st.just(127), st.integers(0, 255), st.integers(0, 255), st.integers(1, 254)).map(list))
    parts = []
    for octet in octets:
        written = draw(st.sampled_from(["{}", "0{:o}", "0x{:x}", "0X{:X}", "{:03d}"])).format(octet)
        parts.append(written.translate(draw(st.sampled_from(DIGIT_SETS))))
    host = parts[0]
    for part in parts[1:]:
        host += draw(DOTS) + part
    if draw(st.booleans()):
        host += draw(DOTS)
    if draw(st.booleans()):  # percent-encode a character, as UTF-8
        i = draw(st.integers(0, len(host) - 1))
        host = host[:i] + "".join(f"%{b:02X}" for b in host[i].encode()) + host[i + 1:]
    return draw(st.sampled_from(["", "user@", "a.example@", "x:y@"])) + host


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=loopback_spellings(), scheme=st.sampled_from(SCHEMES))
def test_generated_spellings_of_loopback_never_reach_it(internal, guarded, host, scheme):
    url = internal.url(host, scheme)
    with pytest.raises(FetchError):
        fetch_feed(url, timeout=5)
    with pytest.raises((FetchError, httpx.HTTPError, httpx.InvalidURL)):
        guarded.get(url)
    assert internal.hits == []


# --- the policy: PUBLISHER_ALLOW_PRIVATE_NETWORKS and PUBLISHER_ALLOWED_PRIVATE_ADDRESSES -----------------

def test_listed_private_addresses_pass_and_their_neighbours_do_not():
    policy = Policy.of(Settings(allowed_private_addresses="10.0.0.0/8, 192.168.1.10 fd00::/8"))
    for address in ("10.1.2.3", "::ffff:10.1.2.3", "192.168.1.10", "fd00::1", "93.184.216.34"):
        assert policy.refusal(address) is None, address
    for address in ("192.168.1.11", "127.0.0.1", "::1", "172.16.0.1", "fe80::1"):
        assert policy.refusal(address), address
    assert all(Policy(allow_private_networks=True).refusal(a) is None for a in ("127.0.0.1", "::1", "10.0.0.1"))


@pytest.mark.parametrize("value", ["10.0.0.0/33", "localhost", "10.0.0", "192.168.1.10;rm"])
def test_a_malformed_allowed_address_is_a_clear_config_error(value):
    with pytest.raises(ConfigError, match="PUBLISHER_ALLOWED_PRIVATE_ADDRESSES: .* is not an IP address"):
        Policy.of(Settings(allowed_private_addresses=value))


def test_a_non_plain_host_is_refused_even_when_private_networks_are_allowed(internal):
    """Allowing private networks allows addresses, not spellings: 0x7f.1 still has to be written 127.0.0.1."""
    with pytest.raises(BlockedAddressError, match="not a plain IP address .it reads as 127.0.0.1."):
        fetch_feed(internal.url("0x7f.1"), allow_private_networks=True)
    assert fetch_feed(internal.url("127。0。0。1"), allow_private_networks=True).url == internal.url("127.0.0.1")
    assert len(internal.hits) == 1
