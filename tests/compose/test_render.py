import html
import re
from dataclasses import replace
from datetime import datetime, timezone

import lxml.html
import pytest

from publisher.compose.render import (
    NAME,
    PREFERENCES_URL,
    UNSUBSCRIBE_URL,
    PostContent,
    render_digest,
)
from publisher.compose.identity import BlogIdentity
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


def test_subject_is_the_post_title_or_the_blog_the_count_and_the_first_post(rendered):
    assert rendered.subject == "Weekly Food: 3 new posts — Crème brûlée, Straße и 日本"
    single = render_digest(make_context(posts=POSTS[1:2]), templates_dir=TEMPLATES)
    assert single.subject == "Second post"
    blog = BlogIdentity(title="Quiltville's Quips & Snips!!", site_url="https://quiltville.blogspot.com/")
    several = render_digest(make_context(posts=POSTS, blog=blog), templates_dir=TEMPLATES)
    assert several.subject == "Quiltville's Quips & Snips!!: 3 new posts — Crème brûlée, Straße и 日本"
    untitled = replace(POSTS[1], title="")
    assert render_digest(make_context(posts=[untitled], blog=blog), templates_dir=TEMPLATES
                         ).subject == "Quiltville's Quips & Snips!!"


def test_titles_are_escaped_in_html_but_not_in_subject_or_text():
    post = PostContent("Tom & <Jerry>", "https://e.example/1", None, None, "<p>x</p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert "Tom &amp; &lt;Jerry&gt;" in out.html and "<Jerry>" not in out.html
    assert out.subject == "Tom & <Jerry>"
    assert "Tom & <Jerry>" in out.text


def test_non_web_links_are_dropped():
    post = PostContent("Evil", "javascript:alert(1)", None, None, "<p>x</p>", "Feed", image_url="data:x")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert "javascript:" not in out.html and "javascript:" not in out.text
    assert "data:x" not in out.html


def test_a_post_cannot_smuggle_in_a_placeholder():
    post = PostContent(f"Free {UNSUBSCRIBE_URL}", "https://e.example/1", None, None,
                      f"<p>{NAME} <a href='https://e.example/{PREFERENCES_URL}'>x</a></p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    # Only the template's own placeholders remain: greeting, footer (and the HTML preheader/title none).
    assert out.html.count(NAME) == 1 and out.text.count(NAME) == 1
    assert out.html.count(UNSUBSCRIBE_URL) == 1 and out.text.count(UNSUBSCRIBE_URL) == 1
    assert out.html.count(PREFERENCES_URL) == 1 and out.text.count(PREFERENCES_URL) == 1
    assert UNSUBSCRIBE_URL not in out.subject


def test_missing_dates_and_authors_leave_no_separator():
    post = PostContent("Bare", "https://e.example/1", None, None, "<p>x</p>", "Feed")
    out = render_digest(make_context(posts=[post]), templates_dir=TEMPLATES)
    assert 'class="meta"' not in out.html and "By " not in out.text


def test_naive_dates_are_taken_as_utc():
    post = PostContent("N", None, None, datetime(2025, 7, 1, 12, 0), "<p>x</p>", "Feed")
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


def test_several_feeds_get_a_section_each_and_one_feed_none(rendered):
    sections = [td.text_content() for td in _tree(rendered).find_class("section-title")]
    assert sections == ["Zoë's kitchen", "Another blog"]
    assert "== Zoë's kitchen ==" in rendered.text and "== Another blog ==" in rendered.text
    single = render_digest(make_context(posts=POSTS[1:]), templates_dir=TEMPLATES)
    assert not _tree(single).find_class("section-title") and "==" not in single.text


def test_excerpt_mode_shortens_to_plain_words_with_read_more():
    long = PostContent(title="Long", link="https://blog.example.com/long", author=None, published=None,
                      content_html="<p>" + "<b>word</b> <a href='https://x.example.com'>link</a> " * 100 + "</p>",
                      feed_title="Blog")
    out = render_digest(make_context(posts=[long], content_mode="excerpt"), templates_dir=TEMPLATES)
    content = _tree(out).find_class("content")[0]
    assert content.text_content().endswith("…") and len(content.text_content().split()) == 61
    assert not content.findall(".//a") and not content.findall(".//b")
    assert "Read more" in out.html and "Read more: https://blog.example.com/long" in out.text
    assert "[1]" not in out.text
    with pytest.raises(InvalidInputError, match="content mode"):
        render_digest(make_context(content_mode="teaser"), templates_dir=TEMPLATES)


def test_default_template_has_dark_mode_and_a_preheader(rendered):
    css = _tree(rendered).xpath("//style")[0].text
    assert "@media (prefers-color-scheme: dark)" in css
    preheader = _tree(rendered).find_class("preheader")[0]
    assert "display:none" in preheader.get("style").replace(" ", "")
    assert preheader.text_content().startswith(POSTS[0].title)


def test_default_template_is_lint_clean(rendered):
    from publisher.compose.lint import lint_html

    findings = lint_html(rendered.html)
    assert [f for f in findings if f.level == "unsupported"] == []
    assert {f.client for f in findings} <= {"Gmail (Desktop Webmail)", "Gmail (Android)", "Gmail (iOS)",
                                            "Outlook (Windows)", "Outlook (macOS)", "Outlook (Outlook.com)",
                                            "Apple Mail (macOS)", "Apple Mail (iOS)"}


def test_lint_reports_what_outlook_and_gmail_lack():
    from publisher.compose.lint import lint_html

    html = ("<html><body style='margin:0'><div style='display:flex;border-radius:4px'>x</div>"
            "<style>@media (prefers-color-scheme: dark) { .a { color: #fff } }</style></body></html>")
    found = {(f.feature, f.client, f.level) for f in lint_html(html)}
    assert ("css-border-radius", "Outlook (Windows)", "unsupported") in found
    assert ("css-display-flex", "Outlook (Windows)", "unsupported") in found
    assert ("html-body", "Outlook (macOS)", "unsupported") in found  # attributes on <body> are lost there
    assert ("css-at-media-prefers-color-scheme", "Gmail (Desktop Webmail)", "ignored") in found


def _long_posts(count: int) -> list[PostContent]:
    paragraph = "<p>" + "Stitch by stitch, the quilt grows a little every evening. " * 40 + "</p>"
    return [PostContent(title=f"Long post {n}", link=f"https://blog.example.com/{n}", author=None, published=None,
                       content_html=paragraph * 4 + f"<p>The end of post {n}.</p>", feed_title="Blog")
            for n in range(count)]


def test_over_the_html_budget_the_later_posts_become_excerpts_and_all_stay_listed():
    posts = _long_posts(6)
    full = render_digest(make_context(posts=posts), templates_dir=TEMPLATES)
    budget = full.html_bytes * 2 // 3
    fitted = render_digest(make_context(posts=posts, html_budget=budget), templates_dir=TEMPLATES)
    assert full.excerpts == 0 and fitted.html_bytes <= budget < full.html_bytes
    assert 0 < fitted.excerpts < 6
    kept = 6 - fitted.excerpts
    for n in range(6):
        assert f"Long post {n}" in fitted.html and f"Long post {n}" in fitted.text
        assert (f"The end of post {n}." in fitted.html) == (n < kept)  # the first ones in full, the rest cut
    more = render_digest(make_context(posts=posts, html_budget=budget + 6000), templates_dir=TEMPLATES)
    assert more.excerpts <= fitted.excerpts  # the most posts in full that fit


def test_a_digest_under_its_budget_is_unchanged_and_one_that_cannot_fit_is_all_excerpts(rendered):
    same = render_digest(make_context(html_budget=rendered.html_bytes), templates_dir=TEMPLATES)
    assert same.html == rendered.html and same.excerpts == 0
    tiny = render_digest(make_context(posts=_long_posts(3), html_budget=1000), templates_dir=TEMPLATES)
    assert tiny.excerpts == 3 and tiny.html_bytes > 1000
    assert all(f"Long post {n}" in tiny.html for n in range(3))
