"""Use case: the feed behind a blog's address. Every request goes through the SSRF guard (fetch_feed with the
settings' Policy), the page's and each candidate feed's alike: a page cannot point us at a private address."""

from __future__ import annotations

from dataclasses import dataclass, field

from publisher.config import Settings
from publisher.errors import FeedNotFoundError, FetchError
from publisher.ingest.discover import FeedLink, feed_candidates, looks_like_html
from publisher.ingest.fetch import FetchResult, fetch_feed
from publisher.ingest.ssrf import Policy

# Candidates tried before giving up: a page naming twenty feeds does not make us fetch twenty URLs.
MAX_TRIES = 4


@dataclass(frozen=True)
class Discovery:
    page_url: str  # the address given, a web page
    picked: FeedLink  # the feed we use
    fetched: FetchResult = field(repr=False)  # its response: `feeds check` reads it without a second request
    others: list[FeedLink] = field(default_factory=list)  # the other feeds the page names

    @property
    def feed_url(self) -> str:
        return self.picked.url


def fetch(url: str, settings: Settings) -> FetchResult:
    return fetch_feed(url, policy=Policy.of(settings), timeout=settings.fetch_timeout,
                      max_bytes=settings.max_feed_bytes)


def discover_feed(url: str, settings: Settings, fetched: FetchResult | None = None) -> Discovery | None:
    """None when `url` is not a web page (a feed, or something else the parser will name); else the feed the
    page names (the posts feed, Atom first) or its platform's convention implies, checked by fetching it.
    Raises FeedNotFoundError when the page leads to no feed, saying what was tried."""
    page = fetched or fetch(url, settings)
    if not looks_like_html(page.content, page.content_type):
        return None
    candidates = feed_candidates(page.url, page.content)
    if not candidates:
        raise FeedNotFoundError(f"{url} is a web page that names no feed (no <link rel=\"alternate\"> to an Atom, RSS "
                             "or JSON feed) and is not a Blogger or WordPress blog: give the feed's own address "
                             "(look for an RSS or Atom icon or link on the blog)")
    tried = []
    for candidate in candidates[:MAX_TRIES]:
        try:
            response = fetch(candidate.url, settings)
        except FetchError as exc:
            tried.append(str(exc))
            continue
        if looks_like_html(response.content, response.content_type):
            tried.append(f"{candidate.url} is a web page too")
            continue
        others = [c for c in candidates if c != candidate and c.source == "link"]
        return Discovery(page_url=url, picked=candidate, fetched=response, others=others)
    raise FeedNotFoundError(f"{url} is a web page, and none of the feeds it leads to could be read: " + "; ".join(tried))
