"""Parse feed bytes into plain values: `parse_feed(base_url, data) -> ParsedFeed`.

feedparser does the reading (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, encodings, relative links); this module only
picks the fields we store and smooths over platform quirks (Blogger exports, thumbnails). HTML comes out raw,
with the base its relative URLs are written against: sanitizing and resolving is the next stage's job.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser
import nh3

from publisher.errors import FeedParseError

BLOGGER_KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
BLOGGER_POST_KIND = "http://schemas.google.com/blogger/2008/kind#post"
# Blogger serves thumbnails as 72px square crops (".../s72-c/x.jpg", ".../s72-w640-h360-c/x.jpg", "...=s72-c");
# /s1600/ asks its image server for the picture itself, up to 1600 px and never enlarged.
BLOGGER_THUMB_SIZE = re.compile(r"(?<=[/=])s72(?:-[a-z]+\d*)*-c(?=/|$|\?)")


@dataclass(frozen=True)
class ParsedEntry:
    guid: str | None
    link: str | None
    title: str
    author: str | None
    categories: tuple[str, ...]
    content_html: str  # raw HTML: content, else summary, else ""; plain text is escaped into <p>
    summary_html: str  # raw summary/description HTML or ""
    published: datetime | None  # timezone-aware UTC
    updated: datetime | None  # timezone-aware UTC
    image_url: str | None  # media:thumbnail / media:content / enclosure image, if any
    content_base: str | None = None  # what relative URLs in the HTML are relative to (xml:base or the feed)

    @property
    def identity(self) -> str:
        """What makes two fetches of an entry the same post: guid, else link, else a hash of the text."""
        if self.guid:
            return self.guid
        if self.link:
            return self.link
        digest = hashlib.sha256(f"{self.title}\n{self.content_html}".encode()).hexdigest()
        return f"sha256:{digest}"


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str | None  # the site's HTML link
    hub_url: str | None  # WebSub hub from <link rel="hub">, if any
    entries: list[ParsedEntry]
    warning: str | None  # why the feed was ill-formed, when feedparser still read it
    next_url: str | None = None  # the next (older) page: Atom/RSS <link rel="next">, JSON Feed next_url


def parse_feed(base_url: str, data: bytes, *, content_type: str | None = None) -> ParsedFeed:
    """Read feed bytes; relative links resolve against `base_url`. Raises FeedParseError for non-feeds."""
    if not isinstance(data, bytes):
        # feedparser treats a str as a URL or a file name; only bytes are safe to hand it.
        raise TypeError("parse_feed takes bytes")
    from publisher.ingest.jsonfeed import (  # it builds on this module
        looks_like_json,
        parse_json_feed,
    )

    if looks_like_json(data, content_type):
        return parse_json_feed(base_url, data)
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    # feedparser's own HTML passes are off: the next stage (nh3) cleans every piece of HTML we keep and makes
    # its URLs absolute against content_base; feedparser's sgmllib passes would cost half the parse of a
    # Blogger feed, and would turn protocol-relative URLs into http: ones on an http feed.
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        raise FeedParseError(f"{base_url} is not an RSS or Atom feed: {_not_a_feed_reason(data, parsed)}")
    feed = parsed.feed
    return ParsedFeed(
        title=_plain_title(feed),
        link=_http_url(feed.get("link"), base_url),
        hub_url=_rel_link(feed.get("links", []), "hub", base_url),
        entries=[_entry(e, base_url) for e in parsed.entries if _is_post(e)],
        warning=_warning(parsed, content_type),
        next_url=_rel_link(feed.get("links", []), "next", base_url),
    )


def _not_a_feed_reason(data: bytes, parsed) -> str:
    exc = parsed.get("bozo_exception")
    if not data.strip():
        return "the document is empty"
    if parsed.get("bozo") and not isinstance(exc, feedparser.NonXMLContentType):
        return f"not well-formed XML ({exc})"
    return "no <rss>, <feed> or <rdf:RDF> root element (is it an HTML page?)"


def _warning(parsed, content_type: str | None) -> str | None:
    exc = parsed.get("bozo_exception")
    if not parsed.get("bozo"):
        return None
    if isinstance(exc, feedparser.NonXMLContentType) and content_type is None:
        return None  # feedparser complains "no Content-type specified" about every file read from disk
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return f"the declared character encoding was wrong; read it as {parsed.get('encoding')}"
    if isinstance(exc, feedparser.NonXMLContentType):
        return f"served with a non-XML content type; read it anyway ({exc})"
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return f"the character encoding could not be determined; read it anyway ({exc})"
    return f"the feed is not well-formed XML ({exc}); read what we could"


def _is_post(entry) -> bool:
    """Blogger exports mix posts with settings, templates and comments; a kind category tells them apart.
    Drafts (<app:control><app:draft>yes) are not published: mailing one would leak it."""
    if str(entry.get("app_draft", "")).strip().lower() == "yes":
        return False
    # WordPress exports (WXR) list pages, menu items and attachments beside posts, and drafts too.
    if entry.get("wp_post_type") is not None:
        return entry.get("wp_post_type") == "post" and entry.get("wp_status", "publish") == "publish"
    kinds = [t.get("term") for t in entry.get("tags", []) if t.get("scheme") == BLOGGER_KIND_SCHEME]
    return not kinds or BLOGGER_POST_KIND in kinds


def _entry(entry, base_url: str) -> ParsedEntry:
    summary = _summary_html(entry)
    return ParsedEntry(
        guid=_text(entry.get("id")) or None,
        link=_http_url(entry.get("link"), base_url),
        title=_plain_title(entry),
        author=_author(entry),
        categories=_categories(entry),
        content_html=_content_html(entry) or summary,
        summary_html=summary,
        content_base=_content_base(entry),
        published=_utc(entry.get("published_parsed")),
        updated=_utc(entry.get("updated_parsed")),
        image_url=_image_url(entry, base_url),
    )


def http_url(value: str | None, base_url: str) -> str | None:
    return _http_url(value, base_url)


def _text(value) -> str:
    return (value or "").strip()


def _plain_title(element) -> str:
    """A title is text: one typed as HTML (Atom type="html", RSS titles holding markup) loses its tags,
    and the contents of script and style with them, and its entities are decoded."""
    detail = element.get("title_detail") or {}
    title = _text(element.get("title"))
    if detail.get("type") in {"text/html", "application/xhtml+xml"} and "<" in title:
        title = html.unescape(nh3.clean(title, tags=set(), clean_content_tags={"script", "style"}))
    return " ".join(title.split())


def _http_url(value: str | None, base_url: str) -> str | None:
    """An absolute http(s) URL or None. feedparser copies an Atom id into `link` when there is no link
    (Blogger drafts: "tag:blogger.com,..."), which is not somewhere a reader can go."""
    if not value:
        return None
    url = urljoin(base_url, value.strip())
    return url if urlsplit(url).scheme in {"http", "https"} else None


def _rel_link(links: list, rel: str, base_url: str) -> str | None:
    for link in links:
        if rel in (link.get("rel") or "").split():
            return _http_url(link.get("href"), base_url)
    return None


def _author(entry) -> str | None:
    # `author` is "Name (email)"; the detail's name is what a reader wants to see.
    name = _text(entry.get("author_detail", {}).get("name")) or _text(entry.get("author"))
    return name or None


def _categories(entry) -> tuple[str, ...]:
    terms = (_text(t.get("term") or t.get("label")) for t in entry.get("tags", [])
             if t.get("scheme") != BLOGGER_KIND_SCHEME)
    return tuple(dict.fromkeys(t for t in terms if t))  # de-duplicated, order kept


def _content_detail(entry):
    contents = entry.get("content") or []
    html_parts = [c for c in contents if c.get("type") in {"text/html", "application/xhtml+xml"}]
    return (html_parts or contents or [None])[0]


def _content_html(entry) -> str:
    chosen = _content_detail(entry)
    return _as_html(chosen) if chosen else ""


def _content_base(entry) -> str | None:
    """The base URL the entry's HTML is written against: its xml:base, else the feed document's URL."""
    detail = _content_detail(entry) or entry.get("summary_detail") or {}
    return detail.get("base") or None


def _summary_html(entry) -> str:
    # Without a summary element feedparser copies the content into `summary` but sets no summary_detail;
    # only a real <summary>/<description> counts.
    detail = entry.get("summary_detail")
    return _as_html(detail) if detail else ""


def _as_html(detail) -> str:
    value = detail.get("value") or ""
    if detail.get("type") == "text/plain" and value.strip():
        return plain_text_to_html(value)
    return value


def plain_text_to_html(text: str) -> str:
    """Escape plain text into paragraphs (blank lines) with line breaks (single newlines)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def _utc(struct) -> datetime | None:
    # feedparser normalizes every date it understands to a UTC struct_time.
    if not struct:
        return None
    return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)


def _image_url(entry, base_url: str) -> str | None:
    candidates = [t.get("url") for t in entry.get("media_thumbnail", [])]
    candidates += [m.get("url") for m in entry.get("media_content", [])
                   if m.get("medium") == "image" or (m.get("type") or "").startswith("image/")]
    candidates += [e.get("href") for e in entry.get("enclosures", [])
                   if (e.get("type") or "").startswith("image/")]
    for candidate in candidates:
        url = _http_url(protocol_relative_https(candidate), base_url)
        if url:
            return blogger_full_size(url)
    return None


def blogger_full_size(url: str) -> str:
    """A Blogger thumbnail's address rewritten to the full picture (anything else unchanged)."""
    return BLOGGER_THUMB_SIZE.sub("s1600", url, count=1)


def protocol_relative_https(url: str | None) -> str | None:
    return "https:" + url if url and url.startswith("//") else url
