"""Sanitize feed HTML with an allow-list: `sanitize_html(html, base_url) -> str`.

What survives is plain structure (text, headings, lists, tables, links, images) that an email client or a
web page can show without running anything or fetching anything we did not intend. Every URL comes out
absolute, because a digest is read far away from the blog it came from.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr",
    "ul", "ol", "li", "dl", "dt", "dd",
    "blockquote", "pre", "code",
    "em", "strong", "b", "i", "u", "s", "sub", "sup",
    "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    "span", "div",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
# Removed with everything inside them: their content is code or widgets, never article text.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template",
                        "textarea", "select", "button", "svg", "math"}
URL_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {("a", "href"), ("img", "src")}
PIXEL_SIZES = {"0", "1", "0px", "1px"}
# Atom type="xhtml" content comes out of feedparser as "<br></br>"; an HTML parser reads "</br>" as a
# second <br> (a quirk of the HTML standard), so every line break would double.
_XHTML_BREAK = re.compile(r"(<br\b[^<>]*>)\s*</br\s*>", re.IGNORECASE)


def sanitize_html(html: str, base_url: str) -> str:
    """Clean untrusted HTML; relative and protocol-relative URLs are made absolute against `base_url`."""
    if not html or not html.strip():
        return ""
    cleaned = nh3.clean(
        _XHTML_BREAK.sub(r"\1", html),
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter(base_url),
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    return _drop_useless_images(cleaned)


def _attribute_filter(base_url: str):
    def keep(element: str, attribute: str, value: str) -> str | None:
        if (element, attribute) in URL_ATTRIBUTES:
            return absolute_url(value, base_url)
        return value

    return keep


def absolute_url(value: str, base_url: str) -> str | None:
    """`value` resolved against `base_url`, or None when it is not an http/https/mailto URL.

    The scheme is checked here too, after joining, so the result never depends on whether nh3 runs its
    own scheme check before or after this filter.
    """
    value = value.strip()
    if not value:
        return None
    # "//host/x" inherits the base's scheme in urljoin; for email, plain http would be a downgrade.
    if value.startswith("//"):
        value = "https:" + value
    try:
        url = urljoin(base_url, value)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. "http://[broken" — not a URL we can keep
        return None
    return url if scheme in URL_SCHEMES else None


def _drop_useless_images(html: str) -> str:
    """Remove tracking pixels (1×1 or 0×0) and images whose src was refused.

    nh3's filter sees one attribute at a time, so this needs a second pass; we look at nh3's own output,
    and cut each offending tag by its exact text.
    """
    finder = _ImageFinder()
    finder.feed(html)
    finder.close()
    for tag_text in finder.useless:
        html = html.replace(tag_text, "", 1)
    return html


class _ImageFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.useless: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = {name: (value or "").strip().lower() for name, value in attrs}
        is_pixel = values.get("width") in PIXEL_SIZES and values.get("height") in PIXEL_SIZES
        if is_pixel or not values.get("src"):
            text = self.get_starttag_text()
            if text:
                self.useless.append(text)

    handle_startendtag = handle_starttag
