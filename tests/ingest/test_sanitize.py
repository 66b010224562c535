"""sanitize_html: hostile input is neutralized, structure survives, every URL comes out absolute."""

from __future__ import annotations


import pytest

from publisher.ingest.parse import parse_feed
from publisher.ingest.sanitize import absolute_url, sanitize_html
from tests.support.corpus import corpus_file

BASE = "https://blog.example.com/2024/05/post.html"


def clean(html: str) -> str:
    return sanitize_html(html, BASE)


# --- hostile input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile, expected", [
    ('<p>hi<script>alert(1)</script></p>', "<p>hi</p>"),
    ("<p>a</p><style>p { color: red }</style>", "<p>a</p>"),
    ('<img src="/x.png" onerror="alert(1)">', '<img src="https://blog.example.com/x.png">'),
    ('<p onclick="steal()" onmouseover="x()">t</p>', "<p>t</p>"),
    ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="  JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="java&#x09;script:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="vbscript:msgbox(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="d">', ""),
    ('<iframe src="https://evil.example/"></iframe><p>after</p>', "<p>after</p>"),
    ('<form action="https://evil.example/"><input name="pw"><button>Go</button>Label</form>', "Label"),
    ('<p style="background: url(https://tracker.example/p.gif)">s</p>', "<p>s</p>"),
    ('<object data="x.swf"><param name="a" value="b"></object><embed src="x.swf">', ""),
    ("<svg><script>alert(1)</script></svg><p>ok</p>", "<p>ok</p>"),
    ("<p>a<!-- <script>alert(1)</script> --></p>", "<p>a</p>"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/"><p>m</p>', "<p>m</p>"),
    ('<base href="https://evil.example/"><a href="/x">x</a>',
     '<a href="https://blog.example.com/x" rel="noopener noreferrer">x</a>'),
])
def test_hostile_html_is_neutralized(hostile, expected):
    assert clean(hostile) == expected


def test_no_dangerous_text_survives_a_mixed_attack():
    out = clean('<div><script>1</script><img src=x onerror=alert(1)><a href="javascript:2">j</a>'
                '<iframe></iframe><p style="x:url(javascript:3)">p</p></div>').lower()
    for needle in ("script", "onerror", "javascript", "iframe", "style"):
        assert needle not in out


# --- URLs made absolute -------------------------------------------------------------------------------------

def test_relative_links_become_absolute():
    assert clean('<a href="../about">a</a>') == (
        '<a href="https://blog.example.com/2024/about" rel="noopener noreferrer">a</a>')
    assert clean('<img src="pic.jpg" alt="p">') == '<img src="https://blog.example.com/2024/05/pic.jpg" alt="p">'
    assert clean('<a href="#top">t</a>') == (
        '<a href="https://blog.example.com/2024/05/post.html#top" rel="noopener noreferrer">t</a>')


def test_protocol_relative_links_become_https():
    assert clean('<img src="//cdn.example.net/a.png">') == '<img src="https://cdn.example.net/a.png">'
    assert sanitize_html('<a href="//other.example/x">o</a>', "http://plain.example/") == (
        '<a href="https://other.example/x" rel="noopener noreferrer">o</a>')


def test_absolute_and_mailto_links_are_kept():
    assert clean('<a href="mailto:me@example.com">m</a>') == (
        '<a href="mailto:me@example.com" rel="noopener noreferrer">m</a>')
    assert clean('<a href="http://other.example/x?a=1&amp;b=2" title="t">o</a>') == (
        '<a href="http://other.example/x?a=1&amp;b=2" title="t" rel="noopener noreferrer">o</a>')


@pytest.mark.parametrize("value, expected", [
    ("x", "https://blog.example.com/2024/05/x"),
    ("  /y  ", "https://blog.example.com/y"),
    ("", None),
    ("javascript:alert(1)", None),
    ("ftp://files.example/", None),
    ("http://[broken", None),
])
def test_absolute_url(value, expected):
    assert absolute_url(value, BASE) == expected


# --- images -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pixel", [
    '<img src="https://t.example/p.gif" width="1" height="1">',
    '<img src="https://t.example/p.gif" width="0" height="0" alt="">',
    '<img src="https://t.example/p.gif" height="1px" width="1px">',
])
def test_tracking_pixels_are_removed(pixel):
    assert clean(f"<p>a{pixel}b</p>") == "<p>ab</p>"


def test_small_but_real_images_are_kept():
    out = clean('<img src="/line.png" width="1" height="100" alt="a > b">')
    assert out == '<img src="https://blog.example.com/line.png" width="1" height="100" alt="a &gt; b">'


# --- structure kept -----------------------------------------------------------------------------------------

def test_allowed_structure_is_kept():
    html = ("<h1>T</h1><h2>S</h2><h3>s</h3><p>Text <em>em</em> <strong>st</strong> <b>b</b> <i>i</i> <u>u</u> "
            "<s>s</s> H<sub>2</sub>O x<sup>2</sup><br></p><hr>"
            "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote><p>q</p></blockquote>"
            "<pre><code>x = 1</code></pre>"
            '<figure><img src="https://img.example/a.jpg" alt="a" title="t" width="640" height="480">'
            "<figcaption>cap</figcaption></figure>"
            "<table><caption>c</caption><thead><tr><th>h</th></tr></thead>"
            '<tbody><tr><td colspan="2" rowspan="1">d</td></tr></tbody></table>'
            "<div><span>s</span></div>")
    assert clean(html) == html


def test_class_id_and_unknown_tags_are_dropped_but_text_kept():
    assert clean('<div class="x" id="y"><marquee>hi</marquee><font color="red">f</font></div>') == "<div>hif</div>"


def test_xhtml_line_breaks_stay_single():
    assert clean("<p>one<br></br>two<br class='x'/></br>three</p>") == "<p>one<br>two<br>three</p>"


def test_empty_input():
    assert clean("") == "" and clean("   ") == ""


@pytest.mark.corpus
def test_real_blogger_content_sanitizes_cleanly():
    path = corpus_file("blogger/rss2email_quiltville_posts_default_2021.atom")
    feed = parse_feed("https://quiltville.blogspot.com/feeds/posts/default", path.read_bytes())
    for entry in feed.entries:
        out = sanitize_html(entry.content_html, entry.link)
        assert "style=" not in out and "<script" not in out
        assert 'src="//' not in out and 'href="//' not in out
        assert out.count("<img") >= 1
