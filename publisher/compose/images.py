"""Which image leads a post, and at what size, chosen as a person would: the post's own first picture (its
size is in the HTML) over the feed's image; the feed's image (Blogger's 72-px crop, asked of Blogger at full
size when ingested) only when the post has no picture, and never drawn wider than it is. Images keep width,
height and alt, so a client that blocks images keeps the layout, and none is wider than the mail's column."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

COLUMN_WIDTH = 550  # the card's inner width in templates/email/base.html


@dataclass(frozen=True)
class Image:
    url: str
    width: int | None = None  # its natural size, when known
    height: int | None = None
    alt: str = ""

    def fitted(self, column: int = COLUMN_WIDTH) -> Image:
        """The size to draw it at: its own, or scaled down (never up) to the column."""
        if not self.width or self.width <= column:
            return self
        height = round(self.height * column / self.width) if self.height else None
        return Image(self.url, column, height, self.alt)


def lead_image(content_html: str, feed_image_url: str | None, *, title: str, text_only: bool) -> Image | None:
    """The image shown above a post. When the post's text is shown in full, its own pictures are in it, so
    the lead is the feed's image only for a post without one (no picture twice); when only an excerpt is
    shown, the lead is the post's first picture, else the feed's."""
    own = first_image(content_html)
    if own and not text_only:
        return None
    if own:
        return Image(own.url, own.width, own.height, own.alt or title).fitted()
    if feed_image_url:
        # Ingest asked Blogger for the picture behind its 72-px crop (parse.blogger_full_size); its size is
        # unknown, so it is drawn at most at its own width.
        return Image(feed_image_url, alt=title)
    return None


def first_image(content_html: str) -> Image | None:
    finder = _Images()
    finder.feed(content_html)
    finder.close()
    return finder.images[0][1] if finder.images else None


def fit_images(content_html: str, column: int = COLUMN_WIDTH) -> str:
    """Every <img> of a post with its width and height scaled to the column (height kept in proportion) and
    an alt attribute (empty when the author gave none: a decorative picture, skipped by screen readers)."""
    finder = _Images()
    finder.feed(content_html)
    finder.close()
    for tag_text, image in finder.images:
        content_html = content_html.replace(tag_text, image_tag(image.fitted(column), finder.extra[tag_text]), 1)
    return content_html


def image_tag(image: Image, extra: str = "") -> str:
    size = (f' width="{image.width}"' if image.width else "") + (f' height="{image.height}"' if image.height else "")
    return f'<img src="{escape(image.url)}" alt="{escape(image.alt)}"{size}{extra}>'


class _Images(HTMLParser):
    """The <img> tags of sanitized HTML, each as its exact text and what it says."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[tuple[str, Image]] = []
        self.extra: dict[str, str] = {}  # attributes kept as they are (title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = {name: (value or "").strip() for name, value in attrs}
        text = self.get_starttag_text()
        if not values.get("src") or not text:
            return
        width, height = _pixels(values.get("width")), _pixels(values.get("height"))
        if width is None:
            height = None  # a height alone cannot be scaled to the column: let the client keep the ratio
        self.images.append((text, Image(values["src"], width, height, values.get("alt", ""))))
        self.extra[text] = f' title="{escape(values["title"])}"' if values.get("title") else ""

    handle_startendtag = handle_starttag


def _pixels(value: str | None) -> int | None:
    """"640" or "640px" → 640; a percentage or nonsense → None (not a size we can reason about)."""
    match = re.fullmatch(r"(\d{1,5})(?:px)?", (value or "").strip().lower())
    return int(match.group(1)) or None if match else None
