"""Feed autodiscovery, a pure stage: a blog's home page (bytes) in, the feeds it names or implies out.

People paste their blog's address, not its feed. A page names its feeds with <link rel="alternate"
type="application/atom+xml|rss+xml|feed+json"> (the RSS autodiscovery convention); when it names none, the
platform's own convention is tried: Blogger serves /feeds/posts/default, WordPress /feed/."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# The media types the autodiscovery convention uses, and the kind we show for each.
FEED_TYPES = {
    "application/atom+xml": "Atom",
    "application/rss+xml": "RSS",
    "application/rdf+xml": "RSS",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
}
# When a page names several feeds: the posts feed before a comments feed, then Atom (Blogger's richest),
# RSS, JSON Feed; within that, the page's own order.
KIND_ORDER = {"Atom": 0, "RSS": 1, "JSON Feed": 2}
HTML_SNIFF = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<meta", b"<title")


@dataclass(frozen=True)
class FeedLink:
    url: str
    kind: str  # Atom, RSS, JSON Feed, or "guessed" for a platform convention
    title: str | None = None
    source: str = "link"  # link: named by the page; blogger / wordpress: the platform's convention

    def describe(self) -> str:
        named = f' "{self.title}"' if self.title else ""
        how = "" if self.source == "link" else f", {self.source}'s convention"
        return f"{self.url} ({self.kind}{named}{how})"

    @property
    def is_comments(self) -> bool:
        text = f"{self.title or ''} {self.url}".lower()
        return "comment" in text


def looks_like_html(data: bytes, content_type: str | None) -> bool:
    """A web page rather than a feed: said by its media type, or by how it starts."""
    if content_type and "html" in content_type.lower() and "xhtml+xml" not in content_type.lower():
        return True
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return head.startswith(HTML_SNIFF) and b"<rss" not in head and b"<feed" not in head


def feed_candidates(page_url: str, html: bytes) -> list[FeedLink]:
    """The feeds a page names, best first, then the platform conventions it matches (not yet checked)."""
    page = _read(html)
    base = urljoin(page_url, page.base) if page.base else page_url
    named = []
    for attrs in page.links:
        kind = FEED_TYPES.get((attrs.get("type") or "").split(";")[0].strip().lower())
        href = (attrs.get("href") or "").strip()
        if kind and href:
            url = urljoin(base, href)
            if urlsplit(url).scheme in ("http", "https") and url not in {n.url for n in named}:
                named.append(FeedLink(url, kind, (attrs.get("title") or "").strip() or None))
    named.sort(key=lambda link: (link.is_comments, KIND_ORDER.get(link.kind, 9)))
    return named + [g for g in _conventions(page_url, page) if g.url not in {n.url for n in named}]


def _conventions(page_url: str, page: _Page) -> list[FeedLink]:
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}"
    generator = " ".join(page.generators).lower()
    guesses = []
    if "blogger" in generator or parts.hostname and parts.hostname.endswith(".blogspot.com") \
            or "blogger.com" in page.hints:
        guesses.append(FeedLink(f"{root}/feeds/posts/default", "guessed", source="blogger"))
    if "wordpress" in generator or "/wp-content/" in page.hints or "/wp-includes/" in page.hints:
        path = parts.path if parts.path.endswith("/") else parts.path.rpartition("/")[0] + "/"
        guesses.append(FeedLink(f"{root}{path}feed/", "guessed", source="wordpress"))
    return guesses


@dataclass
class _Page:
    links: list[dict[str, str | None]]
    generators: list[str]
    base: str | None
    hints: str  # a few attribute values that betray the platform (script and stylesheet sources)


def _read(html: bytes) -> _Page:
    reader = _Reader()
    try:
        reader.feed(html.decode("utf-8", "replace"))
        reader.close()
    except (AssertionError, ValueError):  # the standard parser is lenient; a page it cannot finish still counts
        pass
    return _Page(reader.links, reader.generators, reader.base, " ".join(reader.hints))


class _Reader(HTMLParser):
    """Collects <link rel=alternate>, <meta name=generator>, <base href> and a few src/href values."""

    MAX_HINTS = 200

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.generators: list[str] = []
        self.base: str | None = None
        self.hints: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value for name, value in attrs}
        if tag == "link" and "alternate" in (values.get("rel") or "").lower().split():
            self.links.append(values)
        elif tag == "meta" and (values.get("name") or "").lower() == "generator":
            self.generators.append(values.get("content") or "")
        elif tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if len(self.hints) < self.MAX_HINTS:
            self.hints += [v for k, v in values.items() if k in ("src", "href") and v]

    handle_startendtag = handle_starttag
