"""The summary writer, as a reader of the cross-post would check it: within the platform's count (checked
with independent counters too), ending on a whole sentence or word, never inside a grapheme cluster, always
with the link. Classes of input are parametrized, and hypothesis generates text in any script."""

from __future__ import annotations

import html
from pathlib import Path

import jinja2
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mastodon import Mastodon
from uniseg.graphemecluster import grapheme_clusters

from publisher.crosspost.summary import BLUESKY, MASTODON, WEBHOOK, PostView, Rules, display_link, hashtags, write_summary
from publisher.crosspost.text import ELLIPSIS, lead_text, safe_grapheme_count

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "crosspost"
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False)
BARE = jinja2.Environment(autoescape=False).from_string("{{ summary }}\n{{ link }}")
LINK = "https://example-blog.blogspot.com/2025/03/un-article-tres-long-avec-un-titre-interminable.html"

ARABIC = ("كان الصباح هادئا في المدينة القديمة. خرج الناس إلى الأسواق مبكرا، وامتلأت الشوارع بروائح الخبز والقهوة. "
          "هل سمعت عن المهرجان الجديد؟ سيقام في الساحة الكبرى طوال الأسبوع القادم. ") * 12
FRENCH = ("L'été dernier, nous avons traversé les Cévennes à pied, de gîte en gîte. Était-ce raisonnable ? "
          "Probablement pas ; mais la lumière sur les crêtes valait chaque ampoule. Œuvre collective, ce voyage "
          "a réuni des amis qui ne s'étaient pas vus depuis dix ans. ") * 10
EMOJI = ("Launch day 🚀🎉! Our team 👩🏽‍💻👨🏿‍🔬🧑‍🤝‍🧑 shipped it from 🇫🇷🇩🇪🇯🇵🏳️‍🌈 at once. "
         "Family emoji 👨‍👩‍👧‍👦 and thumbs 👍🏻👍🏼👍🏽👍🏾👍🏿 everywhere. ") * 15
DEVANAGARI = ("क्षत्रिय राजा ने विद्वानों की सभा बुलाई। श्रद्धा और ज्ञान से भरे वक्ताओं ने संस्कृत में प्रवचन दिए। "
              "द्वार पर स्त्रियाँ और बच्चे प्रतीक्षा कर रहे थे। ") * 15
TAMIL = "நன்றி சொல்லக் கற்றுக்கொள்வோம். தமிழ் இலக்கியம் மிகவும் பழமையானது. க்ஷேத்திரம் ஸ்ரீ கோயில். " * 15
COMBINING = "Ze\u0301phyr na\u0308ive cafe\u0301 Ǹ̷̛̞g̴̡̛ stra\u0327nge me\u0304\u0301ts. " * 30
CJK = "今日はとても良い天気です。私たちは公園に行きました。春の花が咲いていて、とても綺麗でした！" * 12
ONE_LONG_SENTENCE = " ".join(["antidisestablishmentarianism", "floccinaucinihilipilification"] * 60)

ARTICLES = {"arabic": ARABIC, "french": FRENCH, "emoji": EMOJI, "devanagari": DEVANAGARI, "tamil": TAMIL,
            "combining": COMBINING, "cjk": CJK, "one-long-sentence": ONE_LONG_SENTENCE, "empty": "",
            "short": "Just one line.", "huge-sentence": "word " * 100_000, "huge-no-space": "x" * 300_000,
            "huge-sentences": "A sentence here. " * 40_000}
TITLES = {"plain": "A title", "long": "Un titre " * 120, "emoji": "🎉 " * 200, "arabic": "عنوان طويل جدا " * 60,
          "huge": "Title " * 50_000}
PLATFORMS = {"mastodon": MASTODON, "bluesky": BLUESKY, "webhook": WEBHOOK}


def _post(article: str, title: str = "A title", link: str = LINK, categories=("news", "voyage à pied")) -> PostView:
    body = "".join(f"<p>{html.escape(part)}</p>" for part in article.split(". ")[:3]) + \
        (f"<p>{html.escape('. '.join(article.split('. ')[3:]))}</p>" if article.count(". ") > 3 else "")
    return PostView(title=title, link=link, content_html=body, categories=tuple(categories))


