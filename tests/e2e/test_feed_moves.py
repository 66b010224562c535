"""`feeds add` and `lists create` with a feed URL that answers a permanent redirect, through the real command:
the final URL is stored and named, and a second list naming the old URL finds the same feed."""

from __future__ import annotations

import json

import pytest

from tests.services.test_feeds_watcher import RECENT, rss
from tests.support.servers import Recorder

RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def site():
    with Recorder("127.0.0.1") as server:
        server.routes["/feed"] = (200, RSS, rss(("a", "A", RECENT)))
        server.routes["/other"] = (200, RSS, rss(("b", "B", RECENT)))
        yield server


def _feed_urls(embedded) -> list[str]:
    return sorted(f["url"] for f in json.loads(embedded.run("feeds", "list", "--json").stdout))


def test_feeds_add_stores_the_final_url_and_says_so(embedded, site):
    old = site.redirect("/old", "/feed", 301)
    embedded.run("init")
    added = embedded.run("feeds", "add", old)
    assert f"{old} moved permanently: stored its new URL {site.url('/feed')}" in added.stdout
    assert f"({site.url('/feed')}): 1 existing posts taken as the baseline" in added.stdout
    assert _feed_urls(embedded) == [site.url("/feed")]

    again = embedded.run("feeds", "add", old, check=False)
    assert again.returncode != 0 and again.stderr.count("\n") == 1
    assert f"{old} moved permanently to {site.url('/feed')}, which is already added: use that URL" in again.stderr
    assert _feed_urls(embedded) == [site.url("/feed")]


def test_lists_create_with_a_moved_feed_url_uses_the_final_url(embedded, site):
    old, other_old = site.redirect("/old", "/feed", 308), site.redirect("/other-old", "/other", 301)
    embedded.run("init")
    created = embedded.run("lists", "create", "weekly", "--feed", old, "--feed", other_old, "--cadence", "weekly")
    assert f"{old} moved permanently: using its new URL {site.url('/feed')}" in created.stdout
    assert f"Added feed {site.url('/feed')}: 1 existing posts taken as the baseline" in created.stdout
    # The same old URL again, now that its feed is stored at the final URL: the same feed, not a copy.
    embedded.run("lists", "create", "daily", "--feed", old)
    lists = {item["name"]: item["feeds"] for item in json.loads(embedded.run("lists", "list", "--json").stdout)}
    assert lists == {"weekly": [site.url("/feed"), site.url("/other")], "daily": [site.url("/feed")]}
    assert _feed_urls(embedded) == [site.url("/feed"), site.url("/other")]


def test_a_fetch_error_names_the_url_once_and_a_refusal_says_how_to_allow_it(embedded, site):
    embedded.run("init")
    site.routes["/gone"] = (404, {}, b"no")
    missing = embedded.run("feeds", "add", site.url("/gone"), check=False)
    assert missing.returncode != 0 and missing.stderr.count(site.url("/gone")) == 1, missing.stderr
    embedded.env["PUBLISHER_ALLOW_PRIVATE_NETWORKS"] = "false"
    refused = embedded.run("feeds", "add", site.url("/feed"), check=False)
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1
    assert "127.0.0.1 is a loopback address; set PUBLISHER_ALLOW_PRIVATE_NETWORKS=true" in refused.stderr
    assert refused.stderr.count(site.url("/feed")) == 1
    assert site.hits == [("GET", "/gone", f"127.0.0.1:{site.port}")]  # the refused one was never asked
