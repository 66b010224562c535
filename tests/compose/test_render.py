import html
import re
from datetime import datetime, timezone

import lxml.html
import pytest

from publisher.compose.render import (
    NAME,
    PREFERENCES_URL,
    UNSUBSCRIBE_URL,
    DigestPost,
    render_digest,
)
from publisher.errors import InvalidInputError
from tests.compose.sample import POSTS, TEMPLATES, make_context


def _tree(rendered):
    return lxml.html.fromstring(rendered.html)


def test_css_is_inlined_on_the_elements(rendered):
    tree = _tree(rendered)
    cards = tree.find_class("card")
    assert len(cards) == 3
    assert all("border:1px solid" in card.get("style", "") for card in cards)
    title_links = tree.find_class("post-title-link")
    assert len(title_links) == 3
    assert all("color:#1d4ed8" in link.get("style", "") for link in title_links)
    assert "width:600px" in tree.find_class("container")[0].get("style")


def test_media_query_stays_in_a_style_block_and_nothing_else_does(rendered):
    styles = _tree(rendered).xpath("//style")
    assert len(styles) == 1
    css = styles[0].text
    assert "@media" in css and "!important" in css
    assert ".card-body {" not in css.split("@media")[0]  # inlined rules are not repeated


def test_no_script_and_a_single_document(rendered):
    assert "<script" not in rendered.html.lower()
    assert rendered.html.count("<html") == 1


def test_every_post_title_and_link_is_present(rendered):
    tree = _tree(rendered)
    hrefs = {a.get("href") for a in tree.iter("a")}
    for post in POSTS:
        assert html.escape(post.title, quote=False) in rendered.html
        assert post.link in hrefs
    assert tree.find_class("card-image")[0].get("src") == "https://img.example.com/creme.jpg"
    assert len(tree.find_class("card-image")) == 1


def test_dates_are_shown_in_the_list_zone(rendered):
    # 13:05 UTC on 3 March is 14:05 in Paris; 23:30 UTC on 4 March is already the 5th there.
    assert "3 March 2025, 14:05 CET" in rendered.html
    assert "5 March 2025, 00:30 CET" in rendered.html
    assert "3 March 2025, 14:05 CET" in rendered.text


def test_dates_follow_another_zone():
    tokyo = render_digest(make_context(timezone="Asia/Tokyo"), templates_dir=TEMPLATES)
    assert "3 March 2025, 22:05 JST" in tokyo.html


def test_footer_has_list_name_address_and_placeholder_links(rendered):
    footer = _tree(rendered).find_class("footer")[0]
    text = footer.text_content()
    assert "Weekly Food" in text and "1 Rue de Rivoli, 75001 Paris" in text
    hrefs = [a.get("href") for a in footer.iter("a")]
    assert hrefs == [PREFERENCES_URL, UNSUBSCRIBE_URL]  # premailer left the placeholders alone


def test_placeholders_are_in_every_part(rendered):
    assert f"Hi {NAME}," in rendered.html
    assert f"Hi {NAME}," in rendered.text
    for placeholder in (UNSUBSCRIBE_URL, PREFERENCES_URL):
        assert placeholder in rendered.html and placeholder in rendered.text


def test_text_part_reads_on_its_own(rendered):
    text = rendered.text
    for post in POSTS:
        assert post.title in text
        assert post.link in text  # raw URL, '&' not escaped
    assert "Hello & welcome to my site [1]." in text
    assert "[1] https://x.example.com/a" in text
    assert "- one\n- two bold" in text
    assert "Line\nbreak <tag>" in text
    assert "> Quoted." in text
    assert "Weekly Food" in text and "1 Rue de Rivoli" in text
    assert f"Unsubscribe: {UNSUBSCRIBE_URL}" in text
    assert "\n-- \n" in text  # signature separator before the footer


def test_text_part_has_no_html_debris(rendered):
    without_literal = rendered.text.replace("<tag>", "")  # the one literal '<' the post really has
    assert not re.search(r"</?[a-zA-Z][^>]*>", without_literal)
    assert not re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", rendered.text, re.IGNORECASE)
    assert "\n\n\n" not in rendered.text
    assert all(len(line) <= 998 for line in rendered.text.splitlines())


def test_subject_names_the_list_and_the_first_post(rendered):
    assert rendered.subject == "Weekly Food: Crème brûlée, Straße и 日本 and 2 more"
    single = render_digest(make_context(posts=POSTS[1:2]), templates_dir=TEMPLATES)
    assert single.subject == "Weekly Food: Second post"


def test_titles_are_escaped_in_html_but_not_in_subject_or_text():
    post = DigestPost("Tom & <Jerry>", "https://e.example/1", None, None, "<p>x</p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert "Tom &amp; &lt;Jerry&gt;" in out.html and "<Jerry>" not in out.html
    assert out.subject == "Weekly Food: Tom & <Jerry>"
    assert "Tom & <Jerry>" in out.text


def test_non_web_links_are_dropped():
    post = DigestPost("Evil", "javascript:alert(1)", None, None, "<p>x</p>", "Feed", image_url="data:x")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert "javascript:" not in out.html and "javascript:" not in out.text
    assert "data:x" not in out.html


def test_a_post_cannot_smuggle_in_a_placeholder():
    post = DigestPost(f"Free {UNSUBSCRIBE_URL}", "https://e.example/1", None, None,
                      f"<p>{NAME} <a href='https://e.example/{PREFERENCES_URL}'>x</a></p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    # Only the template's own placeholders remain: greeting, footer (and the HTML preheader/title none).
    assert out.html.count(NAME) == 1 and out.text.count(NAME) == 1
    assert out.html.count(UNSUBSCRIBE_URL) == 1 and out.text.count(UNSUBSCRIBE_URL) == 1
    assert out.html.count(PREFERENCES_URL) == 1 and out.text.count(PREFERENCES_URL) == 1
    assert UNSUBSCRIBE_URL not in out.subject


def test_missing_dates_and_authors_leave_no_separator():
    post = DigestPost("Bare", "https://e.example/1", None, None, "<p>x</p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert 'class="meta"' not in out.html and "By " not in out.text


def test_naive_dates_are_taken_as_utc():
    post = DigestPost("N", None, None, datetime(2025, 7, 1, 12, 0), "<p>x</p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert "1 July 2025, 14:00 CEST" in out.html


def test_an_empty_digest_is_refused():
    with pytest.raises(InvalidInputError, match="no posts"):
        render_digest(make_context(posts=[]), templates_dir=TEMPLATES)


def test_an_unknown_zone_is_refused():
    with pytest.raises(InvalidInputError, match="time zone"):
        render_digest(make_context(timezone="Mars/Olympus"), templates_dir=TEMPLATES)


def test_an_unknown_template_is_refused():
    with pytest.raises(InvalidInputError, match="no-such"):
        render_digest(make_context(), templates_dir=TEMPLATES, template="no-such")


def test_published_is_utc_aware_in_the_fixture():
    assert POSTS[0].published.tzinfo is timezone.utc