def _counts(rules: Rules, text: str) -> list[int]:
    """The platform's count by several counters: regex's and uniseg's clusters, our conservative one, and for
    Mastodon, Mastodon.py's own get_status_length (its URL pattern, URLs as 23)."""
    original = text
    if rules.url_length:  # Mastodon: URLs as 23
        text = regex.sub(r"https?://\S+", "x" * rules.url_length, text)
    counts = [len(regex.findall(r"\X", text)), len(list(grapheme_clusters(text))), safe_grapheme_count(text)]
    if rules.url_length == 23:
        counts.append(Mastodon.get_status_length(original))
    return counts


def _assert_well_formed(summary, post: PostView, rules: Rules) -> None:
    assert max(_counts(rules, summary.text)) <= rules.limit, summary.text
    assert summary.length <= summary.limit == rules.limit
    start, end = summary.link_span
    assert summary.text[start:end] == display_link(post.link, rules.link_display)
    assert summary.link == post.link
    if rules.platform != "bluesky":
        assert post.link in summary.text


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("article", ARTICLES)
@pytest.mark.parametrize("title", TITLES)
def test_every_article_fits_every_platform_with_its_link(platform, article, title):
    rules, post = PLATFORMS[platform], _post(ARTICLES[article], TITLES[title])
    summary = write_summary(post, rules, ENV.get_template(f"{platform}.txt"))
    _assert_well_formed(summary, post, rules)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("article", [a for a in ARTICLES if ARTICLES[a]])
def test_the_lead_is_shortened_on_a_whole_sentence_or_word_with_an_ellipsis(platform, article):
    rules, post = PLATFORMS[platform], _post(ARTICLES[article])
    summary = write_summary(post, rules, BARE)
    lead_part = summary.text[:summary.link_span[0]].rstrip("\n")
    full = lead_text(post.content_html)
    if lead_part == full:
        return  # it all fit: nothing shortened, no ellipsis
    if not lead_part:  # left out: only when no word ends early enough (one 300,000-letter "word")
        assert not regex.search(r"\s", full[:rules.limit])
        return
    assert lead_part.endswith(ELLIPSIS)
    kept = lead_part.removesuffix(ELLIPSIS).rstrip()
    assert full.startswith(kept)
    follows = full[len(kept):len(kept) + 1]
    # Between words: a space follows, or a script written without spaces (no cluster of the lead is split).
    assert follows.isspace() or regex.match(r"[\p{Han}\p{Hiragana}\p{Katakana}、。！]", follows) or \
        kept[-1:] in ",;:", (kept[-20:], follows)
    kept_clusters = regex.findall(r"\X", kept)
    assert kept_clusters == regex.findall(r"\X", full)[:len(kept_clusters)]


def test_whole_sentences_are_preferred_and_categories_become_hashtags():
    post = _post(FRENCH, categories=("voyage à pied", "Cévennes", "2025"))
    summary = write_summary(post, MASTODON, ENV.get_template("mastodon.txt"))
    assert "#VoyageÀPied #Cévennes" in summary.text and "#2025" not in summary.text
    lead = summary.text.split("\n\n")[1]
    assert lead.endswith(f". {ELLIPSIS}") or lead.endswith(f"? {ELLIPSIS}")


def test_the_instance_limit_and_url_length_are_honoured():
    rules = Rules("mastodon", limit=120, url_length=23)
    summary = write_summary(_post(FRENCH), rules, ENV.get_template("mastodon.txt"))
    assert summary.length <= 120 and LINK in summary.text
    # The 87-character link counts as 23: the text is longer than the limit as written.
    assert len(summary.text) > 120 or len(LINK) < 23


