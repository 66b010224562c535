"""The /ops page shows what status --json shows, and its admin actions are confirmed, guarded and audited."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from publisher.web.auth import LEGACY_TOKEN_ACTOR as LEGACY
from tests.ops.conftest import news_list, ops_client
from tests.support.browser import launch_chromium, playwright_api
from tests.support.editors import ADMIN, log_in, make_editor
from tests.support.servers import Recorder



def _queue_ticks(publisher, n: int) -> None:
    code = f"from workers.tasks import tick\nfor _ in range({n}): tick.delay()"
    subprocess.run([sys.executable, "-c", code], env=publisher.env, cwd=publisher.workdir, check=True)


def _depth(html: str, queue: str) -> int:
    row = re.search(rf'<tr data-queue="{queue}">.*?<td class="num depth">(\d+)</td>', html, re.S)
    assert row, html
    return int(row.group(1))


def _ops_audit(publisher) -> list[tuple[str, str, str]]:
    """The audit entries of what was done on /ops (the command line's own acts are audited as "cli")."""
    return [entry for entry in publisher.audit_log() if entry[0] != "cli"]


def _confirm_and_post(client, action: str, target) -> object:
    """Open the confirmation page, then submit its form as the browser would."""
    page = client.get(f"/ops/confirm/{action}/{target}")
    assert page.status_code == 200, page.text
    form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    return client.post(form_action, data=fields, follow_redirects=False)


@pytest.mark.redis
@pytest.mark.postgres
def test_page_shows_the_depth_of_a_real_redis_queue_and_purging_it_is_confirmed_and_audited(scaled, monkeypatch):
    scaled.run("init")
    _queue_ticks(scaled, 5)
    client = ops_client(scaled, monkeypatch)
    assert _depth(client.get("/ops").text, "celery") == 5

    done = _confirm_and_post(client, "purge-queue", "celery")

    assert done.status_code == 303 and done.headers["location"] == "/ops?done=purge-queue"
    assert _depth(client.get("/ops").text, "celery") == 0
    assert _ops_audit(scaled) == [(LEGACY, "queue_purged", "queue celery")]


def test_retrying_a_held_row_sends_it_once_the_fault_is_fixed(embedded, feed_server, blog, smtp, monkeypatch):
    """The connection dropped after DATA: the row is held as "unknown" (never resent by itself); an admin
    who checked it did not arrive retries it."""
    news_list(embedded, feed_server.url, blog, "alice@example.com", "carol@example.com")
    smtp.drop_after_data("carol@example.com")
    embedded.run("digest", "send", "--list", "news", check=False)
    client = ops_client(embedded, monkeypatch)
    page = client.get("/ops").text
    assert "carol@example.com" in page and "unknown" in page
    row_id = re.search(r'href="/ops/confirm/retry-row/(\d+)"', page).group(1)
    smtp.behave_normally("carol@example.com")
    received_before = len(smtp.to("carol@example.com"))

    assert _confirm_and_post(client, "retry-row", row_id).status_code == 303

    assert len(smtp.to("carol@example.com")) == received_before + 1
    assert "carol@example.com" not in client.get("/ops").text
    assert _ops_audit(embedded) == [(LEGACY, "delivery_retried", f"delivery #{row_id}")]


def test_an_action_needs_the_form_token_and_a_confirmation(embedded, feed_server, blog, smtp, monkeypatch):
    """An admin's browser (a session cookie, which any site's form would carry too) must send the session's
    CSRF token and confirm."""
    news_list(embedded, feed_server.url, blog, "alice@example.com")
    client = ops_client(embedded, monkeypatch)
    del client.headers["Authorization"]
    log_in(client, make_editor(ADMIN), next_path="/ops")
    page = client.get("/ops/confirm/purge-queue/celery").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    assert client.post("/ops/actions/purge-queue/celery", data={"confirmed": "yes"}).status_code == 403
    assert client.post("/ops/actions/purge-queue/celery",
                       data={"confirmed": "yes", "csrf_token": "forged"}).status_code == 403
    assert client.post("/ops/actions/purge-queue/celery", data={"csrf_token": token}).status_code == 400
    assert client.get("/ops/confirm/drop-database/1").status_code == 404
    assert client.post("/ops/actions/pause-send/999", data={"confirmed": "yes", "csrf_token": token}).status_code == 404
    assert [entry for entry in _ops_audit(embedded) if entry[1] != "login"] == []  # nothing was done


def test_a_failing_feed_is_on_the_page_with_its_error(embedded, monkeypatch):
    with Recorder() as server:
        embedded.run("init")
        embedded.run("feeds", "add", server.url())
        server.routes["/feed"] = (500, {}, b"broken")
        embedded.run("poll", check=False)
    html = ops_client(embedded, monkeypatch).get("/ops").text
    failing = re.search(r'<tr class="failing-feed">(.*?)</tr>', html, re.S).group(1)
    assert server.url() in failing and "500" in failing


def test_page_fits_a_375_pixel_screen_with_its_charts(embedded, feed_server, blog, smtp, monkeypatch, tmp_path):
    sync_api = playwright_api()
    news_list(embedded, feed_server.url, blog, "alice@example.com", "carol@example.com")
    smtp.refuse_rcpt("carol@example.com", "550 5.1.1 no such user " + "x" * 300)
    embedded.run("digest", "send", "--list", "news", check=False)
    html = ops_client(embedded, monkeypatch).get("/ops").text
    assert "<script" not in html and "http://" not in html.split("<main>")[0]  # no CDN, no script
    (tmp_path / "ops.html").write_text(html)
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                       else route.continue_())
            page.goto((tmp_path / "ops.html").as_uri())
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
            charts = page.locator("svg.chart")
            assert charts.count() == 3
            for i in range(3):
                assert 0 < charts.nth(i).bounding_box()["width"] <= 375
            assert "highest 1" in charts.nth(0).get_attribute("aria-label")
        finally:
            browser.close()


def test_pause_then_retry_a_send_that_lost_its_mail_server(embedded, feed_server, blog, smtp, monkeypatch):
    """The mail server was down: the send stays open with its rows pending. An admin pauses it, fixes the
    setting, retries it from /ops: it goes out, and both acts are in the audit log."""
    from publisher.config import get_settings
    from tests.support.smtp import free_port

    news_list(embedded, feed_server.url, blog, "alice@example.com")
    embedded.env["PUBLISHER_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    embedded.run("digest", "send", "--list", "news", check=False)
    client = ops_client(embedded, monkeypatch)
    assert 'href="/ops/confirm/pause-send/1"' in client.get("/ops").text

    assert _confirm_and_post(client, "pause-send", 1).status_code == 303
    assert _confirm_and_post(client, "requeue-send", 1).status_code == 409  # paused: nothing to requeue
    monkeypatch.setenv("PUBLISHER_SMTP_URL", smtp.url)
    get_settings.cache_clear()
    assert _confirm_and_post(client, "retry-send", 1).status_code == 303

    assert [m.rcpt_tos for m in smtp.messages] == [("alice@example.com",)]
    assert _ops_audit(embedded) == [(LEGACY, "paused", "digest #1"), (LEGACY, "resumed", "digest #1")]
    sends = client.get("/ops").text.split('id="sends"')[1].split('id="failures"')[0]
    assert '<td colspan="10" class="muted">none</td>' in sends  # the send finished: nothing left to act on
