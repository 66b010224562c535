"""HTML to plain text for the text/plain part.

A text/plain part must read well on its own, so this is a small renderer rather than a tag stripper:
paragraphs stay paragraphs, list items get "- ", links become [n] with the URLs listed after the post.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

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
