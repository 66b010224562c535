"""The summary writer (pure: a post and a platform's rules in, text out).

It renders the target's template (`templates/crosspost/<platform>.txt`) with as many whole sentences of the
post's lead as fit the platform's count; then drops hashtags; then cuts the first sentence between words;
then the title. It adds an ellipsis whenever it shortens, and the link is always there: the template places
it, or it goes on its own line at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jinja2
import regex

from publisher.crosspost.text import (
    ELLIPSIS,
    clusters,
    grapheme_count,
    lead_text,
    mastodon_count,
    more_follows,
    safe_grapheme_count,
    sentence_ends,
    shorten,
    tidy,
    word_breaks,
)
from publisher.errors import InvalidInputError

PLATFORMS = ("mastodon", "bluesky", "webhook")
# Where the link goes while the text is being fitted: a private-use character no post contains after tidying.
_LINK = "\ue000"
_TAG_WORD = regex.compile(r"[\p{L}\p{N}\p{M}_]+")
# Characters per grapheme cluster we allow for when looking at a post's head (emoji sequences run to ~10).
MAX_CLUSTER_CHARS = 20


@dataclass(frozen=True)
class PostView:
    """What a summary is written from."""

    title: str
    link: str
    content_html: str = ""
    categories: tuple[str, ...] = ()
    author: str | None = None
    feed_title: str | None = None


@dataclass(frozen=True)
class Rules:
    """How a platform counts. url_length: every URL counts as this many (Mastodon); link_display: the link is
    shown shortened to this many clusters, the facet carrying the whole URL (Bluesky)."""

    platform: str
    limit: int
    url_length: int | None = None
    link_display: int | None = None
    hashtags: bool = True

    def count(self, text: str) -> int:
        """The count the text is fitted under: never below what the platform's own counter says."""
        if self.url_length is not None:
            return mastodon_count(text, self.url_length)
        return safe_grapheme_count(text)

    def length(self, text: str) -> int:
        """The count as the platform reports it (current Unicode)."""
        if self.url_length is not None:
            return mastodon_count(text, self.url_length) - (safe_grapheme_count(text) - grapheme_count(text))
        return grapheme_count(text)


MASTODON = Rules("mastodon", limit=500, url_length=23)
BLUESKY = Rules("bluesky", limit=300, link_display=30)
WEBHOOK = Rules("webhook", limit=1000)
DEFAULT_RULES = {"mastodon": MASTODON, "bluesky": BLUESKY, "webhook": WEBHOOK}


