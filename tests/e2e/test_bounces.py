"""Forged bounces and complaints against the real command: `publisher bounces serve` (aiosmtpd on a real
port) and `publisher bounces process`, after a real send whose VERP return paths and Message-IDs a real SMTP
server received. Only what carries our signature acts; the rest shows in `publisher status --json`."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess

import pytest

from tests.e2e.test_serve import _serving, _wait_for
from tests.support.bounces import report
from tests.support.smtp import free_port

PLAIN = "bounces@bounces.example.org"


@pytest.fixture
def sent(embedded, feed_server, blog, smtp):
    """A digest sent to Ann and Eve; returns {address: (VERP return path, Message-ID)} as the server got them."""
    embedded.env["PUBLISHER_BOUNCE_DOMAIN"] = "bounces.example.org"
    blog.add_post("Old post")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url)
    embedded.run("lists", "create", "news", "--feed", feed_server.url)
    for address in ("ann@example.com", "eve@example.net"):
        embedded.run("subscribers", "add", address, "--list", "news", "--confirmed")
    blog.add_post("Fresh post")
    embedded.run("poll")
    embedded.run("digest", "send", "--list", "news", "--wait")
    return {m.rcpt_tos[0]: (m.mail_from, m.message["Message-ID"]) for m in smtp.messages}


def _person(embedded, address: str) -> dict:
    return json.loads(embedded.run("subscribers", "export-data", address).stdout)


def test_forged_reports_through_the_smtp_intake_and_process_change_nothing(embedded, sent, tmp_path):
    ann_verp, ann_id = sent["ann@example.com"]
    eve_verp, _ = sent["eve@example.net"]
    local, domain = ann_verp.split("@")
    forged = [  # (envelope recipient, report)
        (PLAIN, report("hard", rcpt=PLAIN)),
        (PLAIN, report("complaint", rcpt=PLAIN, message_id=re.sub(r"\.[0-9a-f]{16}@", "@", ann_id))),  # unsigned
        (f"{local[:-1]}{'1' if local[-1] == '0' else '0'}@{domain}", report("hard", rcpt=PLAIN)),  # wrong HMAC
        (ann_verp.replace("bounce-", "bounce-9"), report("soft", rcpt=PLAIN)),  # another digest
    ]
    port = free_port()
    log = open(tmp_path / "intake.log", "wb")  # noqa: SIM115 - the server writes to it until stopped
    server = subprocess.Popen(embedded.command("bounces", "serve", "--port", str(port)), cwd=embedded.workdir,
                              env=embedded.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _serving(port), 30, "the bounce intake to listen")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for rcpt, data in forged:
                client.sendmail("", [rcpt], data)
            # Eve's own genuine VERP address, a body about Ann enclosing Ann's real Message-ID: Eve's report.
            client.sendmail("", [eve_verp], report("hard", rcpt=eve_verp, final="ann@example.com", message_id=ann_id))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    saved = tmp_path / "forged.eml"
    saved.write_bytes(report("complaint", rcpt=PLAIN, message_id="<digest-1.subscriber-1@example.org>"))
    processed = embedded.run("bounces", "process", str(saved), "--rcpt", PLAIN)
    assert "unverified complaint report, nothing done" in processed.stdout

    ann = _person(embedded, "ann@example.com")
    assert ann["suppressions"] == [] and ann["bounces"] == [] and ann["subscriptions"][0]["status"] == "confirmed"
    eve = _person(embedded, "eve@example.net")
    assert [s["reason"] for s in eve["suppressions"]] == ["hard_bounce"]
    status = json.loads(embedded.run("status", "--json").stdout)
    print(f"\n{len(forged) + 1} forged reports: Ann untouched; status: {status['bounces']}")
    assert status["bounces"]["unverified"] == len(forged) + 1 == status["bounces"]["unverified_last_24h"]
    assert "not believed" in embedded.run("status").stdout


def test_a_genuine_complaint_to_a_plain_address_is_believed_by_its_message_id(embedded, sent, tmp_path):
    _, ann_id = sent["ann@example.com"]
    saved = tmp_path / "complaint.eml"
    saved.write_bytes(report("complaint", rcpt=PLAIN, final="redacted@example.com", message_id=ann_id))
    processed = embedded.run("bounces", "process", str(saved), "--rcpt", "fbl@example.org")
    assert "ann@example.com: complaint bounce, suppressed" in processed.stdout
    assert [s["reason"] for s in _person(embedded, "ann@example.com")["suppressions"]] == ["complaint"]
    assert _person(embedded, "eve@example.net")["suppressions"] == []
    genuine_dsn = report("hard", rcpt=sent["eve@example.net"][0], final="eve@example.net")
    piped = subprocess.run(embedded.command("bounces", "process", "--rcpt", sent["eve@example.net"][0]),
                           input=genuine_dsn, cwd=embedded.workdir, env=embedded.env, capture_output=True, timeout=60)
    assert b"eve@example.net: hard bounce, suppressed" in piped.stdout