def test_bluesky_facets_point_at_utf8_byte_offsets():
    post = _post(EMOJI, categories=("ابتكار", "open source"))
    summary = write_summary(post, BLUESKY, ENV.get_template("bluesky.txt"))
    data = summary.text.encode()
    facets = summary.facets()
    link = facets[0]
    shown = data[link["index"]["byteStart"]:link["index"]["byteEnd"]].decode()
    assert link["features"][0]["uri"] == LINK and shown == display_link(LINK, 30) and shown.endswith(ELLIPSIS)
    tags = {f["features"][0]["tag"]: data[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode()
            for f in facets[1:]}
    assert tags == {"ابتكار": "#ابتكار", "OpenSource": "#OpenSource"}


def test_an_editor_template_without_the_link_still_gets_it():
    template = jinja2.Environment().from_string("{{ title }} — {{ summary }}")
    summary = write_summary(_post(FRENCH), MASTODON, template)
    assert summary.text.endswith(LINK) and summary.length <= 500


def test_hashtags_of_many_shapes():
    assert hashtags(["news", "Machine learning", "c++", "2024", "NEWS", "تعلم الآلة", "  ", "日本 旅行"]) == \
        ["#news", "#MachineLearning", "#c", "#تعلم_الآلة", "#日本_旅行"]


_SCRIPTS = st.sampled_from([
    "abcdefghij KLMNOP qrstuv", "éèàùçœ ÀÉÎ", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي ", "अआइईउऊकखगघङचछजझञ्ािीु ",
    "அஆஇஈகஙசஞடணதநபமயரலவ்ிீு ", "今日は良い天気です私公園", "😀👍🏽👩‍💻🇫🇷🏳️‍🌈\u200d\U0001F3FB ", "\u0301\u0308\u0327",
    ".!?؟।。 ", "\n\t ",
])
_TEXT = _SCRIPTS.flatmap(lambda alphabet: st.text(alphabet=alphabet, max_size=400))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.one_of(_TEXT, st.text(max_size=300)), body=st.lists(st.one_of(_TEXT, st.text(max_size=200)), max_size=6),
       categories=st.lists(st.text(max_size=20), max_size=5), platform=st.sampled_from(list(PLATFORMS)),
       limit=st.integers(min_value=60, max_value=600),
       path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-/é", min_size=0, max_size=120))
def test_no_generated_text_in_any_script_exceeds_the_count_or_loses_the_link(title, body, categories, platform,
                                                                              limit, path):
    base = PLATFORMS[platform]
    rules = Rules(platform, limit=limit, url_length=base.url_length, link_display=base.link_display)
    post = PostView(title=title, link=f"https://blog.example.org/{path}",
                    content_html="".join(f"<p>{html.escape(b)}</p>" for b in body), categories=tuple(categories))
    summary = write_summary(post, rules, ENV.get_template(f"{platform}.txt"))
    _assert_well_formed(summary, post, rules)
    if platform == "bluesky":
        link = summary.facets()[0]
        assert summary.text.encode()[link["index"]["byteStart"]:link["index"]["byteEnd"]].decode() == \
            summary.text[slice(*summary.link_span)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(_TEXT, min_size=1, max_size=6), platform=st.sampled_from(["mastodon", "bluesky"]),
       limit=st.integers(min_value=40, max_value=400))
def test_no_generated_text_is_cut_inside_a_word_or_a_cluster(body, platform, limit):
    base = PLATFORMS[platform]
    rules = Rules(platform, limit=limit, url_length=base.url_length, link_display=base.link_display)
    post = PostView(title="", link="https://blog.example.org/p", content_html="".join(
        f"<p>{html.escape(b)}</p>" for b in body))
    summary = write_summary(post, rules, BARE)
    lead_part = summary.text[:summary.link_span[0]].strip()
    full = lead_text(post.content_html)
    if not lead_part or lead_part == full:
        return
    assert lead_part.endswith(ELLIPSIS)
    kept = lead_part.removesuffix(ELLIPSIS).rstrip()
    kept_clusters = regex.findall(r"\X", kept)
    assert kept_clusters == regex.findall(r"\X", full)[:len(kept_clusters)]  # a prefix, whole clusters
    rest = full[len(kept):]
    # What follows the kept words starts a new word: whitespace, or the cut came after a CJK character,
    # or only trailing punctuation was tidied away before the ellipsis.
    cjk = r"[\p{Han}\p{Hiragana}\p{Katakana}。！？、」』）]"  # scripts (and their stops) without spaces
    assert rest == "" or rest[0].isspace() or regex.match(cjk, kept[-1]) or \
        regex.match(r"[,;:–—\-(/]+(\s|$)", rest), (kept[-10:], rest[:10])
