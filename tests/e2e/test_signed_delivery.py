"""A real Blogger feed through the whole pipeline to a real SMTP server, as an operator configures it for
the 2024 bulk-sender rules: DKIM-signed with the key `publisher dkim keygen` made, VERP return paths, both
parts, the unsubscribe headers, no active content, absolute links, inlined CSS."""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import dkim
import pytest

from publisher.compose.verp import parse_verp

SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def blogger_feed(corpus, tmp_path):
    """Quiltville's real Blogger Atom feed, served from 127.0.0.1 at Blogger's path."""
    folder = tmp_path / "site" / "feeds" / "posts"
    folder.mkdir(parents=True)
    (folder / "default").write_bytes((corpus / "blogger" / "rss2email_quiltville_posts_default_2021.atom").read_bytes())
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feeds/posts/default"
    server.shutdown()


def test_signed_digest_from_a_blogger_feed(embedded, blogger_feed, smtp, tmp_path):
    keygen = embedded.run("dkim", "keygen", "--selector", "mail", "--domain", "example.org",
                          "--out", str(tmp_path / "dkim.pem"))
    txt_line = next(line for line in keygen.stdout.splitlines() if " IN TXT " in line)
    record = "".join(re.findall(r'"([^"]*)"', txt_line))  # a long record is printed as several strings
    embedded.env.update(PUBLISHER_DKIM_SELECTOR="mail", PUBLISHER_DKIM_DOMAIN="example.org",
                        PUBLISHER_DKIM_KEY_FILE=str(tmp_path / "dkim.pem"), PUBLISHER_BOUNCE_DOMAIN="bounces.example.org")
    embedded.run("init")
    embedded.run("feeds", "add", blogger_feed, "--backfill", "3")
    embedded.run("lists", "create", "quilts", "--feed", blogger_feed)
    embedded.run("subscribers", "add", "reader@example.com", "--list", "quilts", "--confirmed")
    embedded.run("subscribers", "add", "zoe@example.net", "--name", "Zoë Keller-Øster", "--list", "quilts",
                 "--confirmed")
    sent = embedded.run("digest", "send", "--list", "quilts", "--wait")
    assert "sent 2, failed 0" in sent.stdout

    assert len(smtp.messages) == 2
    for each in smtp.messages:  # every message the server received, each with its own name and links
        assert dkim.verify(each.data, dnsfunc=lambda name, timeout=5: record.encode()
                           if name == b"mail._domainkey.example.org." else None)
    [received] = [m for m in smtp.messages if m.rcpt_tos == ("reader@example.com",)]
    assert parse_verp(SECRET, received.mail_from) is not None  # the bounce will say which delivery failed
    message = received.message
    text, html = (part.get_content() for part in message.iter_parts())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https://[^>]+>,\s*<mailto:[^>]+>", message["List-Unsubscribe"])
    assert "Bloom, Baby, Bloom!" in text and "Bloom, Baby, Bloom!" in html
    assert not re.search(r"<script|<form|<iframe|\son\w+\s*=|javascript:", html, re.IGNORECASE)
    links = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert links and all(link.startswith(("https://", "http://", "mailto:")) for link in links)
    assert html.count('style="') > 20  # the CSS is inlined

    lint = json.loads(embedded.run("digest", "lint", "--list", "quilts", "--json").stdout)
    assert lint["unsupported"] == 0  # in Gmail, Outlook and Apple Mail, by caniemail's data
