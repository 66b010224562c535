"""The public home in Chromium, as a reader clicks through it: home → the blog's list page → sign up; the list
page → past emails → one digest (as mailed, nothing personal); a wrong address → a page with a way home."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn

from publisher.web.app import create_app
from tests.support.browser import ARTIFACTS, launch_chromium, playwright_api
from tests.support.smtp import free_port
from tests.web.test_public_home import TITLE, blog, sent  # noqa: F401 - fixtures



@pytest.fixture
def site(settings, sent):  # noqa: F811 - the fixture imported above
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser_page(site):
    sync_api = playwright_api()
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            # Only our site: the blog's images and links elsewhere simply do not load.
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site)
                       else route.abort())
            yield page
        finally:
            browser.close()


def test_a_reader_finds_the_blog_signs_up_and_reads_a_past_email(site, browser_page, smtp):
    page = browser_page
    page.goto(site + "/")
    assert page.locator("h1").inner_text() == "Newsletters"
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(site + "/lists/news")
    assert page.locator("h1").inner_text() == TITLE
    assert page.locator("ul.posts li").count() == 2
    assert page.locator("header.blog a.blog-title").get_attribute("href") == "https://quiltville.blogspot.com/"

    page.get_by_label("Email address").fill("bea@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert page.locator("header.blog a.blog-title").inner_text() == TITLE
    assert smtp.to("bea@example.com"), "no confirmation mail"

    page.goto(site + "/lists/news")
    page.get_by_role("link", name="Past emails").click()
    page.get_by_role("link", name=f"{TITLE}: 2 new posts — Binding & <borders>").click()
    assert page.locator("h2.post-title").all_inner_texts() == ["Binding & <borders>", "Star blocks"]
    assert page.locator("td.greeting").inner_text().startswith("Hi there, here are the 2 new posts")
    assert page.get_by_role("link", name="Unsubscribe").count() == 0
    assert page.get_by_role("link", name="View in your browser").count() == 0
    assert page.get_by_role("link", name="Get these posts by email").get_attribute("href").endswith("/lists/news")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "archive-digest-375.png"), full_page=True)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375, "the archived digest overflows a phone"


def test_a_wrong_address_is_a_page_with_a_way_home(site, browser_page):
    page = browser_page
    response = page.goto(site + "/archive/news/12345")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    response = page.goto(site + "/some/old/link")
    assert response.status == 404 and page.locator("h1").inner_text() == "Page not found"
    page.get_by_role("link", name="See the lists you can join").click()
    page.wait_for_url(site + "/")
    assert page.locator("section.list-card h2").inner_text() == TITLE
