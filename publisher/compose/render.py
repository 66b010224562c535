"""Render a digest once: Jinja2 templates, then premailer to inline the CSS.

Rendering is the slow part of sending (premailer parses the CSS and walks the whole tree), so it runs once
per digest. What differs per subscriber (name, unsubscribe and preferences URLs) is left in the output as
placeholder tokens, and `message.personalize` swaps them with plain string substitution.
"""

from __future__ import annotations

import logging
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from premailer import Premailer

from publisher.errors import InvalidInputError

# Placeholders are plain ASCII letters: Jinja's escaping, lxml's serializer and premailer leave them as they
# are, even inside href attributes (a relative URL of letters is never rewritten), and they stay valid in
# subject lines and text. They are fixed constants, not per-process nonces, because a rendered digest may be
# stored and personalized later by another worker.
NAME = "zzPUBxNAMEzz"
UNSUBSCRIBE_URL = "zzPUBxUNSUBSCRIBEzz"
PREFERENCES_URL = "zzPUBxPREFERENCESzz"
PLACEHOLDERS = (NAME, UNSUBSCRIBE_URL, PREFERENCES_URL)

# Feed authors control post text. Any "zzPUB" they write is broken up before rendering so that a post
# cannot smuggle in a placeholder (and, say, print each reader's unsubscribe link in its body).
_PLACEHOLDER_PREFIX = "zzPUBx"
_DEFUSED_PREFIX = "zzPUB\u200bx"
_DEFUSE_RE = re.compile(re.escape(_PLACEHOLDER_PREFIX))

_PARTS = ("subject.txt", "body.txt", "body.html")

# cssutils complains loudly about properties it does not know (mso-*, -webkit-*); those are intended.
_CSSUTILS_LOG_LEVEL = logging.CRITICAL


@dataclass(frozen=True)
class DigestPost:
    title: str
    link: str | None
    author: str | None
    published: datetime | None  # aware UTC
    content_html: str  # already sanitized HTML (safe to mark |safe)
    feed_title: str
    image_url: str | None = None


@dataclass(frozen=True)
class DigestContext:
    list_name: str
    posts: list[DigestPost]
    base_url: str  # public URL of the publisher (for links)
    timezone: str = "UTC"  # the list's IANA zone: dates are shown in it
    postal_address: str = ""  # footer line


@dataclass(frozen=True)
class RenderedDigest:
    subject: str  # may contain placeholders
    html: str  # CSS inlined, contains placeholders
    text: str  # plain text alternative, contains placeholders


@dataclass(frozen=True)
class _PostView:
    """What the templates see of a post: values already checked, dates already local, text already made."""

    title: str
    link: str | None
    author: str | None
    date: str | None
    content_html: str
    content_text: str
    links: list[tuple[int, str]]
    feed_title: str
    image_url: str | None


