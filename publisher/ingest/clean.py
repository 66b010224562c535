"""The sanitize stage applied to a parsed feed: each entry becomes a CleanPost (identity decided, HTML clean).

Kept light on imports on purpose: it runs inside the parser processes (see guard.run_bounded), where every
imported library is paid for again in each process's memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from publisher.ingest.parse import ParsedEntry, ParsedFeed, parse_feed
from publisher.ingest.sanitize import sanitize_html


@dataclass(frozen=True)
class CleanPost:
    """An entry as the watcher sees it: identity decided, HTML sanitized."""

    identity: str
    title: str
    link: str | None
    author: str | None
    categories: list[str]
    content_html: str
    image_url: str | None
    published: datetime | None
    updated: datetime | None

    @property
    def content_hash(self) -> str:
        return sha256(f"{self.title}\x00{self.link}\x00{self.content_html}")

    def as_json(self) -> dict:
        return {
            "id": self.identity, "title": self.title, "link": self.link,
            "published": self.published.isoformat() if self.published else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "author": self.author, "categories": self.categories, "content_html": self.content_html,
            "image_url": self.image_url,
        }


def clean_posts(parsed: ParsedFeed, base_url: str) -> list[CleanPost]:
    return [_clean(entry, base_url) for entry in parsed.entries]


def _clean(entry: ParsedEntry, base_url: str) -> CleanPost:
    link_base = entry.content_base or entry.link or base_url
    return CleanPost(
        identity=entry.identity, title=entry.title, link=entry.link, author=entry.author,
        categories=list(entry.categories), content_html=sanitize_html(entry.content_html, link_base),
        image_url=entry.image_url, published=entry.published, updated=entry.updated,
    )


def parse_and_clean(base_url: str, data: bytes, *, content_type: str | None) -> tuple[ParsedFeed, list[CleanPost]]:
    parsed = parse_feed(base_url, data, content_type=content_type)
    return parsed, clean_posts(parsed, parsed.link or base_url)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
