"""The HTML-to-text renderer used for the text/plain part."""

from publisher.compose.render import html_to_text


def test_paragraphs_and_breaks():
    out = html_to_text("<p>One\n  two</p><p>Three<br/>four</p>")
    assert out.body == "One two\n\nThree\nfour"


def test_entities_are_decoded():
    assert html_to_text("<p>a &amp; b &lt;c&gt; &eacute; &#8212; &nbsp;x</p>").body == "a & b <c> é — x"


def test_lists_nest_and_stay_tight():
    out = html_to_text("<ul><li>a</li><li>b<ul><li>c</li></ul></li></ul><ol><li><p>d</p></li></ol><p>e</p>")
    assert out.body == "- a\n- b\n  - c\n\n- d\n\ne"


def test_links_are_numbered_and_listed():
    out = html_to_text(
        '<p><a href="https://a.example/">A</a>, <a href="#top">top</a>, '
        '<a href="https://b.example/x">https://b.example/x</a>, <a href="mailto:m@e.example">mail</a></p>'
    )
    assert out.body == "A [1], top, https://b.example/x, mail [2]"
    assert out.links == ["https://a.example/", "mailto:m@e.example"]


def test_scripts_and_styles_are_dropped_images_keep_their_alt():
    out = html_to_text("<style>p{}</style><script>x()</script><p>Hi <img src='i.png' alt='a cat'> <img src='j'></p>")
    assert out.body == "Hi [a cat]"


def test_pre_keeps_its_layout_and_quotes_are_marked():
    out = html_to_text("<pre>def f():\n    return 1</pre><blockquote><p>said</p><p>twice</p></blockquote>")
    assert out.body == "def f():\n    return 1\n\n> said\n\n> twice"


def test_long_lines_wrap_but_urls_stay_whole():
    url = "https://example.com/" + "x" * 90
    out = html_to_text(f"<p>{'word ' * 30}{url} end</p>")
    lines = out.body.splitlines()
    assert all(len(line) <= 72 for line in lines if url not in line)
    assert url in lines


def test_tables_and_rules():
    out = html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table><hr><p>d</p>")
    assert out.body == "a b\n\nc\n\n--------------------\n\nd"


def test_empty_input():
    assert html_to_text("").body == "" and html_to_text("<p> </p>").links == []