def render_digest(ctx: DigestContext, *, templates_dir: Path, template: str = "digest") -> RenderedDigest:
    """Render the subject, text and CSS-inlined HTML of one digest, with placeholders for personal parts."""
    if not ctx.posts:
        raise InvalidInputError(f"digest for {ctx.list_name!r} has no posts; there is nothing to send")
    zone = _zone(ctx.timezone)
    env = _environment(Path(templates_dir))
    variables = {
        "list_name": _defuse(ctx.list_name),
        "posts": [_post_view(post, zone) for post in ctx.posts],
        "base_url": ctx.base_url,
        "postal_address": _defuse(ctx.postal_address),
        "name": NAME,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
    }
    subject, text, html = (_render_part(env, template, part, variables) for part in _PARTS)
    return RenderedDigest(subject=" ".join(subject.split()), html=inline_css(html), text=_tidy_text(text))


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes; rules that cannot be inlined (media queries, :hover)
    stay in a <style> block in the head, which premailer writes for us."""
    return Premailer(
        html,
        allow_network=False,
        disable_link_rewrites=True,  # never touch hrefs: the placeholders live there
        remove_classes=False,  # the media queries still select by class
        strip_important=False,  # media queries need !important to beat the inlined styles
        keep_style_tags=False,  # the left-over, non-inlinable rules are kept on their own
        # Otherwise `width: 100%` turns into width="100%" on images, which Outlook honours literally,
        # and `height: auto` into an invalid height="auto"; the templates set these attributes themselves.
        disable_basic_attributes=["width", "height"],
        disable_validation=True,
        cssutils_logging_level=_CSSUTILS_LOG_LEVEL,
    ).transform()


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    # One Environment per directory, so compiled templates are reused across digests.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir / "email"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_part(env: jinja2.Environment, template: str, part: str, variables: dict) -> str:
    try:
        return env.get_template(f"{template}/{part}").render(variables)
    except jinja2.TemplateNotFound as exc:
        raise InvalidInputError(f"email template {template!r} has no {exc.name}") from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {name!r}; use an IANA name like 'Europe/Paris'") from exc


def _post_view(post: DigestPost, zone: ZoneInfo) -> _PostView:
    content_html = _defuse(post.content_html)
    text = html_to_text(content_html)
    return _PostView(
        title=_defuse(post.title),
        link=_web_url(post.link),
        author=_defuse(post.author) if post.author else None,
        date=format_date(post.published, zone) if post.published else None,
        content_html=content_html,
        content_text=text.body,
        links=list(enumerate(text.links, start=1)),
        feed_title=_defuse(post.feed_title),
        image_url=_web_url(post.image_url),
    )


def format_date(moment: datetime, zone: ZoneInfo) -> str:
    """'3 March 2025, 14:05 CET': day first and a 24-hour clock read the same in most countries."""
    if moment.tzinfo is None:  # the store keeps UTC; a naive value is UTC that lost its label
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(zone)
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def _web_url(url: str | None) -> str | None:
    # Autoescaping stops attribute injection but not a javascript: URL; links in mail are http(s) only.
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return _defuse(url.strip())
    return None


def _defuse(value: str) -> str:
    return _DEFUSE_RE.sub(_DEFUSED_PREFIX, value)


def _tidy_text(text: str) -> str:
    # Template logic leaves runs of blank lines and trailing spaces; a text mail reads better without them.
    # "-- " keeps its space: that is what makes it a signature separator.
    lines = [line if line == "-- " else line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


# --- HTML to plain text ---------------------------------------------------------------------------------
# A text/plain part must read well on its own, so this is a small renderer rather than a tag stripper:
# paragraphs stay paragraphs, list items get "- ", links become [n] with the URLs listed after the post.

_WIDTH = 72
_BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header "
    "li main nav ol p pre section table tr ul".split()
)
_SKIPPED = frozenset({"script", "style", "head", "template"})


@dataclass(frozen=True)
class PlainText:
    body: str
    links: list[str]  # URL of [1], [2], ... in order


def html_to_text(html: str) -> PlainText:
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    return maker.result()


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive decoded: no '&amp;' in the output
        self._blocks: list[tuple[str, bool]] = []  # (text, follows the previous item of its list)
        self._inline: list[str] = []
        self._links: list[str] = []
        self._anchors: list[tuple[str | None, int]] = []  # (href, start in _inline)
        self._lists = self._quotes = self._pre = self._skip = 0
        self._item_pending = self._new_list = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "br":
            self._inline.append("\n")
        elif tag == "hr":
            self._flush()
            self._blocks.append(("-" * 20, False))
        elif tag == "img":
            alt = " ".join((dict(attrs).get("alt") or "").split())
            if alt:
                self._inline.append(f"[{alt}]")
        elif tag == "a":
            self._anchors.append((dict(attrs).get("href"), len(self._inline)))
        elif tag in ("td", "th"):
            self._inline.append(" ")
        if tag in _BLOCKS:
            self._flush()
        self._new_list = self._new_list or (tag in ("ul", "ol") and not self._lists)  # apart from the last
        self._lists += tag in ("ul", "ol")
        self._quotes += tag == "blockquote"
        self._pre += tag == "pre"
        self._item_pending = self._item_pending or tag == "li"

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchors:
            self._end_link(*self._anchors.pop())
        if tag in _BLOCKS:
            self._flush()
        self._skip -= tag in _SKIPPED and self._skip > 0
        self._lists -= tag in ("ul", "ol") and self._lists > 0
        self._quotes -= tag == "blockquote" and self._quotes > 0
        self._pre -= tag == "pre" and self._pre > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # Source newlines are just whitespace, except in <pre>; "\n" in the buffer means a <br>.
            self._inline.append(data if self._pre else re.sub(r"\s+", " ", data))

    def _end_link(self, href: str | None, start: int) -> None:
        label = "".join(self._inline[start:]).strip() if start <= len(self._inline) else ""
        if not href or urlsplit(href).scheme.lower() not in ("http", "https", "mailto") or label == href:
            return  # anchors and scripts go nowhere useful; a bare URL already shows itself
        self._links.append(href)
        self._inline.append(f" [{len(self._links)}]")

    def _flush(self) -> None:
        text, self._inline = "".join(self._inline), []
        lines = [line.rstrip() if self._pre else " ".join(line.split()) for line in text.split("\n")]
        if not any(lines):
            return
        is_item, self._item_pending = self._item_pending, False
        tight, self._new_list = is_item and not self._new_list, self._new_list and not is_item
        indent = "  " * max(self._lists - 1, 0)
        first = indent + ("- " if is_item else "")
        rest = indent + ("  " if is_item else "")
        quote = "> " * self._quotes
        out = [
            wrapped
            for n, line in enumerate(lines)
            for wrapped in self._wrap(line, quote + (first if n == 0 else rest), quote + rest)
        ]
        self._blocks.append(("\n".join(out), tight))

    def _wrap(self, line: str, first: str, rest: str) -> list[str]:
        if self._pre or not line:
            return [(first + line).rstrip()]
        return textwrap.wrap(
            line, _WIDTH, initial_indent=first, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False,  # never split a URL
        )

    def result(self) -> PlainText:
        self._flush()
        body = ""
        for n, (text, tight) in enumerate(self._blocks):  # items of one list sit on consecutive lines
            body += ("\n" if tight and n else "\n\n" if n else "") + text
        return PlainText(body=body, links=self._links)
