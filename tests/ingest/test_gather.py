"""The gatherer: many fetches and parses at once on its own event loop, handed over in batches."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from publisher.config import Settings
from publisher.errors import BlockedAddressError, HTTPStatusError
from publisher.ingest.gather import Gatherer, Request

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://blog.example/</link>'
        b"<item><guid>1</guid><title>One</title><description>&lt;p onclick='x()'&gt;Hi&lt;/p&gt;</description>"
        b"</item></channel></rss>")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        status = 404 if self.path == "/missing" else 200
        body = FEED if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def settings(**changes) -> Settings:
    return Settings(**{"database_url": "sqlite://", "allow_private_networks": True, **changes})


def test_every_request_gets_exactly_one_outcome_even_when_it_fails(server):
    requests = [Request(f"{server}/feed"), Request(f"{server}/missing"), Request("ftp://example.com/feed"),
                Request(f"{server}/feed?again")]
    with Gatherer(settings()) as gatherer:
        arrived = [pair for batch in gatherer.gather_batches(requests, size=10, wait=0.5) for pair in batch]
    outcomes = dict(arrived)
    assert sorted(outcomes) == [0, 1, 2, 3] and len(arrived) == 4
    assert [p.title for p in outcomes[0].posts] == ["One"] and "onclick" not in outcomes[0].posts[0].content_html
    assert isinstance(outcomes[1].error, HTTPStatusError) and outcomes[1].error.status == 404
    assert "only http and https" in str(outcomes[2].error)
    assert outcomes[3].posts and outcomes[3].error is None


def test_a_batch_is_handed_over_without_waiting_for_a_slow_feed(server):
    requests = [Request(f"{server}/slow"), *(Request(f"{server}/feed?{i}") for i in range(3))]
    with Gatherer(settings()) as gatherer:
        batches = [[index for index, _ in batch] for batch in gatherer.gather_batches(requests, size=10, wait=0.3)]
    assert sorted(batches[0]) == [1, 2, 3] and batches[1:] == [[0]]  # not one batch of four


def test_private_addresses_are_refused_unless_allowed(server):
    with Gatherer(settings(allow_private_networks=False)) as gatherer:
        outcome = gatherer.gather(f"{server}/feed")
    assert isinstance(outcome.error, BlockedAddressError)
