"""The public home as a reader's browser asks for it: `/` lists the public lists with sign-up forms, a list's
page shows the blog and its recent posts, the archive shows each sent digest as mailed minus everything
personal, and an unknown address is an HTML page (JSON stays for API clients)."""

from __future__ import annotations

from datetime import timedelta

import lxml.html
import pytest

from publisher.db import session_scope
from publisher.models import Feed, MailingList
from publisher.models.base import utcnow
from publisher.services.delivery import deliver_batch
from publisher.services.digests import compose_digest
from publisher.services.identity import update_list_identity
from publisher.services.subscribers import subscribe
from tests.support.consent import add_post, make_list

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TITLE = "Quiltville's Quips & Snips!!"


@pytest.fixture
def blog(settings, news):
    with session_scope() as session:
        feed = session.query(Feed).filter_by(url="https://blog.example.org/news/feed").one()
        feed.title, feed.site_url = TITLE, "https://quiltville.blogspot.com/"
        update_list_identity(session, session.get(MailingList, news.id), description="Scraps and stars")
        make_list(session, name="staff")  # private: on no public page
        update_list_identity(session, session.query(MailingList).filter_by(name="staff").one(), public=False)
        session.commit()
    return news


@pytest.fixture
def sent(settings, blog, smtp):
    """A digest of two posts, mailed to Ann."""
    with session_scope() as session:
        subscribe(session, blog, email="ann@example.com", name="Ann Lovelace", confirmed=True)
        add_post(session, blog, "Star blocks", at=utcnow() - timedelta(minutes=2))
        add_post(session, blog, "Binding & <borders>", at=utcnow() - timedelta(minutes=1))
        digest = compose_digest(session, settings, blog)
        session.commit()
        deliver_batch(session, settings, digest_id=digest.id, after_id=0, limit=10)
        return digest.id


def _page(response):
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    return lxml.html.fromstring(response.text)


def test_home_lists_public_lists_with_their_sign_up_forms(client, blog):
    response = client.get("/", headers=BROWSER)
    assert response.status_code == 200
    page = _page(response)
    [card] = page.cssselect("section.list-card")  # the private list is not shown
    assert card.cssselect("h2 a")[0].text_content() == TITLE
    assert card.cssselect("h2 a")[0].get("href") == "/lists/news"
    assert "Scraps and stars" in card.text_content() and "staff" not in response.text
    [form] = card.cssselect("form")
    assert (form.get("method"), form.get("action")) == ("post", "/subscribe/news")
    signed = client.post(form.get("action"), data={"email": "bea@example.com", "name": "", "website": ""})
    assert signed.status_code == 200 and "Check your inbox" in signed.text


def test_a_list_page_shows_the_blog_its_link_and_its_recent_posts_newest_first(client, blog, sent):
    page = _page(client.get("/lists/news", headers=BROWSER))
    assert page.cssselect("h1")[0].text_content() == TITLE
    assert page.cssselect("a.site-link")[0].get("href") == "https://quiltville.blogspot.com/"
    assert [a.text_content() for a in page.cssselect("ul.posts a")] == ["Binding & <borders>", "Star blocks"]
    assert page.cssselect("form.subscribe")[0].get("action") == "/subscribe/news"
    assert page.cssselect("a.archive-link")[0].get("href") == "/archive/news/"


def test_the_archive_shows_the_mailed_digest_without_anything_personal(client, blog, sent, smtp):
    index = _page(client.get("/archive/news/", headers=BROWSER))
    [link] = index.cssselect("ul.digests a")
    assert link.get("href") == f"/archive/news/{sent}"
    assert link.text_content() == f"{TITLE}: 2 new posts — Binding & <borders>"  # the newest, first in it

    [mail] = smtp.to("ann@example.com")
    mailed = lxml.html.fromstring(mail.message.get_body(("html",)).get_content())
    [view] = mailed.cssselect("a.view-in-browser")
    assert view.get("href") == f"https://news.example.org/archive/news/{sent}"

    response = client.get(f"/archive/news/{sent}", headers=BROWSER)
    assert response.status_code == 200 and "script-src 'none'" in response.headers["content-security-policy"]
    page = _page(response)
    # The same digest: the same posts, header and footer text as the mail...
    for selector in ("h2.post-title", "a.blog-title", "td.greeting ~ *", "div.content"):
        assert [e.text_content() for e in page.cssselect(selector)] == \
               [e.text_content().replace("Ann Lovelace", "there") for e in mailed.cssselect(selector)], selector
    assert page.cssselect("td.greeting")[0].text_content().startswith("Hi there, here are the 2 new posts from")
    # ...minus the reader: no name, no token-bearing link, no link to itself.
    assert "Ann" not in response.text and "ann@example.com" not in response.text
    assert "/unsubscribe/" not in response.text and "/preferences/" not in response.text
    assert not page.cssselect("a.unsubscribe, a.preferences")
    [subscribe] = page.cssselect("a.view-in-browser")  # the page is in a browser already: a way to sign up
    assert (subscribe.text_content(), subscribe.get("href")) == (
        "Get these posts by email", "https://news.example.org/lists/news")
    assert "zzPUB" not in response.text


@pytest.mark.parametrize("path", ["/lists/staff", "/archive/staff/", "/lists/nope", "/archive/news/999999",
                                  "/archive/nope/", "/no/such/page", "/archive/news/not-a-number"])
def test_unknown_or_private_pages_are_html_404s_with_a_way_home(client, blog, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert _page(response).cssselect("main a")[-1].get("href") == "/"


def test_api_clients_still_get_json_errors(client, blog):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
    api = client.get("/api/nothing", headers=BROWSER)
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
