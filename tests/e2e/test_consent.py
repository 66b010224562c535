"""Consent as a new user meets it, with the real `publisher` command: sign up through the form of the running
web app (in a real browser when Chromium is installed), confirm from the mail a real SMTP server received,
change cadence in the preference center, get the next digest, unsubscribe in one click; import a CSV with
bad rows; export; GDPR export and wipe; the Blogger snippet."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from contextlib import contextmanager

import httpx

from tests.e2e.test_serve import _serving, _wait_for
from tests.support.browser import chromium_path, playwright_api
from tests.support.smtp import free_port



def _set_up(publisher, feed_server, blog):
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "news", "--feed", feed_server.url, "--cadence", "daily", "--tz", "Europe/Paris")


@contextmanager
def _serving_app(publisher):
    port = free_port()
    # Links in mails must lead to this server.
    publisher.env["PUBLISHER_BASE_URL"] = f"http://127.0.0.1:{port}"
    log = open(publisher.workdir / "serve.log", "wb")  # noqa: SIM115 - the server writes to it until stopped
    server = subprocess.Popen(publisher.command("serve", "--port", str(port), "--no-worker"), cwd=publisher.workdir,
                              env=publisher.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    publisher.start_worker(concurrency=1)  # the web app queues its mails; a worker (no scheduler) sends them
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        publisher.stop_workers()


def _link(smtp, address: str, pattern: str) -> str:
    mail = _wait_for(lambda: smtp.to(address), 20, f"a mail to {address}")[-1].message
    body = mail.get_body(("plain",)).get_content()
    return re.search(pattern, body).group(0)


def test_sign_up_confirm_prefer_receive_and_unsubscribe(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    with _serving_app(embedded) as base:
        form = httpx.get(f"{base}/subscribe/news")
        assert form.status_code == 200
        done = httpx.post(f"{base}/subscribe/news", data={"email": "reader@example.com", "name": "Reader"})
        assert "Check your inbox" in done.text
        confirm = _link(smtp, "reader@example.com", r"http://127\.0\.0\.1:\d+/confirm/\S+")
        assert f"Yes, send me {blog.title}" in httpx.get(confirm).text  # the blog, not the list's name
        confirmed = httpx.post(confirm)
        assert "You are subscribed" in confirmed.text
        preferences = base + re.search(r'href="(/preferences/[^"]+)"', confirmed.text).group(1)
        page = httpx.get(preferences).text
        list_id = re.search(r'name="list-(\d+)"', page).group(1)
        saved = httpx.post(preferences, data={f"list-{list_id}": "on", f"cadence-{list_id}": "weekly",
                                              f"timezone-{list_id}": "America/New_York", "name": "Reader"})
        assert "Saved." in saved.text

        blog.add_post("News after confirming")
        embedded.run("poll")
        sent = embedded.run("digest", "send", "--list", "news")  # send now: every cadence
        assert "1 subscriber" in sent.stdout, sent.stdout
        digest = smtp.to("reader@example.com")[-1].message
        assert "News after confirming" in digest["Subject"]
        one_click = digest["List-Unsubscribe"].split(",")[0].strip(" <>")
        assert httpx.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    blog.add_post("Nobody should get this")
    embedded.run("poll")
    assert "news has no confirmed subscribers" in embedded.run("digest", "send", "--list", "news").stdout
    assert len(smtp.to("reader@example.com")) == 2  # the confirmation and one digest


def test_sign_up_in_a_real_browser(embedded, feed_server, blog, smtp):
    sync_api = playwright_api()
    _set_up(embedded, feed_server, blog)
    with _serving_app(embedded) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=["--no-sandbox"])
        try:
            page = browser.new_page(java_script_enabled=False)  # the pages must work without JavaScript
            page.goto(f"{base}/subscribe/news")
            page.fill("input[name=email]", "browser@example.com")
            page.fill("input[name=name]", "Browser User")
            page.click("button[type=submit]")
            assert "Check your inbox" in page.content()
            page.goto(_link(smtp, "browser@example.com", r"http://127\.0\.0\.1:\d+/confirm/\S+"))
            page.click("button[type=submit]")
            assert "You are subscribed" in page.content()
        finally:
            browser.close()
    listed = json.loads(embedded.run("lists", "list", "--json").stdout)
    assert listed[0]["subscribers"]["confirmed"] == 1


def test_import_reports_bad_rows_then_export_gdpr_and_snippet(embedded, feed_server, blog, tmp_path):
    _set_up(embedded, feed_server, blog)
    csv = tmp_path / "subscribers.csv"
    csv.write_text("email,name,status,subscribed_at,ip,source\n"
                   "ann@example.com,Ann,confirmed,2021-03-04T05:06:07Z,203.0.113.9,feedburner\n"
                   "broken-address,X,confirmed,,,\n"
                   "bob@example.com,Bob,confirmed,not a date,,\n"
                   "cy@example.com,Cy,pending,,,\n")
    result = embedded.run("subscribers", "import", str(csv), "--list", "news", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "line 3: 'broken-address' is not a valid email address: An email address must have an @-sign.",
        "line 4: subscribed_at 'not a date' is not a date (use ISO 8601, e.g. 2024-05-01T09:30:00Z)"]
    assert "Imported 2, unchanged 0, suppressed 0, rejected 2" in result.stdout
    again = embedded.run("subscribers", "import", str(csv), "--list", "news", check=False)
    assert "Imported 0, unchanged 2" in again.stdout

    exported = embedded.run("subscribers", "export", "--list", "news").stdout
    assert exported.splitlines()[0].startswith("email,name,status,subscribed_at,ip,source")
    assert "ann@example.com,Ann,confirmed,2021-03-04T05:06:07+00:00,203.0.113.9,feedburner" in exported

    data = json.loads(embedded.run("subscribers", "export-data", "ann@example.com").stdout)
    assert data["subscriber"]["name"] == "Ann" and data["subscriptions"][0]["consent_ip"] == "203.0.113.9"
    wiped = embedded.run("subscribers", "wipe", "ann@example.com", "--yes")
    assert "a hashed suppression entry remains" in wiped.stdout
    refused = embedded.run("subscribers", "add", "ann@example.com", "--list", "news", check=False)
    assert refused.returncode == 2 and "suppression list" in refused.stderr
    assert "we hold nothing" not in embedded.run("subscribers", "export-data", "ann@example.com").stdout

    snippet = embedded.run("lists", "snippet", "news").stdout
    assert '<form method="post" action="https://news.example.org/subscribe/news"' in snippet
    assert "<script" not in snippet


def test_bad_input_gets_one_clear_line_and_changes_nothing(embedded, feed_server, blog, tmp_path):
    blog.add_post("Old post")
    embedded.run("init")
    for args in (["bad\r\nBcc: x@evil.example"], ["news", "--from", "a@example.org, b@example.org"],
                 ["news", "--from", "Blog <news@example.org>\nBcc: x@evil.example"], ["tab\tname"]):
        refused = embedded.run("lists", "create", *args, "--feed", feed_server.url, check=False)
        assert refused.returncode == 2 and refused.stderr.startswith("error: "), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(embedded.run("lists", "list", "--json").stdout) == []
    assert json.loads(embedded.run("feeds", "list", "--json").stdout) == []  # refused before fetching anything
    embedded.run("lists", "create", "news", "--feed", feed_server.url, "--from", "Blog <news@example.org>")

    text = "email,name\r\nzoe@example.com,Zoë Müller\r\nfr@example.com,=1+1 François\r\n"
    (tmp_path / "utf16.csv").write_bytes(text.encode("utf-16"))  # with its byte-order mark, as Excel writes
    imported = embedded.run("subscribers", "import", str(tmp_path / "utf16.csv"), "--list", "news")
    assert "Imported 2" in imported.stdout and "read as UTF-16 LE" in imported.stdout
    (tmp_path / "latin1.csv").write_bytes("email,name\nel@example.com,Élodie\n".encode("latin-1"))
    imported = embedded.run("subscribers", "import", str(tmp_path / "latin1.csv"), "--list", "news")
    assert "read as Windows-1252" in imported.stdout

    big = "email,name\na@example.com,A\nb@example.com,B\nc@example.com," + "x" * 200_000 + "\n"
    (tmp_path / "big.csv").write_text(big)
    refused = embedded.run("subscribers", "import", str(tmp_path / "big.csv"), "--list", "news", check=False)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "error: big.csv: line 4: a field is longer than 131,072 characters (an unclosed quote?)"]
    (tmp_path / "nul.csv").write_bytes(b"email,name\na@example.com,A\nb@example.com,B\x00\n")
    refused = embedded.run("subscribers", "import", str(tmp_path / "nul.csv"), "--list", "news", check=False)
    assert refused.returncode == 2 and "nul.csv: line 3 contains a NUL character" in refused.stderr

    exported = embedded.run("subscribers", "export", "--list", "news").stdout
    assert "'=1+1 François" in exported and "a@example.com" not in exported
    (tmp_path / "export.csv").write_text(exported)
    embedded.run("lists", "create", "copy", "--feed", feed_server.url)
    embedded.run("subscribers", "import", str(tmp_path / "export.csv"), "--list", "copy")
    assert embedded.run("subscribers", "export", "--list", "copy").stdout == exported
