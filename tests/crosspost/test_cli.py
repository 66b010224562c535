"""The `publisher crosspost` command as a user runs it (a real subprocess): preview, targets, status. Errors are
one line; secrets never appear in anything it prints."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import regex

from tests.support.deploy import Publisher, base_env
from tests.support.feeds import Blog, FeedServer

from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_mastodon import FakeMastodon
from tests.support.webhook_receiver import WebhookReceiver

ARTICLES = {
    "Arabic": "<p>" + "كان الصباح هادئا في المدينة القديمة، وخرج الناس إلى الأسواق مبكرا. هل سمعت عن المهرجان الجديد؟ " * 40 + "</p>",
    "French": "<p>" + "L'été dernier, nous avons traversé les Cévennes à pied, de gîte en gîte. Était-ce raisonnable ? " * 40 + "</p>",
    "Emoji": "<p>" + "Launch day 🚀🎉! Our team 👩🏽‍💻👨🏿‍🔬 shipped it from 🇫🇷🇩🇪🏳️‍🌈 at once. " * 40 + "</p>",
}
SECRETS = ("mastodon-token", "app-pass-word", "webhook-secret")


def _site(publisher, feed_url, blog) -> Publisher:
    blog.add_post("Old post")
    publisher.run("init")
    publisher.run("feeds", "add", feed_url)
    for title, body in ARTICLES.items():
        blog.add_post(f"{title} article", body)
    publisher.run("poll")
    return publisher


@pytest.fixture
def site(embedded, feed_server, blog):
    return _site(embedded, feed_server.url, blog)


@pytest.fixture(scope="module")
def shared():
    """One site for the tests that only read (previews, refused input): set up once, it saves minutes."""
    blog = Blog()
    workdir = Path(tempfile.mkdtemp(prefix="crosspost-cli-"))
    with FeedServer(blog) as server:
        yield _site(Publisher(workdir, base_env(workdir)), server.url, blog), blog
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("reference", ["id", "link"])
def test_preview_fits_each_article_to_each_platform(shared, reference):
    site, blog = shared
    refs = ["2", "3", "4"] if reference == "id" else [post.link for post in blog.posts[1:]]
    for ref in refs:
        variants = json.loads(site.run("crosspost", "preview", ref, "--json").stdout)
        post = next(p for p in blog.posts if variants[0]["text"].startswith(p.title))
        assert ref in ("2", "3", "4") or ref == post.link
        assert [v["platform"] for v in variants] == ["mastodon", "bluesky", "webhook"]
        for variant in variants:
            assert set(variant) == {"platform", "text", "length", "limit"}
            assert variant["length"] <= variant["limit"]
            counted = regex.sub(r"https?://\S+", "x" * 23, variant["text"]) if variant["platform"] == "mastodon" \
                else variant["text"]
            assert len(regex.findall(r"\X", counted)) == variant["length"]
            shown = post.link if variant["platform"] != "bluesky" else post.link.removeprefix("https://")[:29]
            assert shown in variant["text"]
            lead = variant["text"].split("\n\n")[1]  # the long articles are shortened on whole sentences
            assert lead.endswith(" …") and lead[:-2].rstrip()[-1] in ".?!؟", lead[-40:]


def test_preview_of_one_platform_and_as_text(shared):
    site, blog = shared
    (only,) = json.loads(site.run("crosspost", "preview", "2", "--platform", "bluesky", "--json").stdout)
    assert only["platform"] == "bluesky" and only["limit"] == 300
    printed = site.run("crosspost", "preview", blog.posts[2].link).stdout
    assert "mastodon (" in printed and "/500)" in printed and "French article" in printed


@pytest.mark.parametrize("args,message", [
    (("crosspost", "preview", "999"), "no post with id or link '999'"),
    (("crosspost", "preview", "https://nowhere.example/x"), "no post with id or link"),
    (("crosspost", "preview", "2", "--platform", "twitter"), "unknown platform 'twitter'"),
    (("crosspost", "targets", "test", "nobody"), "no cross-post target named 'nobody'"),
    (("crosspost", "targets", "remove", "nobody"), "no cross-post target named 'nobody'"),
    (("crosspost", "targets", "add", "webhook", "hook", "--url", "ftp://example.org/x"), "only http and https"),
    (("crosspost", "targets", "add", "webhook", "hook", "--url", "https://example.org/x", "--feed",
      "https://not-added.example/feed"), "no feed with URL https://not-added.example/feed"),
    (("crosspost", "targets", "add", "mastodon", "m", "--instance", "https://x.example", "--token", "t",
      "--on-edit", "rewrite"), "--on-edit must be skip or edit"),
])
def test_bad_input_is_one_clear_line(shared, args, message):
    result = shared[0].run(*args, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_targets_add_list_test_remove_without_ever_printing_a_secret(site, feed_server):
    with FakeMastodon() as mastodon, FakeBluesky() as bluesky, WebhookReceiver() as hook:
        outputs = [
            site.run("crosspost", "targets", "add", "mastodon", "masto", "--instance", mastodon.url,
                     "--token", mastodon.token, "--feed", feed_server.url),
            site.run("crosspost", "targets", "add", "bluesky", "sky", "--handle", bluesky.handle,
                     "--app-password", bluesky.password, "--service", bluesky.url, "--on-edit", "edit"),
            site.run("crosspost", "targets", "add", "webhook", "hook", "--url", f"{hook.url}/hook",
                     "--secret", hook.secret, "--max-age-hours", "12"),
        ]
        again = site.run("crosspost", "targets", "add", "webhook", "hook", "--url", f"{hook.url}/hook", check=False)
        assert again.returncode != 0 and "exists already" in again.stderr
        listed = json.loads(site.run("crosspost", "targets", "list", "--json").stdout)
        assert {t["name"]: (t["platform"], t["feeds"], t["on_edit"]) for t in listed} == {
            "masto": ("mastodon", [feed_server.url], "skip"), "sky": ("bluesky", "all", "edit"),
            "hook": ("webhook", "all", "skip")}
        tested = [site.run("crosspost", "targets", "test", name) for name in ("masto", "sky", "hook")]
        assert "@blog" in tested[0].stdout and "500 characters" in tested[0].stdout
        assert "@blog.example.org" in tested[1].stdout and "300" in tested[1].stdout
        assert "ping" in tested[2].stdout and hook.deliveries == ["ping"]
        assert not mastodon.statuses and not bluesky.records and not hook.events.keys() - {"ping"}
        outputs += tested + [site.run("crosspost", "targets", "list"), site.run("crosspost", "status", "--json"),
                             site.run("crosspost", "status")]
        mastodon.token = "rotated"  # the stored token is no longer valid
        refused = site.run("crosspost", "targets", "test", "masto", check=False)
        assert refused.returncode != 0 and "401" in refused.stderr and "credentials" in refused.stderr
        outputs.append(refused)
        site.run("crosspost", "targets", "remove", "sky")
        assert [t["name"] for t in json.loads(site.run("crosspost", "targets", "list", "--json").stdout)] == \
            ["hook", "masto"]
    printed = "".join(o.stdout + o.stderr for o in outputs) + site.worker_logs()
    for secret in SECRETS:
        assert secret not in printed
    database = (site.workdir / "publisher.db").read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in database


def test_a_target_on_a_private_network_is_refused_unless_allowed(site):
    site.env["PUBLISHER_ALLOW_PRIVATE_NETWORKS"] = "false"
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://[::1]/hook", "http://169.254.169.254/"):
        result = site.run("crosspost", "targets", "add", "webhook", "inside", "--url", url, check=False)
        assert result.returncode != 0 and "refusing" in result.stderr, result.stderr
    result = site.run("crosspost", "targets", "add", "mastodon", "m", "--instance", "http://localhost:3000",
                      "--token", "t", check=False)
    assert result.returncode != 0 and "loopback" in result.stderr
