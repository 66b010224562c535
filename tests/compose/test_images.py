"""Images chosen as a person would: the post's own first picture at its real size over the feed's thumbnail;
Blogger's 72-px crop only for a post without a picture, asked for at full size and never stretched; no picture
twice; width, height and alt on every image. On real Blogger feeds from the shared corpus, and small cases."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import lxml.html
import pytest

from publisher.compose.images import COLUMN_WIDTH, Image, fit_images, lead_image
from publisher.compose.render import PostContent, render_digest
from publisher.ingest.parse import blogger_full_size, parse_feed
from publisher.ingest.sanitize import sanitize_html
from tests.compose.sample import TEMPLATES, make_context

QUILTVILLE = "blogger/rss2email_quiltville_posts_default_2021.atom"
QUILTVILLE_URL = "https://quiltville.blogspot.com/feeds/posts/default"
THUMB = "https://3.bp.blogspot.com/-S5/VylfuSPH2qI/AAAAAAADzGg/Vfi/s72-c/bonniesignature.png"
PHOTO = ('<p><a href="https://1.bp.blogspot.com/-C/Y/s2578/quilt.jpg"><img src="https://1.bp.blogspot.com/-C/Y/'
         'w640-h302/quilt.jpg" width="640" height="302"></a></p><p>Leader and ender.</p>')


def _post(content: str, image_url: str | None = None, title: str = "Leader & Ender") -> PostContent:
    return PostContent(title=title, link="https://quiltville.blogspot.com/2021/03/x.html", author="Bonnie",
                      published=datetime(2021, 3, 25, 9, 0, tzinfo=timezone.utc), content_html=content,
                      feed_title="Quiltville's Quips & Snips!!", image_url=image_url)


def _images(html: str) -> list:
    return lxml.html.fromstring(html).cssselect("img")


def _render(posts: list[PostContent], mode: str = "full") -> str:
    return render_digest(make_context(posts=posts, content_mode=mode), templates_dir=TEMPLATES).html


def test_the_posts_own_picture_beats_the_feed_thumbnail_and_is_shown_once():
    full = _images(_render([_post(PHOTO, blogger_full_size(THUMB))]))
    assert [(i.get("src").rsplit("/", 2)[-2], i.get("width"), i.get("height"), i.get("alt")) for i in full] == [
        ("w640-h302", "550", "260", "")]  # scaled to the column, in proportion; alt present (empty)
    excerpt = _images(_render([_post(PHOTO, blogger_full_size(THUMB))], mode="excerpt"))
    assert [(i.get("class"), i.get("width"), i.get("height"), i.get("alt")) for i in excerpt] == [
        ("card-image", "550", "260", "Leader & Ender")]  # the lead, named after the post
    assert "bonniesignature" not in _render([_post(PHOTO, blogger_full_size(THUMB))], mode="excerpt")


def test_blogger_thumbnail_only_without_a_picture_at_full_size_never_stretched():
    [image] = _images(_render([_post("<p>Words only.</p>", blogger_full_size(THUMB))]))
    assert image.get("src") == THUMB.replace("/s72-c/", "/s1600/")
    assert image.get("width") is None and image.get("height") is None  # its size is unknown: drawn at its own
    style = image.get("style").replace(" ", "").split(";")
    assert "width:100%" not in style and "max-width:100%" in style  # shrinks to a phone, never grows
    assert image.get("alt") == "Leader & Ender"


@pytest.mark.parametrize("thumbnail, full", [
    ("https://3.bp.blogspot.com/-a/b/c/d/s72-c/pic.png", "https://3.bp.blogspot.com/-a/b/c/d/s1600/pic.png"),
    ("https://blogger.googleusercontent.com/img/b/R29/AVvX/s72-w640-h360-c/pic.jpg",
     "https://blogger.googleusercontent.com/img/b/R29/AVvX/s1600/pic.jpg"),
    ("https://lh3.googleusercontent.com/abc=s72-c", "https://lh3.googleusercontent.com/abc=s1600"),
    ("https://img.example.com/s72-c.jpg", "https://img.example.com/s72-c.jpg"),  # a file name, not a size
    ("https://img.example.com/s72-cats/x.jpg", "https://img.example.com/s72-cats/x.jpg"),
])
def test_blogger_thumbnail_addresses_are_rewritten_to_a_size_blogger_serves(thumbnail, full):
    assert blogger_full_size(thumbnail) == full


def test_small_pictures_are_never_enlarged_and_odd_sizes_are_left_to_the_client():
    html = ('<img src="https://x.example/a.png" width="200" height="100" alt="A &quot;small&quot; one">'
            '<img src="https://x.example/b.png" width="100%">'
            '<img src="https://x.example/c.png" height="300">'
            '<img src="https://x.example/d.png" width="1100px" height="2200">')
    images = _images(fit_images(html))
    assert [(i.get("width"), i.get("height"), i.get("alt")) for i in images] == [
        ("200", "100", 'A "small" one'), (None, None, ""), (None, None, ""), ("550", "1100", "")]


def test_lead_image_rules():
    photo = Image("https://1.bp.blogspot.com/-C/Y/w640-h302/quilt.jpg", 640, 302, "")
    assert lead_image(PHOTO, THUMB, title="T", text_only=False) is None
    assert lead_image(PHOTO, THUMB, title="T", text_only=True) == Image(photo.url, 550, 260, "T")
    assert lead_image("<p>x</p>", THUMB, title="T", text_only=False) == Image(THUMB, None, None, "T")
    assert lead_image("<p>x</p>", None, title="T", text_only=True) is None
    assert photo.fitted(COLUMN_WIDTH).width == COLUMN_WIDTH


@pytest.mark.corpus
def test_a_real_blogger_feed_shows_each_posts_own_picture_once_and_never_the_shared_thumbnail(corpus):
    parsed = parse_feed(QUILTVILLE_URL, (corpus / QUILTVILLE).read_bytes())
    assert all(e.image_url and "/s1600/bonniesignature.png" in e.image_url for e in parsed.entries[:5])
    posts = [_post(sanitize_html(e.content_html, e.link or QUILTVILLE_URL), e.image_url, e.title)
             for e in parsed.entries[:5]]
    for mode in ("full", "excerpt"):
        html = _render(posts, mode)
        assert "bonniesignature" not in html and "s72-c" not in html, mode
        images = _images(html)
        sources = [i.get("src") for i in images]
        assert len(sources) == len(set(sources)) == 5, mode  # one picture per post, none twice
        for image in images:
            assert int(image.get("width")) <= COLUMN_WIDTH and image.get("height") and image.get("alt") is not None
            served = re.search(r"/w(\d+)-h(\d+)/", image.get("src"))  # the size Blogger serves it at
            ratio = int(served.group(1)) / int(served.group(2))
            assert abs(int(image.get("width")) / int(image.get("height")) - ratio) < 0.02, image.get("src")


@pytest.mark.corpus
def test_a_real_blogger_post_without_a_picture_gets_its_thumbnail_at_full_size(corpus):
    entry = parse_feed(QUILTVILLE_URL, (corpus / QUILTVILLE).read_bytes()).entries[0]
    words_only = re.sub(r"<img\b[^>]*>", "", sanitize_html(entry.content_html, entry.link))
    [image] = _images(_render([_post(words_only, entry.image_url, entry.title)]))
    assert image.get("src").endswith("/s1600/bonniesignature.png")
    assert image.get("width") is None and image.get("alt") == entry.title


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["feedjira_2008_RubyonWindows.atom", "feedjira_2008_TomWhite.atom",
                                  "feedjira_2008_fromthetrenches.atom"])
def test_older_blogger_feeds_show_the_content_pictures_not_the_72px_crops(corpus, name):
    url = "https://example.blogspot.com/feeds/posts/default"
    parsed = parse_feed(url, (corpus / "blogger" / name).read_bytes())
    posts = [_post(sanitize_html(e.content_html, e.link or url), e.image_url, e.title) for e in parsed.entries
             if e.image_url]
    assert posts
    html = _render(posts)
    assert "s72-c" not in html and not lxml.html.fromstring(html).cssselect("img.card-image")
    for image in _images(html):
        assert image.get("alt") is not None
        assert image.get("width") is None or int(image.get("width")) <= COLUMN_WIDTH
