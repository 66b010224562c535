"""Counting as the platforms count: extended grapheme clusters on current Unicode, checked against an
independent library (uniseg), and the conservative count for counters that predate Unicode 15.1's conjunct
rule (GB9c). Where a text may be cut: between words, never inside a cluster."""

from __future__ import annotations

import pytest
from uniseg.graphemecluster import grapheme_clusters

from publisher.crosspost.text import (
    grapheme_count,
    lead_text,
    mastodon_count,
    safe_grapheme_count,
    sentence_ends,
    word_breaks,
)

# (text, clusters on current Unicode, clusters for a pre-15.1 counter)
CASES = {
    "emoji ZWJ (technologist, medium skin)": ("👩🏽‍💻", 1, 1),
    "family ZWJ": ("👨‍👩‍👧‍👦", 1, 1),
    "rainbow flag (VS16 + ZWJ)": ("🏳️‍🌈", 1, 1),
    "regional-indicator flags": ("🇫🇷🇩🇪🇯🇵", 3, 3),
    "skin tones": ("👍🏻👍🏼👍🏽👍🏾👍🏿", 5, 5),
    "keycap": ("1️⃣#️⃣", 2, 2),
    "combining acute": ("e\u0301te\u0301", 3, 3),
    "stacked marks (zalgo)": ("Ǹ̷̛̞g̴̡̛", 2, 2),
    "Devanagari conjuncts": ("क्षत्रिय", 3, 5),
    "Devanagari with ZWJ": ("क्\u200dष", 1, 2),
    "Bengali conjunct": ("ক্ষমা", 2, 3),
    "Tamil (no GB9c)": ("நன்றி", 3, 3),
    "Tamil ksha": ("க்ஷ", 2, 2),
    "Arabic": ("السلام عليكم", 12, 12),
    "Arabic with harakat": ("سَلَامٌ", 4, 4),
    "Hangul syllables": ("한국어", 3, 3),
    "Hangul jamo": ("\u1100\u1161\u11a8", 1, 1),
    "Thai (spacing vowels are clusters of their own)": ("ภาษาไทย", 7, 7),
    "Thai with marks above": ("ที่นี่", 2, 2),
    "CRLF": ("a\r\nb", 3, 3),
}


@pytest.mark.parametrize("case", CASES)
def test_cluster_counts(case):
    text, current, legacy = CASES[case]
    assert grapheme_count(text) == current == len(list(grapheme_clusters(text)))
    assert safe_grapheme_count(text) == legacy


@pytest.mark.parametrize("text,expected", [
    ("see https://example.org/a/very/long/path/indeed/ok", 4 + 23),
    ("(https://example.org/x).", 1 + 23 + 2),
    ("two http://a.io and https://b.io", 4 + 23 + 5 + 23),
    ("no scheme example.org/path", 26),
])
def test_mastodon_counts_every_url_as_23(text, expected):
    assert mastodon_count(text, 23) == expected


@pytest.mark.parametrize("text", ["Zéphyr naïve café", "क्षत्रिय राजा ने", "👩🏽‍💻 and 🇫🇷 flags", "السلام عليكم يا صديقي",
                                  "今日は良い天気です", "e\u0301 \u0301x y"])
def test_word_breaks_fall_between_clusters(text):
    clusters = list(grapheme_clusters(text))
    starts, position = set(), 0
    for cluster in clusters:
        starts.add(position)
        position += len(cluster)
    for cut in word_breaks(text):
        assert cut in starts and text[:cut].strip()


def test_a_space_carrying_a_combining_mark_is_no_break():
    assert word_breaks("a \u0301b c") == [4]  # " \u0301" is one cluster with a mark: not a word gap


@pytest.mark.parametrize("text,sentences", [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
    ("«Quoi ?» dit-il. Puis rien.", ["«Quoi ?»", "dit-il.", "Puis rien."]),
    ("هل أتيت؟ نعم. شكرا", ["هل أتيت؟", "نعم.", "شكرا"]),
    ("राजा आया। रानी गई।", ["राजा आया।", "रानी गई।"]),
    ("今日は晴れ。明日は雨！", ["今日は晴れ。", "明日は雨！"]),
    ("Wait... what?", ["Wait...", "what?"]),
])
def test_sentences_across_scripts(text, sentences):
    ends, start, found = sentence_ends(text), 0, []
    for end in ends:
        found.append(text[start:end].strip())
        start = end
    assert found == sentences


def test_the_lead_skips_code_captions_and_headings():
    html = ("<h2>Heading</h2><p>First <b>para</b>graph.</p><pre>code()</pre><figure><img alt='x'>"
            "<figcaption>Caption</figcaption></figure><ul><li>Item one</li><li>Item two</li></ul>"
            "<script>alert(1)</script><p>Last &amp; final.</p>")
    assert lead_text(html) == "First paragraph. Item one Item two Last & final."
