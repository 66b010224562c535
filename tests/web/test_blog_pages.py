"""Every page a reader reaches about a list names the blog (not the list) and links back to it."""

from __future__ import annotations

import lxml.html
import pytest

from publisher.db import session_scope
from publisher.models import Feed, MailingList
from publisher.services.identity import update_list_identity
from publisher.services.subscribers import subscribe
from publisher.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, SubscriptionRef, make_expiring_token, make_token

TITLE = "Quiltville's Quips & Snips!!"
SITE = "https://quiltville.blogspot.com/"


@pytest.fixture
def blog_list(settings, news):
    with session_scope() as session:
        feed = session.query(Feed).one()
        feed.title, feed.site_url = TITLE, SITE
        update_list_identity(session, session.get(MailingList, news.id), description="Scraps, stars and stories", accent="#b5651d")
        sub = subscribe(session, news, email="ann@example.com", name="Ann", confirmed=True)
        return SubscriptionRef(sub.subscriber_id, sub.list_id)


def _header(page_html: str):
    page = lxml.html.fromstring(page_html)
    [link] = page.cssselect("header.blog a.blog-title")
    return page, link


@pytest.mark.parametrize("path", ["subscribe", "unsubscribe", "confirm", "preferences", "embed"])
def test_each_public_page_names_the_blog_and_links_to_it(client, settings, blog_list, path):
    key = settings.resolved_secret_key()
    url = {
        "subscribe": "/subscribe/news",
        "embed": "/subscribe/news/embed",
        "unsubscribe": f"/unsubscribe/{make_token(key, UNSUBSCRIBE, blog_list, email='ann@example.com')}",
        "preferences": f"/preferences/{make_token(key, PREFERENCES, blog_list, email='ann@example.com')}",
        "confirm": f"/confirm/{make_expiring_token(key, CONFIRM, blog_list, email='ann@example.com')}",
    }[path]
    response = client.get(url)
    assert response.status_code == 200
    page, link = _header(response.text)
    assert (link.text_content(), link.get("href")) == (TITLE, SITE)
    assert "Scraps, stars and stories" in page.cssselect("header.blog")[0].text_content()
    assert TITLE in page.findtext(".//title")
    body = page.cssselect("main")[0].text_content().replace("https://news.example.org/subscribe/news", "")
    assert TITLE in body and "news" not in body  # the list's own name is for URLs only
    assert "#b5651d" in response.text  # the blog's accent colour


def test_a_subscribe_form_posted_back_with_an_error_keeps_the_blog(client, blog_list):
    response = client.post("/subscribe/news", data={"email": "not an address", "website": ""})
    assert response.status_code == 422
    _, link = _header(response.text)
    assert link.text_content() == TITLE
