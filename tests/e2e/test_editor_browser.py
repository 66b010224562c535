"""The editor's app in Chromium, as a new editor uses it, against `publisher serve` (web, worker and scheduler
in one embedded process): log in, add a feed served locally (checked first), create a list, add a subscriber,
write an intro note, preview it at desktop and phone widths, send a test, send to a real SMTP server and
watch the page reach 100 % without reloading. Every page is screenshotted at 1280 and 375 px (under
test-artifacts/), has no horizontal overflow at 375 px, and passes axe-core with no serious or critical
finding. Anonymous requests are refused, a form without its CSRF token gets 403, the 11th wrong password
waits."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import httpx
import pytest

from tests.support.browser import ARTIFACTS, launch_chromium, playwright_api
from tests.e2e.test_serve import FAST_TICKS, _log, _serving, _wait_for
from tests.support.smtp import free_port

EDITOR_EMAIL, PASSWORD = "ed@example.org", "a long editor password"
PAGES = ["/editor/", "/editor/feeds", "/editor/lists", "/editor/subscribers", "/editor/digests", "/editor/history"]
ACCOUNT_PAGES = ["/editor/tokens", "/editor/editors", "/editor/audit"]  # editor-auth's, held to the same bar
WIDTHS = (1280, 375)
# The outermost elements reaching past the viewport's right edge (what to fix when a page overflows).
WIDER_THAN_VIEW = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth - 0.5
  && !(e.parentElement && e.parentElement.closest('.scroll'))).slice(0, 8)
  .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.getBoundingClientRect().right)"""


