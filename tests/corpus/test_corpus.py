"""Every file of the shared corpus through the code of `feeds check` (services.feeds.check_feed): no
exception but a clean FeedParseError; real-world feeds yield posts with a title or content and a link; and
rss2email's golden pairs agree with us on the posts' count, titles and links.

Parsing runs in-process here (PUBLISHER_PARSE_TIME_LIMIT=0): the time limit's child process is covered by
tests/ingest/test_guard.py, and 2,700 process starts would only slow this test down."""

from __future__ import annotations

import configparser
import email
import email.policy
import re
from pathlib import Path

from publisher.config import Settings
from publisher.errors import FeedParseError
from publisher.services.feeds import check_feed

REAL_WORLD = ("blogger", "others", "rss2email")


def _settings() -> Settings:
    return Settings(parse_time_limit=0, allow_private_networks=False)


def _files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file())


def test_every_corpus_file_is_read_or_cleanly_refused(corpus):
    settings, read, refused, failures = _settings(), 0, 0, []
    for path in _files(corpus):
        try:
            _parsed, posts = check_feed(str(path), settings)
        except FeedParseError:
            refused += 1
            continue
        except Exception as exc:  # noqa: BLE001 - collected so one run names every offender
            failures.append(f"{path.relative_to(corpus)}: {type(exc).__name__}: {exc}")
            continue
        read += 1
        if path.relative_to(corpus).parts[0] in REAL_WORLD and path.suffix in {".xml", ".atom", ".rss", ".rdf"}:
            for post in posts:
                if not (post.title or post.content_html):
                    failures.append(f"{path.relative_to(corpus)}: a post with neither title nor content")
    print(f"\ncorpus: {read} read, {refused} refused as non-feeds, {len(failures)} failures")
    assert not failures, "\n".join(failures[:50])
    assert read > 1500


def _golden_posts(expected: Path) -> list[tuple[str, str]]:
    """(title, link) of each message rss2email saved, in order."""
    text = expected.read_text(encoding="utf-8", errors="replace")
    messages = re.split(r"^SENT BY: .*\n", text, flags=re.MULTILINE)[1:]
    posts = []
    for raw in messages:
        message = email.message_from_string(raw, policy=email.policy.default)
        posts.append((" ".join(str(message["Subject"]).split()), str(message["X-RSS-URL"] or "")))
    return posts


def _plain_configs(folder: Path) -> list[Path]:
    """Configs that mail one message per post, titled by the post (no digest, post-processing or format)."""
    chosen = []
    for config_path in sorted(folder.glob("*.config")):
        config = configparser.ConfigParser(interpolation=None)
        config.read(config_path)
        options = dict(config["DEFAULT"])
        if options.get("digest", "False") == "False" and not {"post-process", "subject-format"} & set(options):
            chosen.append(config_path)
    return chosen


def _golden_cases(corpus_root: Path) -> list[tuple[Path, Path]]:
    cases = []
    for folder in sorted((corpus_root / "rss2email" / "data").iterdir()):
        feed = next(iter(folder.glob("feed.*")), None)
        for config in _plain_configs(folder) if feed else []:
            cases.append((feed, config.with_suffix(".expected")))
    return cases


def test_rss2email_golden_pairs_match_our_posts(corpus):
    cases = _golden_cases(corpus)
    assert cases
    mismatches = []
    for feed, expected in cases:
        _parsed, posts = check_feed(str(feed), _settings())
        ours = [(" ".join(p.title.split()), p.link or "") for p in posts]
        theirs = _golden_posts(expected)
        if len(ours) != len(theirs) or sorted(ours) != sorted(theirs):
            mismatches.append(f"{expected.relative_to(corpus)}: ours {ours[:3]}… theirs {theirs[:3]}…")
    assert not mismatches, "\n".join(mismatches)
