"""A list's identity: what the editor sets wins; what they leave unset follows the first feed (its title and
site link, as the latest poll saw them); every value is checked before it can reach a header or a page."""

from __future__ import annotations

import pytest

from publisher.errors import InvalidInputError
from publisher.models import Feed
from publisher.services.identity import identity_of, update_list_identity
from publisher.services.lists import insert_list
from tests.support.consent import make_list

FEED = "https://blog.example.org/news/feed"


@pytest.fixture
def news(db):
    mailing_list = make_list(db, name="news")
    feed = db.query(Feed).filter_by(url=FEED).one()
    feed.title, feed.site_url = "Quiltville's Quips & Snips!!", "https://quiltville.blogspot.com/"
    db.commit()
    return mailing_list


def test_unset_identity_follows_the_feed_as_it_is_renamed(db, news):
    blog = identity_of(db, news)
    assert (blog.title, blog.site_url, blog.site_label) == (
        "Quiltville's Quips & Snips!!", "https://quiltville.blogspot.com/", "quiltville.blogspot.com")
    db.query(Feed).filter_by(url=FEED).one().title = "Quiltville"  # what the next poll stores
    assert identity_of(db, news).title == "Quiltville"


def test_what_the_editor_sets_stays_and_an_empty_value_goes_back_to_the_feed(db, news):
    update_list_identity(db, news, title="Bonnie's Quilts", site_url="https://quilts.example.com/",
                         description="Scraps, stars and stories", accent="#B5651D", logo="https://img.example.com/l.png")
    db.query(Feed).filter_by(url=FEED).one().title = "Renamed on Blogger"
    blog = identity_of(db, news)
    assert (blog.title, blog.site_url, blog.description, blog.accent, blog.logo_url) == (
        "Bonnie's Quilts", "https://quilts.example.com/", "Scraps, stars and stories", "#b5651d",
        "https://img.example.com/l.png")
    update_list_identity(db, news, description="Only this changes")
    assert identity_of(db, news).title == "Bonnie's Quilts"
    update_list_identity(db, news, title="", site_url="", accent="", logo="", public=False)
    blog = identity_of(db, news)
    assert (blog.title, blog.site_url, blog.accent, blog.logo_url) == (
        "Renamed on Blogger", "https://quiltville.blogspot.com/", "#1d4ed8", None)
    assert news.public is False
    update_list_identity(db, news, accent="#17a")
    assert identity_of(db, news).accent == "#1177aa"


@pytest.mark.parametrize("option, value", [
    ("title", "Quilts\r\nBcc: victim@example.net"), ("title", "tab\there"), ("title", "x" * 201),
    ("site_url", "javascript:alert(1)"), ("site_url", "quiltville.blogspot.com"), ("site_url", "https://"),
    ("logo", "data:image/png;base64,AAAA"), ("logo", "ftp://img.example.com/l.png"),
    ("accent", "red"), ("accent", "#12345"), ("accent", "#1d4ed8; background: url(x)"),
    ("description", "line\nbreak"), ("description", "x" * 1001),
])
def test_bad_identity_values_are_refused_naming_the_option(db, news, option, value):
    with pytest.raises(InvalidInputError) as caught:
        update_list_identity(db, news, **{option: value})
    assert f"--{option.replace('_', '-')}" in str(caught.value)
    with pytest.raises(InvalidInputError):
        insert_list(db, name="other", feed_urls=[FEED], **{option: value})


def test_a_feed_title_that_is_hostile_becomes_one_short_line_and_a_bad_site_link_is_dropped(db, news):
    feed = db.query(Feed).filter_by(url=FEED).one()
    feed.title, feed.site_url = "Evil\r\nBcc: victim@example.net " + "A" * 450, "javascript:alert(1)"
    blog = identity_of(db, news)
    assert "\n" not in blog.title and len(blog.title) <= 200 and blog.title.endswith("…")
    assert blog.site_url is None


def test_without_a_feed_title_the_feed_name_then_the_list_name_stand_in(db, news):
    feed = db.query(Feed).filter_by(url=FEED).one()
    feed.title = None
    assert identity_of(db, news).title == "news blog"  # the name given with `feeds add --name`
    feed.name = None
    assert identity_of(db, news).title == "news"