@pytest.fixture
def served(embedded, feed_server, blog):
    """`publisher serve` on a free port with one admin editor; yields its base URL."""
    port = free_port()
    embedded.env.update(FAST_TICKS, PUBLISHER_BASE_URL=f"http://127.0.0.1:{port}")
    embedded.run("init")
    subprocess.run(embedded.command("editors", "add", EDITOR_EMAIL, "--admin", "--password-stdin"),
                   input=PASSWORD + "\n", text=True, env=embedded.env, cwd=embedded.workdir, check=True,
                   capture_output=True)
    log = open(embedded.workdir / "serve.log", "wb")
    server = subprocess.Popen(embedded.command("serve", "--port", str(port)), cwd=embedded.workdir,
                              env=embedded.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _serving(port), 30, "the web app to listen\n" + _log(embedded))
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def chromium():
    sync_api = playwright_api()
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed (the test extra)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def test_anonymous_requests_to_every_editor_page_are_refused(served):
    for path in PAGES + ["/editor/lists/1", "/editor/digests/1", "/editor/sends/1"]:
        answer = httpx.get(served + path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/editor/login?next="), path
        assert httpx.get(served + path, headers={"Accept": "application/json"}).status_code == 401, path
    refused = httpx.post(served + "/editor/feeds", data={"url": "https://example.org/feed"},
                         headers={"Accept": "text/html"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/editor/login")


def test_an_editor_builds_a_list_writes_a_note_and_sends(served, chromium, embedded, feed_server, blog, smtp):
    blog.add_post("Old post", "<p>Baseline.</p>")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served + "/editor/feeds")
    assert "/editor/login" in page.url  # sent to log in, then back
    _log_in(page, PASSWORD)
    assert page.url == served + "/editor/feeds"

    page.fill("#feed-url", "https://127.0.0.1:1/nothing-listens-here")
    page.click("button:has-text('Check')")
    assert "127.0.0.1:1" in page.inner_text("#check-slot .error", timeout=20_000)  # the error, in place
    page.fill("#feed-url", feed_server.url)
    page.click("button:has-text('Check')")
    assert "Old post" in page.inner_text("#check-result", timeout=20_000), page.inner_text("main")
    assert page.url == served + "/editor/feeds"  # checked in place: the form was not left
    page.fill("#feed-name", "Yarn Blog")
    page.click("button:has-text('Add feed')")
    assert "Feed added" in page.inner_text("main")

    page.goto(served + "/editor/lists")
    page.fill("#list-name", "news")
    page.check(f"input[name=feeds][value='{feed_server.url}']")
    page.select_option("#list-cadence", "weekly")
    page.click("button:has-text('Create list')")
    assert "List created" in page.inner_text("main") and "publisher-subscribe" in page.input_value("#snippet")
    list_id = re.search(r"/editor/lists/(\d+)", page.url).group(1)

    page.goto(served + "/editor/subscribers")
    page.fill("#add-email", "dana@example.com")
    page.fill("#add-name", "Dana")
    page.check("input[name=confirmed] >> nth=0")
    page.click("button:has-text('Add subscriber')")
    assert "dana@example.com" in page.inner_text("main table")

    blog.add_post("Knitting a seamless yoke", "<p>Start with a provisional cast-on.</p>")
    embedded.run("poll")
    page.goto(f"{served}/editor/digests/{list_id}")
    page.fill("#draft-subject", "Yokes, at last")
    page.fill("#draft-note", "Hello from the workshop!\n\nThis week: yokes.")
    page.click("button:has-text('Save and preview')")
    assert page.inner_text("#preview-subject") == "Yokes, at last"
    for frame_class in ("desktop", "phone"):
        mail = page.frame_locator(f"iframe.mail.{frame_class}")
        assert mail.locator(".intro").inner_text().startswith("Hello from the workshop!")
        assert mail.locator("h2.post-title", has_text="Knitting a seamless yoke").is_visible()
    assert "Hello from the workshop!\n\nThis week: yokes." in page.locator("#text-part").text_content()

    page.fill("#test-to", "proof@example.org")
    page.click("button:has-text('Send test')")
    assert "Test sent" in page.inner_text("main")
    test = _wait_for(lambda: smtp.to("proof@example.org"), 10, "the test message")
    assert test[0].message["Subject"] == "[Test] Yokes, at last"

    page.click("button:has-text('Send now')")
    assert "/editor/sends/" in page.url
    page.evaluate("window.stillTheSamePage = true")
    try:
        # data-status is set by the page's script only: the figures below came from polling, not the load
        page.wait_for_function("document.querySelector('[data-progress-url]').dataset.status === 'sent' && "
                               "document.querySelector('[data-field=percent]').textContent === '100.0 %'",
                               timeout=60_000)
    except Exception:
        raise AssertionError(f"the page never showed 100 %:\n{page.inner_text('main')}\n{_log(embedded)}") from None
    assert page.evaluate("window.stillTheSamePage") is True  # the figures moved without a reload
    assert page.inner_text("[data-field=sent]") == "1" and page.inner_text("[data-field=failed]") == "0"
    [sent] = _wait_for(lambda: smtp.to("dana@example.com"), 10, "the digest")
    assert sent.message["Subject"] == "Yokes, at last"
    assert "Hello from the workshop!" in sent.message.get_body(("plain",)).get_content()

    visited = PAGES + [f"/editor/lists/{list_id}", f"/editor/digests/{list_id}",
                       re.search(r"/editor/sends/\d+", page.url).group(0), *ACCOUNT_PAGES]
    _screenshots_layout_and_axe(chromium, page.context, served, visited)

    _csrf_less_form_is_refused(page, served)


def _log_in(page, password: str):
    page.fill("#email", EDITOR_EMAIL)
    page.fill("#password", password)
    page.click("button:has-text('Log in')")


def _screenshots_layout_and_axe(browser, context, served: str, paths: list[str]):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    cookies = context.cookies()
    for width in WIDTHS:
        view = browser.new_context(viewport={"width": width, "height": 900})
        view.add_cookies(cookies)
        page = view.new_page()
        for path in paths:
            page.goto(served + path)
            assert page.url.startswith(served + path), (path, page.url)
            name = path.strip("/").replace("/", "-") or "dashboard"
            page.screenshot(path=str(ARTIFACTS / f"editor-{name}-{width}.png"), full_page=True)
            if width == 375:
                overflow = page.evaluate("document.scrollingElement.scrollWidth")
                assert overflow <= 375, (f"{path} overflows at 375 px: {overflow}", page.evaluate(WIDER_THAN_VIEW))
            results = axe.run(page)
            serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, (path, width, [(v["id"], v["impact"], v["help"],
                                                [n["target"] for n in v["nodes"]][:3]) for v in serious])
        view.close()


def _csrf_less_form_is_refused(page, served: str):
    """A form whose csrf_token was taken out (as a forged cross-site form would lack it) gets 403."""
    page.goto(served + "/editor/subscribers")
    page.evaluate("document.querySelectorAll('form[action=\"/editor/subscribers/suppress\"] "
                  "input[name=csrf_token]').forEach(e => e.remove())")
    page.fill("#suppress-email", "mallory@example.com")
    with page.expect_response(lambda r: r.url.endswith("/editor/subscribers/suppress")) as answer:
        page.click("button:has-text('Suppress')")
    assert answer.value.status == 403
    page.goto(served + "/editor/subscribers?q=mallory")
    assert "mallory@example.com" not in page.inner_text("main")


def test_the_eleventh_wrong_password_is_slowed(served, chromium):
    from axe_playwright_python.sync_playwright import Axe

    page = chromium.new_page(viewport={"width": 375, "height": 800})
    page.goto(served + "/editor/login")  # the login page too: no overflow on a phone, nothing serious for axe
    page.screenshot(path=str(ARTIFACTS / "editor-login-375.png"), full_page=True)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    violations = Axe().run(page).response["violations"]
    assert not [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
    statuses = []
    for _ in range(11):
        page.goto(served + "/editor/login")
        with page.expect_response(lambda r: r.url.endswith("/editor/login") and r.request.method == "POST") as a:
            _log_in(page, "not the password")
        statuses.append(a.value.status)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429 and int(a.value.headers["retry-after"]) >= 1
    assert "Too many failed attempts" in page.inner_text("main")
    page.goto(served + "/editor/login")  # even the right password waits now
    _log_in(page, PASSWORD)
    assert "/editor/login" in page.url and "Too many failed attempts" in page.inner_text("main")
