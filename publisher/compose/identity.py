"""The blog as readers see it: its name, its address, its colour and logo. A value, so the stages that show
it (subject, From name, mail header and footer, public pages) take it without touching the database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from publisher.compose.headers import shorten

TITLE_LIMIT = 200  # a title longer than a line of an inbox says nothing more
DEFAULT_ACCENT = "#1d4ed8"
ACCENT_FORM = re.compile(r"#[0-9a-f]{6}")  # as stored: the only form that goes into a <style> block
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class BlogIdentity:
    title: str
    site_url: str | None = None  # http(s) only
    description: str = ""
    accent: str = DEFAULT_ACCENT  # "#rrggbb"
    logo_url: str | None = None  # http(s) only

    @property
    def site_label(self) -> str:
        """The site's address as a person writes it: "quiltville.blogspot.com", no scheme, no final slash."""
        if not self.site_url:
            return ""
        parts = urlsplit(self.site_url)
        return (parts.netloc + parts.path).rstrip("/")


def one_line(text: str | None, limit: int = TITLE_LIMIT) -> str:
    """Feed- or editor-given text made safe for a header or a heading: one line, shortened with an ellipsis."""
    return shorten(" ".join(_CONTROLS.sub(" ", text or "").split()), limit)


def web_url(url: str | None) -> str | None:
    """The URL when it is http(s) with a host; None otherwise (a javascript: link in a feed's <link>)."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc and not _CONTROLS.search(url) else None
