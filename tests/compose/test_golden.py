"""Golden files (rss2email's method): a feed in, the exact .eml out, volatile parts masked.

Each case is one template feature. After an intended change, regenerate with
PUBLISHER_REGEN_GOLDEN=1 pytest tests/compose/test_golden.py and review the diff of tests/compose/golden/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from publisher.compose.identity import BlogIdentity
from publisher.compose.message import build_message
from publisher.compose.render import DigestContext, PostContent, render_digest
from publisher.ingest.parse import parse_feed
from publisher.ingest.sanitize import sanitize_html
from tests.compose.sample import TEMPLATES
from tests.compose.test_message import DATE, LIST_ID, SENDER, make_recipient

GOLDEN = Path(__file__).resolve().parent / "golden"
FEED_URL = "https://blog.example.com/feeds/posts/default"


def _atom(title: str, entries: list[tuple[str, str, str]]) -> bytes:
    items = "".join(
        f"<entry><id>tag:blog.example.com,2025:{n}</id><title>{t}</title><author><name>Zoë Keller</name></author>"
        f"<published>2025-03-0{n + 1}T13:05:00Z</published><updated>2025-03-0{n + 1}T13:05:00Z</updated>"
        f"<link rel='alternate' href='https://blog.example.com/2025/{n}.html'/>{extra}"
        f"<content type='html'>{body}</content></entry>"
        for n, (t, body, extra) in enumerate(entries))
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
            f"xmlns:media='http://search.yahoo.com/mrss/'><id>tag:blog</id><title>{title}</title>"
            f"<updated>2025-03-05T00:00:00Z</updated>{items}</feed>").encode()


def _posts(feed: bytes) -> list[PostContent]:
    parsed = parse_feed(FEED_URL, feed)
    return [PostContent(title=e.title, link=e.link, author=e.author, published=e.published,
                       content_html=sanitize_html(e.content_html, e.link or FEED_URL), feed_title=parsed.title,
                       image_url=e.image_url) for e in parsed.entries]


P = "&lt;p&gt;First paragraph with &lt;a href='/about'&gt;a relative link&lt;/a&gt;.&lt;/p&gt;&lt;p&gt;" + "More words. " * 30 + "&lt;/p&gt;"
IMAGE = "<media:thumbnail url='https://img.example.com/lead.jpg' height='72' width='72'/>"
CASES = {
    "single_post": lambda: [_posts(_atom("Yarn Blog", [("Only post", P, "")]))],
    "several_posts": lambda: [_posts(_atom("Yarn Blog", [("One", P, ""), ("Two", P, ""), ("Three", P, "")]))],
    "sections": lambda: [_posts(_atom("Yarn Blog", [("Yarn one", P, "")])),
                         _posts(_atom("Tea Blog", [("Tea one", P, ""), ("Tea two", P, "")]))],
    "excerpt": lambda: [_posts(_atom("Yarn Blog", [("Long post", P, "")]))],
    "non_ascii": lambda: [_posts(_atom("Blog für Wolle", [("Crème brûlée, Straße и 日本", "&lt;p&gt;Grüße — ✓&lt;/p&gt;", "")]))],
    "image": lambda: [_posts(_atom("Yarn Blog", [("With a lead image", P, IMAGE)]))],
}


def _mask(raw: bytes) -> str:
    text = raw.decode("ascii")
    boundaries = set(re.findall(r'boundary="([^"]+)"', text))
    for n, boundary in enumerate(sorted(boundaries)):
        text = text.replace(boundary, f"BOUNDARY{n}")
    return re.sub(r"^Date: .*$", "Date: MASKED", text, flags=re.MULTILINE)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    posts = [post for group in CASES[case]() for post in group]
    ctx = DigestContext(list_name="Weekly Yarn", posts=posts, base_url="https://news.example.com",
                        timezone="Europe/Paris", postal_address="1 Rue de Rivoli, 75001 Paris",
                        content_mode="excerpt" if case == "excerpt" else "full",
                        blog=BlogIdentity(title=posts[0].feed_title, site_url="https://blog.example.com/"),
                        archive_url="https://news.example.com/archive/weekly-yarn/7")
    raw = build_message(render_digest(ctx, templates_dir=TEMPLATES), make_recipient(), sender=SENDER,
                        list_id=LIST_ID, date=DATE)
    actual = _mask(raw)
    path = GOLDEN / f"{case}.eml"
    if os.environ.get("PUBLISHER_REGEN_GOLDEN") == "1":
        path.write_text(actual, newline="")
        pytest.skip(f"regenerated {path.name}")
    assert path.exists(), f"no golden file {path.name}: run with PUBLISHER_REGEN_GOLDEN=1"
    assert actual == path.read_bytes().decode("ascii"), f"{case}.eml differs (PUBLISHER_REGEN_GOLDEN=1 to accept)"
