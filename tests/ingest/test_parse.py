"""parse_feed on real feeds from the shared corpus and on small hand-made ones."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from publisher.errors import FeedParseError
from publisher.ingest.clean import clean_posts
from publisher.ingest.parse import parse_feed, plain_text_to_html
from tests.support import corpus

DATA = Path(__file__).parent / "data"


def corpus_file(relative: str) -> bytes:
    return corpus.corpus_file(relative).read_bytes()


def is_aware_utc(moment: datetime | None) -> bool:
    return moment is not None and moment.utcoffset() == timezone.utc.utcoffset(None)


# --- Blogger ------------------------------------------------------------------------------------------------

@pytest.mark.corpus
def test_blogger_atom_quiltville():
    feed = parse_feed("https://quiltville.blogspot.com/feeds/posts/default",
                      corpus_file("blogger/rss2email_quiltville_posts_default_2021.atom"),
                      content_type="application/atom+xml; charset=UTF-8")
    assert feed.title == "Quiltville's Quips & Snips!!"
    assert feed.link == "https://quiltville.blogspot.com/"
    assert feed.hub_url == "http://pubsubhubbub.appspot.com/"
    assert feed.warning is None
    assert len(feed.entries) == 25

    first = feed.entries[0]
    assert first.title == "Bloom, Baby, Bloom!"
    assert first.link == "https://quiltville.blogspot.com/2021/03/bloom-baby-bloom.html"
    assert first.guid == "tag:blogger.com,1999:blog-13569819.post-6651749666479097045"
    assert first.identity == first.guid
    assert first.author == "Bonnie K. Hunter"  # not "Bonnie K. Hunter (noreply@blogger.com)"
    assert first.categories == ()  # quiltville labels only the blog, not its posts
    assert first.published == datetime(2021, 3, 25, 12, 6, tzinfo=timezone.utc)  # 08:06 -04:00
    assert first.updated == datetime(2021, 3, 25, 12, 6, 14, tzinfo=timezone.utc)
    assert "<a href=" in first.content_html and first.summary_html == ""
    assert first.image_url is not None and "/s1600/" in first.image_url and "/s72-c/" not in first.image_url

    assert all(e.title and e.link and e.guid and e.author == "Bonnie K. Hunter" for e in feed.entries)
    assert all(is_aware_utc(e.published) and is_aware_utc(e.updated) for e in feed.entries)
    assert len({e.identity for e in feed.entries}) == 25


@pytest.mark.corpus
def test_blogger_atom_labels_become_categories():
    feed = parse_feed("http://ola-bini.blogspot.com/feeds/posts/default",
                      corpus_file("blogger/feedjira_2008_OlaBinionJavaLispRubyandAI.atom"))
    assert len(feed.entries) == 25
    assert feed.entries[0].categories == ("moving", "blogging", "meta")


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["hakyll-convert_blogger-000_export_2017.xml",
                                  "hakyll-convert_blogger-002_export_2020.xml"])
def test_blogger_export_keeps_only_published_posts(name):
    # 60+ entries: settings, a template, a comment, 2 published posts and a draft.
    feed = parse_feed("https://testinghakyllconvert.blogspot.com/", corpus_file(f"blogger/{name}"))
    assert len(feed.entries) == 2
    assert all(".post-" in e.guid for e in feed.entries)
    assert all(not any("kind#" in c for c in e.categories) for e in feed.entries)
    titles = {e.title for e in feed.entries}
    assert "My first testing post" in titles
    assert "Just a draft for now" not in titles  # unpublished: mailing it would leak it
    assert all(e.link and "://testinghakyllconvert.blogspot.com/2017/09/" in e.link for e in feed.entries)


def test_blogger_rss_twin_has_the_same_identities():
    atom = parse_feed("https://twin.blogspot.com/feeds/posts/default", (DATA / "blogger_twin.atom").read_bytes())
    rss = parse_feed("https://twin.blogspot.com/feeds/posts/default?alt=rss", (DATA / "blogger_twin.rss").read_bytes())
    assert [e.identity for e in atom.entries] == [e.identity for e in rss.entries] == [
        "tag:blogger.com,1999:blog-123.post-456", "tag:blogger.com,1999:blog-123.post-789"]
    for a, r in zip(atom.entries, rss.entries):
        assert (a.link, a.title, a.author, a.categories, a.published, a.updated, a.image_url, a.content_html) == \
               (r.link, r.title, r.author, r.categories, r.published, r.updated, r.image_url, r.content_html)
    assert atom.entries[0].image_url == "https://blogger.googleusercontent.com/img/b/abc/s1600/pic.jpg"


# --- other platforms ----------------------------------------------------------------------------------------

@pytest.mark.corpus
@pytest.mark.parametrize("name", [
    "others/feedjira_TechCrunch.xml",           # WordPress.com
    "others/feedjira_TenderLovemaking.xml",     # WordPress 2.7
    "others/feed-rs_rss_2.0_example_4.xml",     # WordPress 5
    "others/feed-rs_rss_2.0_cloudflare.xml",    # Ghost 3
    "others/feed-rs_rss_2.0_ghost_2.xml",       # Ghost 4
    "others/feed-rs_rss_2.0_heated.xml",        # Substack
    "others/feedjira_TypePadNews.xml",
    "others/feed-rs_atom_example_3.xml",        # Movable Type
    "rss2email/data/tails/feed.rss",
    "rss2email/data/bbc-chinese/feed.atom",
])
def test_other_platforms_yield_titled_linked_entries(name):
    feed = parse_feed("https://example.org/feed", corpus_file(name))
    assert feed.title and feed.entries
    for entry in feed.entries:
        assert entry.title and entry.link and entry.link.startswith(("http://", "https://"))
        assert entry.content_html
        assert entry.published is None or is_aware_utc(entry.published)


@pytest.mark.corpus
def test_substack_enclosure_image_and_ghost_media_content():
    heated = parse_feed("https://heated.world/feed", corpus_file("others/feed-rs_rss_2.0_heated.xml"))
    assert heated.entries[0].image_url.startswith("https://cdn.substack.com/")
    ghost = parse_feed("https://blog.cloudflare.com/rss/", corpus_file("others/feed-rs_rss_2.0_cloudflare.xml"))
    assert ghost.entries[0].image_url == "https://blog.cloudflare.com/content/images/2021/10/image6-15.png"


@pytest.mark.corpus
def test_ill_formed_but_readable_feed_carries_a_warning():
    # Leading blank lines before <?xml ...?>: feedparser sets bozo but reads every entry.
    feed = parse_feed("http://techcrunch.com/feed/", corpus_file("others/feedjira_TechCrunch.xml"),
                      content_type="application/rss+xml")
    assert len(feed.entries) == 20
    assert feed.warning and "not well-formed" in feed.warning


@pytest.mark.corpus
def test_feedparser_corpus_never_crashes():
    folder = corpus.corpus_file("feedparser")
    files = [p for sub in ("wellformed", "illformed", "encoding") for p in (folder / sub).rglob("*.xml")]
    assert len(files) > 1000
    parsed = 0
    for path in files:
        try:
            parse_feed("http://example.org/feed", path.read_bytes())
            parsed += 1
        except FeedParseError:
            pass  # a typed refusal is fine; any other exception fails the test
    assert parsed > 0.9 * len(files)


# --- not a feed ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>hi</p></body></html>", "HTML page"),
    (b"\x00\x01\x02garbage", "not well-formed"),
])
def test_non_feeds_are_refused(data, reason):
    with pytest.raises(FeedParseError, match=rf"https://example.org/ is not an RSS or Atom feed: .*{reason}"):
        parse_feed("https://example.org/", data)


@pytest.mark.parametrize("data, reason", [
    (b'{"title": "an API answer, not a feed"}', "no \"version\""),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "not a list"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid UTF-8 JSON"),
    (b"[" * 100000 + b"]" * 100000, "not valid UTF-8 JSON"),  # nesting deep enough to blow the stack
])
def test_json_that_is_not_a_json_feed_is_refused(data, reason):
    with pytest.raises(FeedParseError, match=rf"https://example.org/ is not a JSON Feed: .*{reason}"):
        parse_feed("https://example.org/", data, content_type="application/json")


def test_str_input_is_refused():
    # feedparser would treat a str as a URL or a file name to open.
    with pytest.raises(TypeError):
        parse_feed("https://example.org/", "/etc/passwd")  # type: ignore[arg-type]


# --- hand-made details --------------------------------------------------------------------------------------

RELATIVE_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Relative</title><link>/</link><atom:link rel="hub" href="/hub"/>
<item><title>One</title><link>posts/one.html</link>
<description>&lt;p&gt;See &lt;a href="../about"&gt;about&lt;/a&gt; &lt;img src="img/a.png"&gt;&lt;/p&gt;</description>
<enclosure url="/media/cover.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"""


