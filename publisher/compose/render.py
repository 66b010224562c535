"""Render a digest once: Jinja2 templates, then premailer to inline the CSS.

Rendering is the slow part of sending (premailer parses the CSS and walks the whole tree), so it runs once
per digest. What differs per subscriber (name, unsubscribe and preferences URLs) is left in the output as
placeholder tokens, and `message.personalize` swaps them with plain string substitution.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from premailer import Premailer

from publisher.compose.headers import shorten
from publisher.compose.identity import ACCENT_FORM, DEFAULT_ACCENT, BlogIdentity
from publisher.compose.images import Image, fit_images, lead_image
from publisher.compose.text import PlainText, html_to_text  # noqa: F401 - re-exported
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
# A subject is read in a line of an inbox: longer ones are shortened (with an ellipsis) rather than sent as a
# header that breaks (a 1,200-character title without spaces). Templates shorten titles with `| shorten(N)`.
SUBJECT_LIMIT = 200
_SUBJECT_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTENT_MODES = ("full", "excerpt")
EXCERPT_WORDS = 60

# cssutils complains loudly about properties it does not know (mso-*, -webkit-*); those are intended.
_CSSUTILS_LOG_LEVEL = logging.CRITICAL


@dataclass(frozen=True)
class PostContent:
    """A post as a digest shows it (values only; the digest_posts rows, models.DigestPost, record which posts
    a digest carried)."""

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
    posts: list[PostContent]
    base_url: str  # public URL of the publisher (for links)
    timezone: str = "UTC"  # the list's IANA zone: dates are shown in it
    postal_address: str = ""  # footer line
    content_mode: str = "full"  # "full" post text, or an "excerpt" and the Read more link
    intro_note: str = ""  # the editor's note above the posts: plain text, blank lines between paragraphs
    subject: str = ""  # the editor's subject for this digest; "" renders the template's subject.txt
    # Bytes of HTML the digest may take (PUBLISHER_HTML_BUDGET_KB); None: no limit. Gmail hides what lies past
    # ~102 KB of HTML, the unsubscribe footer included, so past the budget the later posts become excerpts.
    html_budget: int | None = None
    blog: BlogIdentity | None = None  # None: the list's name is all we know of the blog
    archive_url: str | None = None  # this digest's public web page ("View in your browser")


@dataclass(frozen=True)
class RenderedDigest:
    subject: str  # may contain placeholders
    html: str  # CSS inlined, contains placeholders
    text: str  # plain text alternative, contains placeholders
    excerpts: int = 0  # the last this many posts are excerpts because the full text would pass the budget

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


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
    image_url: str | None  # the lead image's address (what older templates show)
    image: Image | None = None  # the lead image with the size to draw it at (compose.images)


def render_digest(ctx: DigestContext, *, templates_dir: Path, template: str = "digest") -> RenderedDigest:
    """Render the subject, text and CSS-inlined HTML of one digest, with placeholders for personal parts."""
    if not ctx.posts:
        raise InvalidInputError(f"digest for {ctx.list_name!r} has no posts; there is nothing to send")
    if ctx.content_mode not in CONTENT_MODES:
        raise InvalidInputError(f"content mode {ctx.content_mode!r} must be one of {', '.join(CONTENT_MODES)}")
    env = _environment(Path(templates_dir))
    views = _Views(ctx.posts, _zone(ctx.timezone))

    def render(full: int) -> RenderedDigest:
        variables = template_variables(ctx, posts=views.with_full_text(full))
        subject, text, html = (_render_part(env, template, part, variables) for part in _PARTS)
        if ctx.subject.strip():
            subject = _defuse(ctx.subject)
        return RenderedDigest(subject=subject_line(subject), html=inline_css(html), text=_tidy_text(text),
                              excerpts=len(ctx.posts) - full)

    full = len(ctx.posts) if ctx.content_mode == "full" else 0
    return _within_budget(render, full, ctx.html_budget)


def template_variables(ctx: DigestContext, *, posts: list[_PostView] | None = None) -> dict:
    """What the digest templates see: checked, defused values and placeholders for the personal parts.
    `posts`: the posts as shown (default: each in the list's content mode)."""
    if posts is None:
        zone = _zone(ctx.timezone)
        posts = [_post_view(post, zone, excerpt=ctx.content_mode == "excerpt") for post in ctx.posts]
    blog = _defused_blog(ctx.blog or BlogIdentity(title=ctx.list_name))
    return {
        "list_name": _defuse(ctx.list_name),
        "blog": blog,
        # The header links to the blog itself; without a site link, to the list's page here.
        "home_url": blog.site_url or list_page_url(ctx.base_url, ctx.list_name),
        "archive_url": _web_url(ctx.archive_url),
        "posts": posts,
        "sections": _sections(posts),
        "base_url": ctx.base_url,
        "postal_address": _defuse(ctx.postal_address),
        "name": NAME,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
        "intro_paragraphs": intro_paragraphs(_defuse(ctx.intro_note)),
    }


def _within_budget(render, full: int, budget: int | None) -> RenderedDigest:
    """The rendering with the most posts in full whose HTML fits the budget (posts are dropped to excerpts
    from the end, every post stays listed); all excerpts when even that does not fit. The size grows with
    the number of full posts, so a binary search needs about log2(posts) renderings, and only past the
    budget: premailer costs ~0.1 s per rendering, paid once per digest."""
    renders = {full: render(full)}
    if budget is None or full == 0 or renders[full].html_bytes <= budget:
        return renders[full]
    fits, low, high = None, 0, full - 1
    while low <= high:  # with nothing fitting, the search ends by rendering 0 full posts
        middle = (low + high) // 2
        renders[middle] = render(middle)
        if renders[middle].html_bytes <= budget:
            fits, low = middle, middle + 1
        else:
            high = middle - 1
    return renders[0 if fits is None else fits]


class _Views:
    """Each post as the templates see it, in full and as an excerpt, made at most once."""

    def __init__(self, posts: list[PostContent], zone: ZoneInfo):
        self.posts, self.zone, self._made = posts, zone, {}

    def with_full_text(self, full: int) -> list[_PostView]:
        return [self._view(n, excerpt=n >= full) for n in range(len(self.posts))]

    def _view(self, n: int, *, excerpt: bool) -> _PostView:
        if (n, excerpt) not in self._made:
            self._made[n, excerpt] = _post_view(self.posts[n], self.zone, excerpt=excerpt)
        return self._made[n, excerpt]


def intro_paragraphs(note: str) -> list[str]:
    """An editor's note as paragraphs: split at blank lines, each one's lines joined by single spaces. Plain
    text on purpose: the HTML template escapes it, so a note cannot break the message's markup."""
    blocks = re.split(r"\n\s*\n", note.replace("\r\n", "\n").strip())
    return [" ".join(block.split()) for block in blocks if block.strip()]


def render_mail(template: str, variables: dict[str, str | int], *, templates_dir: Path,
                blog: BlogIdentity | None = None, base_url: str = "") -> RenderedDigest:
    """Render a transactional mail (a confirmation, a notice) from `templates/email/<template>/` by the same
    environment, CSS inlining and placeholders as a digest, so it is prepared, built and signed the same way.
    The personal parts (`name`, ...) stay placeholders; string values are defused like post text. `blog`
    (default: titled by `list_name`) makes the header, accent and footer the digests have."""
    env = _environment(Path(templates_dir))
    values = {key: _defuse(value) if isinstance(value, str) else value for key, value in variables.items()}
    shown = _defused_blog(blog or BlogIdentity(title=str(variables.get("list_name", ""))))
    values |= {"blog": shown, "home_url": shown.site_url or base_url or None, "archive_url": None,
               "name": NAME, "unsubscribe_url": UNSUBSCRIBE_URL, "preferences_url": PREFERENCES_URL}
    subject, text, html = (_render_part(env, template, part, values) for part in _PARTS)
    return RenderedDigest(subject=subject_line(subject), html=inline_css(html), text=_tidy_text(text))


def list_page_url(base_url: str, list_name: str) -> str:
    return f"{base_url.rstrip('/')}/lists/{quote(list_name, safe='')}"


def _defused_blog(blog: BlogIdentity) -> BlogIdentity:
    return replace(blog, title=_defuse(blog.title), description=_defuse(blog.description),
                   site_url=_web_url(blog.site_url), logo_url=_web_url(blog.logo_url),
                   # The colour goes into the <style> block: only a plain hex colour goes there.
                   accent=blog.accent if ACCENT_FORM.fullmatch(blog.accent) else DEFAULT_ACCENT)


def subject_line(text: str) -> str:
    """One line, no control characters, at most SUBJECT_LIMIT characters; a placeholder is kept whole."""
    text = " ".join(_SUBJECT_CONTROLS.sub(" ", text).split())
    # Each placeholder stands as one control character (none is left in the text) while shortening.
    for n, placeholder in enumerate(PLACEHOLDERS, start=1):
        text = text.replace(placeholder, chr(n))
    text = shorten(text, SUBJECT_LIMIT)
    for n, placeholder in enumerate(PLACEHOLDERS, start=1):
        text = text.replace(chr(n), placeholder)
    return text


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
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir / "email"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["shorten"] = shorten
    return env


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


def _sections(posts: list[_PostView]) -> list[tuple[str | None, list[_PostView]]]:
    """Posts grouped by feed, in order of first appearance; one untitled section when there is one feed."""
    groups: dict[str, list[_PostView]] = {}
    for post in posts:
        groups.setdefault(post.feed_title, []).append(post)
    if len(groups) == 1:
        return [(None, posts)]
    return list(groups.items())


def _post_view(post: PostContent, zone: ZoneInfo, *, excerpt: bool = False) -> _PostView:
    content_html = _defuse(post.content_html)
    text = html_to_text(content_html)
    lead = lead_image(content_html, _web_url(post.image_url), title=_defuse(post.title), text_only=excerpt)
    if lead is not None and not _web_url(lead.url):
        lead = None
    if excerpt:
        # An excerpt is plain words: cutting HTML mid-tree would leave broken markup, and a teaser needs none.
        short = _excerpt(text.body)
        content_html = f"<p>{html.escape(short, quote=False)}</p>" if short else ""
        text = PlainText(body=short, links=[])
    else:
        content_html = fit_images(content_html)
    return _PostView(
        title=_defuse(post.title),
        link=_web_url(post.link),
        author=_defuse(post.author) if post.author else None,
        date=format_date(post.published, zone) if post.published else None,
        content_html=content_html,
        content_text=text.body,
        links=list(enumerate(text.links, start=1)),
        feed_title=_defuse(post.feed_title),
        image_url=lead.url if lead else None,
        image=lead,
    )


def _excerpt(text: str, words: int = EXCERPT_WORDS) -> str:
    parts = re.sub(r" \[\d+\]", "", text).split()  # link markers point at a list the excerpt leaves out
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]).rstrip(".,;:") + " …"


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
