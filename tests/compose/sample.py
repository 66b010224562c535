"""A three-post digest shared by the compose tests: one post has a non-ASCII title and an image."""

from datetime import datetime, timezone
from pathlib import Path

from publisher.compose.render import DigestContext, PostContent

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

POSTS = [
    PostContent(
        title="Crème brûlée, Straße и 日本",
        link="https://blog.example.com/2025/creme?utm=a&ref=b",
        author="Zoë Keller",
        published=datetime(2025, 3, 3, 13, 5, tzinfo=timezone.utc),
        content_html=(
            "<p>Hello &amp; welcome to <a href=\"https://x.example.com/a\">my site</a>.</p>"
            "<ul><li>one</li><li>two <b>bold</b></li></ul><p>Line<br>break &lt;tag&gt;</p>"
        ),
        feed_title="Zoë's kitchen",
        image_url="https://img.example.com/creme.jpg",
    ),
    PostContent(
        title="Second post",
        link="https://blog.example.com/2025/second",
        author=None,
        published=datetime(2025, 3, 4, 23, 30, tzinfo=timezone.utc),
        content_html="<p>Plain text with <em>emphasis</em>.</p>",
        feed_title="Another blog",
    ),
    PostContent(
        title="Third post",
        link="https://blog.example.com/2025/third",
        author="Al",
        published=None,
        content_html="<blockquote><p>Quoted.</p></blockquote>",
        feed_title="Another blog",
    ),
]


def make_context(**overrides) -> DigestContext:
    values = dict(
        list_name="Weekly Food",
        posts=POSTS,
        base_url="https://news.example.com",
        timezone="Europe/Paris",
        postal_address="1 Rue de Rivoli, 75001 Paris",
    )
    return DigestContext(**(values | overrides))

