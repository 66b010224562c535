"""Transactional mail through the real product: a sign-up on the page of `publisher serve` while the mail
server is down is answered at once, and the confirmation arrives exactly once when the server comes back;
a test send from the CLI goes by the same signed, VERP-addressed path as every mail."""

from __future__ import annotations

import os
import re
import signal
import time

import dkim
import httpx
import pytest

from publisher.compose.verp import parse_mail_verp
from tests.e2e.test_serve import _immediate_list, _log, _serving, _start_serve, _wait_for
from tests.support.smtp import SMTPSink

SECRET = "test-secret-key-not-for-production"  # tests/support/deploy.base_env


@pytest.mark.parametrize(("mode", "down"), [("embedded", "not-listening"), ("embedded", "refusing"),
                                           ("scaled", "not-listening")])
def test_sign_up_while_the_mail_server_is_down_mails_one_confirmation_once_it_is_back(request, feed_server, blog,
                                                                                      mode, down):
    publisher = request.getfixturevalue(mode)  # scaled: `serve` runs its worker on Redis and PostgreSQL
    sink = SMTPSink()  # its port is chosen; nothing listens there until it starts
    publisher.env.update(PUBLISHER_SMTP_URL=sink.url, PUBLISHER_RETRY_BASE_SECONDS="1")
    publisher.run("init")
    blog.add_post("Old post")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "news", "--feed", feed_server.url)
    if down == "refusing":
        sink.__enter__()
        sink.refuse_rcpt("reader@example.com", "451 4.3.0 mailbox busy, try again later")
    port, server = _start_serve(publisher)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        _wait_for(lambda: "ready" in _log(publisher), 60, "the worker to start\n" + _log(publisher))
        started = time.monotonic()
        page = httpx.post(f"http://127.0.0.1:{port}/subscribe/news", timeout=30,
                          data={"email": "reader@example.com", "name": "Reader", "website": ""})
        print(f"\nsign-up with the mail server {down}: answered {page.status_code} in "
              f"{(time.monotonic() - started) * 1000:.0f} ms")
        assert page.status_code == 200 and "Check your inbox" in page.text
        _wait_for(lambda: "Retry in" in _log(publisher), 30, "a first attempt that fails\n" + _log(publisher))
        assert sink.messages == []

        if down == "refusing":
            del sink._collector.rcpt_replies["reader@example.com"]  # the server takes it from now on
        else:
            sink.__enter__()
        _wait_for(lambda: sink.to("reader@example.com"), 60, "the confirmation\n" + _log(publisher))
        time.sleep(4)  # retries and sweeps that might still be on their way
        [received] = sink.to("reader@example.com")
        assert received.message["Subject"] == "Confirm your subscription to Example Blog"  # the blog
        assert re.search(r"https://news\.example\.org/confirm/\S+", received.message.get_body(("plain",)).get_content())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        sink.__exit__(None, None, None)


def test_a_test_send_is_signed_and_goes_the_same_way(embedded, feed_server, blog, smtp, tmp_path):
    keygen = embedded.run("dkim", "keygen", "--selector", "mail", "--domain", "example.org",
                          "--out", str(tmp_path / "dkim.pem"))
    txt_line = next(line for line in keygen.stdout.splitlines() if " IN TXT " in line)
    record = "".join(re.findall(r'"([^"]*)"', txt_line))
    embedded.env.update(PUBLISHER_DKIM_SELECTOR="mail", PUBLISHER_DKIM_DOMAIN="example.org",
                        PUBLISHER_DKIM_KEY_FILE=str(tmp_path / "dkim.pem"),
                        PUBLISHER_BOUNCE_DOMAIN="bounces.example.org")
    embedded.run("init")
    _immediate_list(embedded, feed_server, blog)
    blog.add_post("Worth a test")
    embedded.run("poll")  # the immediate list's reader gets it at once
    assert len(smtp.to("dana@example.com")) == 1

    done = embedded.run("digest", "test", "--list", "instant", "--to", "editor@example.com")
    assert re.search(r"Test mail #\d+ to editor@example.com: sent", done.stdout), done.stdout
    [received] = smtp.to("editor@example.com")
    assert dkim.verify(received.data, dnsfunc=lambda name, timeout=5: record.encode()
                       if name == b"mail._domainkey.example.org." else None)
    assert parse_mail_verp(SECRET, received.mail_from) is not None
    message = received.message
    assert message["Subject"].startswith("[Test] ") and "Worth a test" in message["Subject"]
    assert message["List-Id"] and message["List-Unsubscribe"] is None  # the editor is not subscribed
    assert "Worth a test" in message.get_body(("html",)).get_content()
    # Nothing of the list moved: its reader is not sent anything again.
    assert "Nothing new" in embedded.run("digest", "send", "--list", "instant").stdout
    assert len(smtp.to("dana@example.com")) == 1 and len(smtp.to("editor@example.com")) == 1
