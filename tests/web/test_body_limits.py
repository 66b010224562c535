"""Every request body is capped before it is read, against the real `publisher serve` (uvicorn) on 127.0.0.1:
a declared Content-Length over the cap gets its 413 before a byte of body is sent; a chunked or streamed
body is cut off just past the cap; and the server's peak memory does not grow with what a client sends."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.models import Feed, HubSubscription
from publisher.models.base import utcnow
from publisher.services.websub import callback_url
from publisher.web.limits import DEFAULT_BODY_LIMIT
from tests.support.deploy import Publisher, base_env
from tests.support.smtp import free_port

FEED_CAP = 1024 * 1024  # PUBLISHER_MAX_FEED_BYTES here: the cap of a WebSub push
HUGE = 200 * 1024 * 1024  # what a hostile client offers to send
CHUNK = b"x" * (64 * 1024)


class Server:
    def __init__(self, port: int, process: subprocess.Popen, push_path: str):
        self.port, self.process, self.push_path = port, process, push_path

    def peak_memory_kb(self) -> int:
        """The server process's peak resident memory (VmHWM): a body held for a moment still shows."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def _subscription(database_url: str, base_url: str) -> str:
    """An active WebSub subscription, as a hub's verification leaves it: the path of its callback."""
    engine = create_engine(database_url)
    with Session(engine) as session:
        feed = Feed(url="https://blog.example/feed")
        session.add(feed)
        session.flush()
        session.add(HubSubscription(feed_id=feed.id, hub_url="https://hub.example/", topic_url=feed.url,
                                    secret="s" * 64, state="active", verified_at=utcnow()))
        session.commit()
        url = callback_url(Settings(base_url=base_url), feed.id, "s" * 64)
    engine.dispose()
    return url.removeprefix(base_url)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("limits")
    port = free_port()
    env = base_env(workdir, PUBLISHER_MAX_FEED_BYTES=str(FEED_CAP), PUBLISHER_WEBSUB="false",
                   PUBLISHER_BASE_URL=f"http://127.0.0.1:{port}")
    publisher = Publisher(workdir, env)
    publisher.run("init")
    push_path = _subscription(env["PUBLISHER_DATABASE_URL"], env["PUBLISHER_BASE_URL"])
    log = open(workdir / "serve.log", "wb")
    process = subprocess.Popen(publisher.command("serve", "--no-worker", "--port", str(port)), cwd=workdir, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while _status(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") != 200:
        assert process.poll() is None and time.monotonic() < deadline, (workdir / "serve.log").read_text()
        time.sleep(0.2)
    yield Server(port, process, push_path)
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def _status(port: int, head: str) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head.encode())
            return _read_status(sock)
    except OSError:
        return None


def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        part = sock.recv(4096)
        if not part:
            break
        data += part
    return int(data.split(b" ", 2)[1])


def _head(path: str, **headers: str) -> str:
    kind = "application/x-www-form-urlencoded" if path.startswith("/subscribe/") else "application/json"
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {kind}",
             *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def _offer(server: Server, path: str, total: int, *, chunked: bool) -> tuple[int, int]:
    """Send up to `total` bytes of body (chunked, or with its Content-Length declared), stopping as soon as
    the server answers; (status, bytes of body sent)."""
    status, sent, _closed = _offer_and_close(server, path, total, chunked=chunked)
    return status, sent


def _offer_and_close(server: Server, path: str, total: int, *, chunked: bool) -> tuple[int, int, bool]:
    """As _offer, and whether the server closed the connection after its answer."""
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(_head(path, **({"Transfer_Encoding": "chunked"} if chunked else
                                    {"Content_Length": str(total)})).encode())
        while sent < total and not select.select([sock], [], [], 0)[0]:
            piece = CHUNK[:total - sent]
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        else:
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
        status = _read_status(sock)
        return status, sent, _closed(sock)


def _closed(sock: socket.socket) -> bool:
    try:
        while sock.recv(65536):  # the rest of the answer, then end of stream
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


ROUTES = ["/api/subscribe", "/subscribe/news", "/preferences/some-token", "/healthz", "/no-such-page",
          "/websub/1/not-the-secret"]


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_oversized_body_is_refused_before_it_is_sent(server, path):
    assert _status(server.port, _head(path, Content_Length=str(300 * 1024 * 1024))) == 413


def test_a_push_may_be_as_large_as_a_feed_and_no_larger(server):
    over = _head(server.push_path, Content_Length=str(FEED_CAP + 1))
    assert _status(server.port, over) == 413
    assert _offer(server, server.push_path, FEED_CAP, chunked=False)[0] == 202  # unsigned: ignored, but read
    assert _offer(server, server.push_path, FEED_CAP, chunked=True)[0] == 202
    status, sent = _offer(server, server.push_path, HUGE, chunked=True)
    assert status == 413 and sent < HUGE // 4


def test_small_bodies_still_reach_their_routes(server):
    body = '{"list": "news", "email": "a@example.com"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((_head("/api/subscribe", Content_Length=str(len(body))) + body).encode())
        assert _read_status(sock) not in (413, 500)
    assert _offer(server, "/api/subscribe", DEFAULT_BODY_LIMIT, chunked=True)[0] not in (413, 500)
    assert _offer(server, "/api/subscribe", DEFAULT_BODY_LIMIT + 1, chunked=True)[0] == 413


@pytest.mark.parametrize("path", ["/api/subscribe", "/subscribe/news"])
def test_a_streamed_body_is_cut_off_just_past_the_cap(server, path):
    status, sent, closed = _offer_and_close(server, path, HUGE, chunked=True)
    assert status == 413 and sent < HUGE // 4 and closed


@pytest.mark.parametrize("path", ["/preferences/some-token", "/healthz", "/no-such-page", "/websub/1/x"])
@pytest.mark.parametrize("chunked", [True, False])
def test_a_route_that_answers_without_reading_the_body_closes_the_connection(server, path, chunked):
    """Else the server would go on reading (and dropping) whatever the client streams, for as long as it does."""
    status, sent, closed = _offer_and_close(server, path, HUGE if chunked else DEFAULT_BODY_LIMIT, chunked=chunked)
    assert 400 <= status < 500 and sent < HUGE // 4 and closed


def test_memory_stays_flat_whatever_clients_send(server):
    before = server.peak_memory_kb()
    statuses = [_offer(server, path, HUGE, chunked=chunked)[0]
                for path in ("/api/subscribe", "/subscribe/news", server.push_path) for chunked in (True, False)]
    grown_mb = (server.peak_memory_kb() - before) / 1024
    print(f"server peak memory grew {grown_mb:.1f} MB while clients offered {6 * HUGE // 2 ** 20} MB")
    assert grown_mb < 40 and statuses == [413] * 6
