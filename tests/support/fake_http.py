"""A small JSON HTTP server on 127.0.0.1 for fakes of services that cannot run here (Mastodon, Bluesky, a
webhook receiver), with scripted faults per route: an error status before the route acts, or the route acts
and the answer comes late (the client times out after the effect), or never (a worker killed mid-post)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"{}")

    def form(self) -> dict:
        kind = self.headers.get("content-type", "")
        if "json" in kind:
            return self.json()
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None


@dataclass
class Fault:
    """status: answer this before the route acts. delay: the route acts, then the answer waits this long."""

    status: int | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict = field(default_factory=lambda: {"error": "scripted fault"})


class FakeService:
    def __init__(self):
        self.requests: list[Request] = []
        self.faults: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self._stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                outer.requests.append(request)
                status, headers, body = outer._answer(request)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what it asked for is done all the same

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        self.faults[(method, path)].extend(faults)

    def calls(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def _answer(self, request: Request) -> tuple[int, dict, dict | bytes]:
        queue = self.faults.get((request.method, request.path))
        fault = queue.popleft() if queue else None
        if fault and fault.status is not None:
            return fault.status, dict(fault.headers), fault.body
        status, headers, body = self.route(request)
        if fault and fault.delay:
            self._stopping.wait(fault.delay)
        return status, headers, body

    def route(self, request: Request) -> tuple[int, dict, dict | bytes]:
        raise NotImplementedError

    def close(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_for(condition, what: str, seconds: float = 30, every: float = 0.05):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(every)