@dataclass(frozen=True)
class Summary:
    platform: str
    text: str
    length: int
    limit: int
    link: str
    link_span: tuple[int, int]  # character offsets of the link as shown in `text`
    tags: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, tag) of each hashtag

    def facets(self) -> list[dict]:
        """Bluesky rich-text facets: the link and the hashtags, with UTF-8 byte offsets."""
        def index(start: int, end: int) -> dict:
            return {"byteStart": len(self.text[:start].encode()), "byteEnd": len(self.text[:end].encode())}
        facets = [{"index": index(*self.link_span),
                   "features": [{"$type": "app.bsky.richtext.facet#link", "uri": self.link}]}]
        facets += [{"index": index(start, end), "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]}
                   for start, end, tag in self.tags]
        return facets

    def as_json(self) -> dict:
        return {"platform": self.platform, "text": self.text, "length": self.length, "limit": self.limit}


def write_summary(post: PostView, rules: Rules, template: jinja2.Template) -> Summary:
    if not post.link:
        raise InvalidInputError("this post has no link: a cross-post must carry one")
    shown = display_link(post.link, rules.link_display)
    render = _Renderer(template, post, rules, shown)
    # Only the head of a long article can fit: sentences are looked for there (a 1 MB post costs no more).
    size = rules.limit * MAX_CLUSTER_CHARS
    title, lead = tidy(post.title), lead_text(post.content_html)
    if len(title) > size:
        title = _longest(title[:size], lambda cut: cut) or ""
    window, more = lead[:size], len(lead) > size
    ends = sentence_ends(window)
    if more and ends and ends[-1] == len(window.rstrip()):
        ends.pop()  # where the window ends is no sentence's end
    tags = hashtags(post.categories) if rules.hashtags else []
    text = (_whole_sentences(render, title, window, ends, more, tags) or _first_sentence_cut(render, title, window, ends)
            or render.fits(title, "", []) or _title_cut(render, title) or render.fits("", "", []))
    if text is None:
        raise InvalidInputError(f"{rules.platform}: even the link alone exceeds the limit of {rules.limit}")
    return _summary(rules, text, post.link, shown, tags)


def _whole_sentences(render: _Renderer, title: str, lead: str, ends: list[int], more: bool,
                     tags: list[str]) -> str | None:
    """The most whole sentences that fit, with as many hashtags as fit beside at least one sentence."""
    for keep in range(len(tags), -1, -1):
        best = render.fits(title, "", tags[:keep]) if not lead.strip() else None
        for count, end in enumerate(ends, start=1):
            kept = lead[:end] if count == len(ends) and not more else more_follows(lead[:end])
            text = render.fits(title, kept, tags[:keep])
            if text is None:
                break
            best = text
        if best is not None:
            return best
    return None


def _first_sentence_cut(render: _Renderer, title: str, lead: str, ends: list[int]) -> str | None:
    first = lead[:ends[0]] if ends else lead
    return _longest(first, lambda cut: render.fits(title, cut, [])) if first.strip() else None


def _title_cut(render: _Renderer, title: str) -> str | None:
    return _longest(title, lambda cut: render.fits(cut, "", []))


def _longest(text: str, attempt: Callable[[str], str | None]) -> str | None:
    """The longest word-boundary prefix of `text` (with an ellipsis) that `attempt` accepts."""
    breaks = word_breaks(text)
    low, high, best = 0, len(breaks) - 1, None
    while low <= high:  # longer prefixes only ever count more: binary search
        middle = (low + high) // 2
        result = attempt(shorten(text, breaks[middle]))
        if result is None:
            high = middle - 1
        else:
            best, low = result, middle + 1
    return best


class _Renderer:
    def __init__(self, template: jinja2.Template, post: PostView, rules: Rules, shown_link: str):
        self.template, self.post, self.rules, self.shown_link = template, post, rules, shown_link

    def fits(self, title: str, lead: str, tags: list[str]) -> str | None:
        """The rendered text (link still a placeholder) if it is within the limit, else None."""
        text = self.render(title, lead, tags)
        return text if self.rules.count(text.replace(_LINK, self.shown_link)) <= self.rules.limit else None

    def render(self, title: str, lead: str, tags: list[str]) -> str:
        try:
            text = self.template.render(title=title, summary=lead, link=_LINK, hashtags=tags,
                                        author=self.post.author or "", feed=self.post.feed_title or "")
        except jinja2.TemplateError as exc:
            raise InvalidInputError(f"the crosspost/{self.rules.platform}.txt template failed: {exc}") from exc
        lines = [line.rstrip() for line in text.splitlines()]
        text = regex.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        if _LINK not in text:  # the editor's template left it out: a cross-post always carries the link
            text = f"{text}\n\n{_LINK}".strip()
        return text


def _summary(rules: Rules, text: str, link: str, shown: str, tags: list[str]) -> Summary:
    start = text.index(_LINK)
    text = text.replace(_LINK, shown)
    spans = []
    wanted = {tag[1:].lower() for tag in tags}
    for match in regex.finditer(r"(?<![\p{L}\p{N}\p{M}_#])#([\p{L}\p{N}\p{M}_]+)", text):
        if match.group(1).lower() in wanted:
            spans.append((match.start(), match.end(), match.group(1)))
    return Summary(rules.platform, text, rules.length(text), rules.limit, link, (start, start + len(shown)), spans)


def display_link(link: str, max_clusters: int | None) -> str:
    """The link as shown: whole where URLs count the same whatever their length; else without its scheme and
    `www.`, shortened with an ellipsis (a facet carries the whole URL, as Bluesky's own app does)."""
    if max_clusters is None:
        return link
    shown = regex.sub(r"^https?://(www\.)?", "", link)
    parts = clusters(shown)
    return shown if len(parts) <= max_clusters else "".join(parts[:max_clusters - 1]) + ELLIPSIS


def hashtags(categories) -> list[str]:
    """Categories as hashtags: words joined in CamelCase (or with _ in scripts without case), deduplicated;
    categories of digits alone are no hashtags on Mastodon."""
    tags, seen = [], set()
    for category in categories or ():
        words = _TAG_WORD.findall(category)
        if not words:
            continue
        tag = words[0] if len(words) == 1 else "".join(_join(word) for word in words).lstrip("_")
        if tag.isdigit() or tag.lower() in seen:
            continue
        seen.add(tag.lower())
        tags.append(tag)
    return [f"#{tag}" for tag in tags]


def _join(word: str) -> str:
    first = word[:1]
    return first.upper() + word[1:] if first.upper() != first.lower() else f"_{word}"
