"""Small things users noticed, checked as they would: links follow `serve --port` when no base URL is set, the
preview says it is showing the latest posts when nothing is new and orders posts newest first as the digest
does, and a table piped into another program keeps its lines whole."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import httpx

from tests.e2e.test_serve import _serving, _wait_for
from tests.support.smtp import free_port


def _set_up(publisher, feed_server, blog, *titles):
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_server.url)
    publisher.run("lists", "create", "news", "--feed", feed_server.url)
    for title in titles:
        blog.add_post(title)


def test_links_follow_the_port_serve_listens_on(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog)
    embedded.env.pop("PUBLISHER_BASE_URL")
    port = free_port()
    log = open(embedded.workdir / "serve.log", "wb")  # noqa: SIM115 - the server writes to it until stopped
    # With its worker: the web app renders the confirmation (its link), the worker sends it.
    server = subprocess.Popen(embedded.command("serve", "--port", str(port)), cwd=embedded.workdir,
                              env=embedded.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen")
        httpx.post(f"http://127.0.0.1:{port}/subscribe/news", data={"email": "ann@example.com"})
        mail = _wait_for(lambda: smtp.to("ann@example.com"), 20, "the confirmation mail")[-1].message
        link = re.search(r"https?://\S+/confirm/\S+", mail.get_body(("plain",)).get_content()).group(0)
        assert link.startswith(f"http://localhost:{port}/confirm/"), link
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_preview_with_nothing_new_shows_the_latest_posts_newest_first(embedded, feed_server, blog):
    _set_up(embedded, feed_server, blog, "Second", "Third")
    embedded.run("poll")
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed")
    news = embedded.run("digest", "preview", "--list", "news", "--format", "text")
    assert "nothing new" not in news.stderr
    assert news.stdout.index("Third") < news.stdout.index("Second")  # newest first
    embedded.run("digest", "send", "--list", "news")
    quiet = embedded.run("digest", "preview", "--list", "news", "--format", "text")
    assert "note: nothing new for news, showing the 3 latest posts" in quiet.stderr
    text = quiet.stdout
    assert text.index("Third") < text.index("Second") < text.index("Old post")


def test_the_digest_orders_posts_newest_first(embedded, feed_server, blog, smtp):
    _set_up(embedded, feed_server, blog, "Second", "Third")
    embedded.run("poll")
    embedded.run("subscribers", "add", "ann@example.com", "--list", "news", "--confirmed")
    embedded.run("digest", "send", "--list", "news")
    message = smtp.to("ann@example.com")[-1].message
    assert message["Subject"].endswith("2 new posts — Third")  # the subject names the newest, which leads
    html = message.get_body(("html",)).get_content()
    assert html.index("Third") < html.index("Second")


def test_a_piped_table_keeps_its_lines_whole(embedded, feed_server, blog):
    _set_up(embedded, feed_server, blog)
    long_name = "A blog with a name much longer than any terminal is wide, " * 2
    embedded.run("feeds", "remove", feed_server.url, "--force")
    embedded.run("feeds", "add", feed_server.url, "--name", long_name.strip())
    embedded.env.pop("COLUMNS", None)
    table = embedded.run("feeds", "list").stdout  # captured: a pipe, as `| grep` or `> file` would be
    row = next(line for line in table.splitlines() if "A blog with" in line)
    assert long_name.strip() in row and feed_server.url in row
    assert json.loads(embedded.run("feeds", "list", "--json").stdout)[0]["name"] == long_name.strip()
