"""Real HTTP servers on a chosen loopback address (127.0.0.1, 127.0.0.2, ::1) that record every request.

The SSRF tests need two kinds: an *internal* server the guard must never let a request reach, and an
*allowed* one (on an address the policy lets through) that redirects to the internal one."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Internal</title>'
        b"<item><guid>secret</guid><title>Internal secret</title></item></channel></rss>")


class Recorder:
    """Answers every request with `routes[path]` (status, headers, body), a feed by default, and records
    (method, path, Host header) of each request in `hits`. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.hits: list[tuple[str, str, str]] = []
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.hits.append((self.command, self.path, self.headers.get("Host", "")))
                status, headers, body = outer.routes.get(self.path.split("?")[0], (200, {}, FEED))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.httpd = server_class((host, port), Handler)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str = "/feed") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def redirect(self, path: str, location: str, status: int = 301) -> str:
        # Sent as raw UTF-8, as servers do: send_header writes Latin-1, so hand it the UTF-8 bytes as Latin-1.
        self.routes[path] = (status, {"Location": location.encode().decode("latin-1")}, b"")
        return self.url(path)

    def __enter__(self) -> Recorder:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _bound_pair() -> tuple[Recorder, Recorder]:
    """Servers on 127.0.0.1 and ::1 sharing one port, so every spelling names a port that answers."""
    for _ in range(20):
        v4 = Recorder("127.0.0.1")
        try:
            return v4, Recorder("::1", v4.port)
        except OSError:  # that port is taken on ::1: try another
            v4.httpd.server_close()
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


class Internal:
    """The internal servers: 127.0.0.1 and ::1 on one port. `url(host)` spells a URL to them with any host."""

    def __init__(self):
        self.v4, self.v6 = _bound_pair()
        self.port = self.v4.port

    @property
    def hits(self) -> list:
        return self.v4.hits + self.v6.hits

    def forget(self) -> None:
        self.v4.hits.clear()
        self.v6.hits.clear()

    def __enter__(self) -> Internal:
        self.v4.__enter__()
        self.v6.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.v4.__exit__()
        self.v6.__exit__()

    def url(self, host: str, scheme: str = "http", path: str = "/feed") -> str:
        userinfo, _, bare = host.rpartition("@")
        return f"{scheme}://{userinfo + '@' if userinfo else ''}{bare}:{self.port}{path}"
