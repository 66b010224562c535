"""Text as the platforms count it: the plain text of a post's lead, its sentences, its grapheme clusters, and
the places where it may be cut (between words, never inside a word or a cluster)."""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser

import regex

_CLUSTER = regex.compile(r"\X")
# A sentence ends at terminal punctuation (Latin, Arabic, Urdu, Devanagari danda, CJK), then closing quotes or
# brackets; in scripts written with spaces a space must follow, in CJK it need not.
_SENTENCE_END = regex.compile(
    r"""(?:[.!?…؟۔।॥]+[\"'”’»)\]]*(?:\s+|$)|[。！？]+[\"'”’」』)）]*\s*)""")
# Mastodon counts every http(s) URL in a status as a fixed length (characters_reserved_per_url).
_URL = regex.compile(r"""https?://[^\s<>"]+""")
# Trailing punctuation that URL matchers (twitter-text, Mastodon's) leave outside the URL: counted as written.
_URL_TAIL = regex.compile(r"""[.,:;!?'")\]}>…]+$""")
# Scripts written without spaces between words: a line may break between any two of their clusters.
_NO_SPACES = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
_BLOCKS = frozenset("address article aside blockquote dd div dl dt footer header li main ol p section tr ul "
                    "br hr".split())
# Not part of a lead: code, captions, tables of data, headings inside the body, scripts.
_SKIPPED = frozenset("script style template pre code figcaption table h1 h2 h3 h4 h5 h6 nav".split())
ELLIPSIS = "…"
_CJK_CLOSERS = frozenset("。！？」』）")
VIRAMA = 9  # the canonical combining class of viramas (Indic "killers" that join consonants)


def clusters(text: str) -> list[str]:
    """Extended grapheme clusters on current Unicode (emoji ZWJ sequences, flags, skin tones, combining marks,
    Indic conjuncts), as Bluesky's and Mastodon's counters split text."""
    return _CLUSTER.findall(text)


def grapheme_count(text: str) -> int:
    """What a current-Unicode counter (Intl.Segmenter, Bluesky's) says."""
    return len(clusters(text))


def safe_grapheme_count(text: str) -> int:
    """An upper bound over the counters the platforms run: current-Unicode clusters, plus one for each Indic
    conjunct that Unicode 15.1 (rule GB9c) made one cluster and older counters (Ruby's before 3.4, older
    libraries) still count as two. Fitting under this, a text fits under either."""
    return sum(1 + _conjunct_joins(cluster) for cluster in clusters(text))


def _conjunct_joins(cluster: str) -> int:
    joins, after_virama = 0, False
    for char in cluster[1:]:
        if unicodedata.combining(char) == VIRAMA:
            after_virama = True
        elif unicodedata.category(char).startswith("L"):
            joins += after_virama
            after_virama = False
        elif not (unicodedata.category(char).startswith("M") or char == "\u200d"):
            after_virama = False
    return joins


def mastodon_count(text: str, url_length: int) -> int:
    """Mastodon's count: grapheme clusters, with every http(s) URL counted as `url_length`."""
    def placeholder(match: regex.Match) -> str:
        tail = _URL_TAIL.search(match.group())
        return "x" * url_length + (tail.group() if tail else "")
    return safe_grapheme_count(_URL.sub(placeholder, text))


def lead_text(html: str) -> str:
    """The post's running text, paragraphs joined by spaces: what a summary's sentences are picked from."""
    reader = _LeadReader()
    reader.feed(html or "")
    reader.close()
    return " ".join(reader.paragraphs)


def sentence_ends(text: str) -> list[int]:
    """Where each sentence of `text` ends (its trailing spaces left out), in order: text[:end] is whole
    sentences, exactly as written."""
    ends = {len(text[:match.end()].rstrip()) for match in _SENTENCE_END.finditer(text)}
    if text.strip():
        ends.add(len(text.rstrip()))
    return sorted(end for end in ends if end > 0)


def more_follows(text: str) -> str:
    """An ellipsis after whole sentences: more to read (no space after CJK punctuation)."""
    return text + ("" if text[-1:] in _CJK_CLOSERS else " ") + ELLIPSIS


def word_breaks(text: str) -> list[int]:
    """Lengths (in characters) of the prefixes of `text` that end between two words: before a space (or
    other whitespace cluster), or after a cluster of a script written without spaces. Never inside a
    cluster, so never inside a conjunct, an emoji sequence or a letter with its marks."""
    breaks, position, previous = [], 0, ""
    for cluster in clusters(text):
        if position and (cluster.isspace() or (_NO_SPACES.match(previous) and not cluster.isspace())):
            breaks.append(position)
        position += len(cluster)
        previous = cluster
    return breaks


def shorten(text: str, length: int) -> str:
    """The first `length` characters (a word break), tidied, with an ellipsis."""
    return text[:length].rstrip().rstrip(",;:–—-(/").rstrip() + ELLIPSIS


def tidy(text: str) -> str:
    return " ".join((text or "").split())


class _LeadReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        paragraph = tidy("".join(self._parts))
        self._parts = []
        if paragraph:
            self.paragraphs.append(paragraph)