def test_relative_links_are_resolved_against_the_base_url():
    feed = parse_feed("https://blog.example.com/feeds/main.xml", RELATIVE_RSS)
    assert feed.link == "https://blog.example.com/"
    assert feed.hub_url == "https://blog.example.com/hub"
    entry = feed.entries[0]
    assert entry.link == "https://blog.example.com/feeds/posts/one.html"
    assert entry.image_url == "https://blog.example.com/media/cover.jpg"
    assert entry.summary_html == entry.content_html  # RSS has only a description
    # The HTML is resolved by the next stage, against the feed document (XML base rules), not the post.
    assert entry.content_base == "https://blog.example.com/feeds/main.xml"
    [post] = clean_posts(feed, feed.link)
    assert 'href="https://blog.example.com/about"' in post.content_html
    assert 'src="https://blog.example.com/feeds/img/a.png"' in post.content_html


def test_xml_base_and_protocol_relative_urls_in_content():
    feed = parse_feed("http://feeds.example/atom", b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://site.example/blog/"><title>B</title>
<entry><id>1</id><link href="post1"/><content type="html" xml:base="https://cdn.example/x/">
&lt;img src="a.png"&gt;&lt;img src="//img.example/b.png"&gt;&lt;a href="/top"&gt;t&lt;/a&gt;</content></entry>
</feed>""")
    [post] = clean_posts(feed, feed.link or "http://feeds.example/atom")
    assert post.link == "https://site.example/blog/post1"
    assert 'src="https://cdn.example/x/a.png"' in post.content_html
    assert 'src="https://img.example/b.png"' in post.content_html  # https, though the feed came over http
    assert 'href="https://cdn.example/top"' in post.content_html


PLAIN_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Plain</title>
<entry><title>Text</title><content type="text">1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt;

second paragraph
line two</content></entry>
</feed>"""


def test_plain_text_content_is_escaped_into_paragraphs():
    entry = parse_feed("https://example.org/", PLAIN_ATOM).entries[0]
    assert entry.content_html == ("<p>1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt;</p>"
                                  "<p>second paragraph<br>line two</p>")
    assert plain_text_to_html("") == ""


def test_identity_falls_back_to_a_content_hash():
    data = (b'<rss version="2.0"><channel><title>T</title>'
            b"<item><title>No id</title><description>body</description></item></channel></rss>")
    first = parse_feed("https://example.org/", data).entries[0]
    again = parse_feed("https://example.org/", data).entries[0]
    assert first.guid is None and first.link is None
    assert first.identity.startswith("sha256:") and first.identity == again.identity
    assert first.published is None and first.author is None


def test_html_titles_become_plain_text():
    feed = parse_feed("https://blog.example/feed", (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<title type="html">Tea &amp;amp; &lt;b&gt;cake&lt;/b&gt;</title>'
        b'<entry><id>1</id><title type="html">History of the &amp;lt;blink&amp;gt; tag'
        b'&lt;script&gt;alert(1)&lt;/script&gt;</title></entry>'
        b'<entry><id>2</id><title type="text">Fish &lt;b&gt; chips</title></entry></feed>'))
    assert feed.title == "Tea & cake"
    assert [e.title for e in feed.entries] == ["History of the <blink> tag", "Fish <b> chips"]
