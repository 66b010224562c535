"""/metrics tells what happened, read from the database and the broker; /healthz and /readyz answer a load
balancer without ever hanging on a dependency."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import news_list, ops_client
from tests.support.editors import ADMIN, EDITOR, make_api_token, make_editor
from tests.support.servers import Recorder
from tests.support.smtp import free_port


def _samples(client) -> dict[tuple, float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _sent(samples, result: str) -> float:
    return samples[("publisher_messages_total", (("result", result),))]


def test_message_counters_move_after_a_real_send(embedded, feed_server, blog, smtp, monkeypatch):
    news_list(embedded, feed_server.url, blog, "alice@example.com", "bob@example.com", "carol@example.com")
    smtp.refuse_rcpt("carol@example.com", "550 5.1.1 no such user")
    client = ops_client(embedded, monkeypatch)
    before = _samples(client)
    assert _sent(before, "sent") == 0 and _sent(before, "hard_failed") == 0

    embedded.run("digest", "send", "--list", "news", check=False)  # exits 1: one delivery failed

    after = _samples(client)
    assert _sent(after, "sent") == 2 == len(smtp.messages)
    assert _sent(after, "hard_failed") == 1
    assert after[("publisher_digests_composed_total", ())] == before[("publisher_digests_composed_total", ())] + 1
    assert after[("publisher_feed_polls_total", (("result", "ok"),))] >= 1
    assert after[("publisher_posts_ingested_total", ())] == 2
    assert after[("publisher_send_rate_per_second", ())] > 0


def test_poll_errors_are_counted_by_kind(embedded, monkeypatch):
    with Recorder() as server:
        embedded.run("init")
        embedded.run("feeds", "add", server.url())
        server.routes["/feed"] = (503, {}, b"down")
        embedded.run("poll", check=False)
    samples = _samples(ops_client(embedded, monkeypatch))
    assert samples[("publisher_feed_poll_errors_total", (("kind", "http_5xx"),))] == 1
    assert samples[("publisher_feeds_failing", ())] == 1


def test_metrics_and_ops_are_for_admins(embedded, monkeypatch):
    """An admin's API token (Prometheus' bearer token) or PUBLISHER_API_TOKEN opens them; an editor who is no
    admin is refused; anonymous and forged credentials get 401."""
    embedded.run("init")
    client = ops_client(embedded, monkeypatch)
    admin_token = make_api_token(make_editor(ADMIN))
    editor_token = make_api_token(make_editor(EDITOR))
    for path in ("/metrics", "/ops", "/ops/status.json"):
        anonymous = client.get(path, headers={"Authorization": ""})
        assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {editor_token}"}).status_code == 403
        assert client.get(path, headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
        assert client.get(path).status_code == 200  # PUBLISHER_API_TOKEN acts as an admin
    monkeypatch.delenv("PUBLISHER_API_TOKEN")
    from publisher.config import get_settings

    get_settings.cache_clear()
    assert client.get("/metrics").status_code == 401


def test_healthz_and_readyz_on_embedded_defaults(embedded, monkeypatch):
    embedded.run("init")
    client = ops_client(embedded, monkeypatch)
    assert client.get("/healthz").json() == {"ok": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


@pytest.mark.redis
@pytest.mark.postgres
def test_readyz_fails_while_redis_is_down_and_recovers_when_it_is_back(scaled, tmp_path, monkeypatch):
    """Our own redis-server on a port of its own (the shared one is never stopped)."""
    port = free_port()
    scaled.env["PUBLISHER_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    scaled.run("init")
    client = ops_client(scaled, monkeypatch)

    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"]["broker"]["ok"] is False and down.json()["checks"]["database"]["ok"] is True

    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        up = client.get("/readyz")
        assert up.status_code == 200, up.text
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert client.get("/readyz").status_code == 503


def test_readyz_does_not_hang_on_an_unanswering_database(embedded, monkeypatch):
    """A PostgreSQL address that accepts the connection and never answers: connect_timeout ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        embedded.env["PUBLISHER_DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/x"
        embedded.env["PUBLISHER_READY_TIMEOUT_SECONDS"] = "1"
        client = ops_client(embedded, monkeypatch)
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"]["ok"] is False


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
