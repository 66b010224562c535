"""JSON Feed 1.0 and 1.1 (jsonfeed.org), which feedparser cannot read, into the same ParsedFeed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from publisher.errors import FeedParseError
from publisher.ingest.parse import (
    ParsedEntry,
    ParsedFeed,
    http_url,
    plain_text_to_html,
    protocol_relative_https,
)

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(data: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(base_url: str, data: bytes) -> ParsedFeed:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedParseError(f"{base_url} is not a JSON Feed: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(VERSION_PREFIX):
        raise FeedParseError(f"{base_url} is not a JSON Feed: no \"version\": \"{VERSION_PREFIX}1.1\"")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError(f"{base_url} is not a JSON Feed: \"items\" is not a list")
    return ParsedFeed(
        title=_str(document.get("title")),
        link=http_url(_str(document.get("home_page_url")) or None, base_url),
        hub_url=_hub(document.get("hubs"), base_url),
        entries=[_entry(item, base_url) for item in items if isinstance(item, dict)],
        warning=None,
        next_url=http_url(_str(document.get("next_url")) or None, base_url),
    )


def _entry(item: dict, base_url: str) -> ParsedEntry:
    summary = _str(item.get("summary"))
    content = _str(item.get("content_html")) or plain_text_to_html(_str(item.get("content_text")))
    link = http_url(_str(item.get("url")) or _str(item.get("external_url")) or None, base_url)
    image = _str(item.get("image")) or _str(item.get("banner_image"))
    return ParsedEntry(
        guid=_str(item.get("id")) or None,  # 1.0 feeds sometimes give a number
        link=link,
        title=_str(item.get("title")),
        author=_author(item),
        categories=tuple(dict.fromkeys(_str(t) for t in item.get("tags") or [] if _str(t))),
        content_html=content or plain_text_to_html(summary),
        summary_html=plain_text_to_html(summary) if summary else "",
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        image_url=http_url(protocol_relative_https(image or None), base_url),
    )


def _str(value) -> str:
    return str(value).strip() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


def _author(item: dict) -> str | None:
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    names = [_str(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(n for n in names if n) or None


def _hub(hubs, base_url: str) -> str | None:
    for hub in hubs if isinstance(hubs, list) else []:
        if isinstance(hub, dict) and _str(hub.get("type")).lower() in {"websub", "pubsubhubbub"}:
            return http_url(_str(hub.get("url")) or None, base_url)
    return None


def _date(value) -> datetime | None:
    """RFC 3339 dates; a date without a zone is taken as UTC."""
    text = _str(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
