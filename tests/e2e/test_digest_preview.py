"""`publisher digest preview` and `digest lint` as a user runs them, and the HTML as Chromium draws it."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest

from tests.support.browser import ARTIFACTS, launch_chromium, playwright_api

LONG_URL = "https://example.com/" + "a-very-long-path-segment-" * 8
TITLES = ["Knitting a seamless yoke", "Über Maschen und Muster — Teil 2", "A post with wide content"]


@pytest.fixture
def previews(embedded, feed_server, blog, tmp_path) -> Path:
    blog.add_post("Old post", "<p>Baseline.</p>")
    embedded.run("init")
    embedded.run("feeds", "add", feed_server.url, "--name", "Yarn Blog")
    embedded.run("lists", "create", "news", "--feed", feed_server.url)
    blog.add_post(TITLES[0], "<p>Start with a provisional cast-on.</p>")
    blog.add_post(TITLES[1], "<p>Grüße aus Köln. <em>Zweiter</em> Teil.</p>")
    blog.add_post(TITLES[2], f"<p>See {LONG_URL} for a word longer than a phone: {'x' * 120}.</p>"
                             f"<pre>{'code ' * 40}</pre><p><img src='https://img.example.com/w.png' width='900'></p>")
    embedded.run("poll")
    out = tmp_path / "preview"
    embedded.run("digest", "preview", "--list", "news", "--format", "all", "--out", str(out))
    return out


def test_preview_writes_html_text_and_a_parseable_eml(previews):
    html = (previews / "digest.html").read_text()
    text = (previews / "digest.txt").read_text()
    message = email.message_from_bytes((previews / "digest.eml").read_bytes(), policy=policy.default)
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == html
    for title in TITLES:
        assert title in text
    assert "<" not in text.replace("<tag>", "")  # no HTML debris in the text part
    assert "<script" not in html and "onclick" not in html.lower() and "<form" not in html


def test_lint_finds_nothing_unsupported_in_the_default_template(embedded, previews):
    result = embedded.run("digest", "lint", "--list", "news", "--json")
    report = json.loads(result.stdout)
    assert report["unsupported"] == 0, [f for f in report["findings"] if f["level"] == "unsupported"]
    assert report["partial"] > 0  # the data is there: e.g. Outlook's partial padding support
    assert all(f["client"].split(" (")[0] in ("Gmail", "Outlook", "Apple Mail") for f in report["findings"])
    table = embedded.run("digest", "lint", "--list", "news")
    assert "0 unsupported" in table.stdout


@pytest.fixture
def browser():
    """Asked for before the previews are made: a missing Chromium skips at once, saying why."""
    return playwright_api()


def test_preview_renders_in_chromium_without_overflow(browser, previews):
    sync_api = browser
    ARTIFACTS.mkdir(exist_ok=True)
    html_path = previews / "digest.html"
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for width in (600, 375):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                           else route.continue_())  # no network: remote images just do not load
                page.goto(html_path.as_uri())
                page.screenshot(path=str(ARTIFACTS / f"digest-{width}.png"), full_page=True)
                scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
                if width == 375:
                    assert scroll_width <= 375, f"horizontal overflow at 375 px: {scroll_width}"
                for title in TITLES:
                    heading = page.locator("h2.post-title", has_text=title)
                    assert heading.is_visible(), title
                    box = heading.bounding_box()
                    assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, title
                page.close()
        finally:
            browser.close()
