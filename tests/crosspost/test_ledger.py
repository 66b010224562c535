"""Exactly once, as a reader of the account would count: news posted once per target, whatever the platform
does in between (a 504, a timeout after it stored the post, a 429, an expired session); edits and old posts
not posted again; a feed a target does not follow not posted there."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from publisher.db import session_scope
from publisher.models import Crosspost, CrosspostEvent, Post
from publisher.models.base import utcnow
from publisher.services import crosspost as crossposting
from publisher.services import crosspost_status, crosspost_targets
from tests.crosspost.conftest import add_feed, add_target, poll, posted
from tests.support.fake_http import Fault

PLATFORMS = ["mastodon", "bluesky", "webhook"]
WRITE = {"mastodon": ("POST", "/api/v1/statuses"), "bluesky": ("POST", "/xrpc/com.atproto.repo.putRecord"),
         "webhook": ("POST", "/hook")}


def _rows() -> list[Crosspost]:
    with session_scope() as session:
        return list(session.scalars(select(Crosspost).order_by(Crosspost.id)))


def _retry_due(settings) -> None:
    """What the scheduler's tick does: sweep, then run each requeued row (in-process here)."""
    with session_scope() as session:
        ids = crossposting.sweep(session, settings)
    for crosspost_id in ids:
        with session_scope() as session:
            crossposting.deliver(session, settings, crosspost_id)


def _news(settings, blog, feed_server, *targets, title="Fresh news") -> None:
    blog.add_post("Old post")
    add_feed(settings, feed_server.url)
    for platform, server, options in targets:
        add_target(settings, platform, server, **options)
    blog.add_post(title, "<p>First sentence of the news. Second sentence with more.</p>")
    poll(settings)


def test_news_reaches_every_target_once_and_the_baseline_never(settings, blog, feed_server, fakes):
    _news(settings, blog, feed_server, *[(p, fakes[p], {}) for p in PLATFORMS])
    for platform in PLATFORMS:
        assert posted(platform, fakes[platform]) == 1, platform
    mastodon_text = fakes["mastodon"].statuses[0]["text"]
    assert "Fresh news" in mastodon_text and "/post-2.html" in mastodon_text and "Old post" not in mastodon_text
    record = next(iter(fakes["bluesky"].records.values()))
    assert record["embed"]["external"]["uri"].endswith("/post-2.html")
    assert record["facets"][0]["features"][0]["uri"].endswith("/post-2.html")
    event = next(iter(fakes["webhook"].events.values()))
    assert event["event"] == "post.published" and event["post"]["title"] == "Fresh news"
    assert "First sentence" in event["post"]["content_html"]

    poll(settings)  # nothing new: nothing posted again
    with session_scope() as session:
        report = crosspost_status.status(session)
    assert report["counts"]["posted"] == 3 and sum(report["counts"].values()) == 3
    assert {r["target"]: bool(r["remote_url"]) for r in report["crossposts"]} == dict.fromkeys(PLATFORMS, True)
    for platform in PLATFORMS:
        assert posted(platform, fakes[platform]) == 1


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_target_answering_5xx_then_200_gets_exactly_one_post(settings, blog, feed_server, fakes, platform, status):
    fakes[platform].fail(*WRITE[platform], Fault(status=status))
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    (row,) = _rows()
    assert (row.status, posted(platform, fakes[platform])) == ("retrying", 0)
    assert str(status) in row.last_error
    _retry_due(settings)
    (row,) = _rows()
    assert row.status == "posted" and row.attempts == 2 and row.remote_url
    assert posted(platform, fakes[platform]) == 1
    assert len(fakes[platform].calls(*WRITE[platform])) == 2


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_target_timing_out_after_it_stored_the_post_gets_no_second_one(settings, blog, feed_server, fakes,
                                                                         platform):
    fakes[platform].fail(*WRITE[platform], Fault(delay=2.5))  # stores it, answers after our 1 s timeout
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    (row,) = _rows()
    assert row.status == "retrying" and "in time" in row.last_error
    assert posted(platform, fakes[platform]) == 1  # it was stored
    _retry_due(settings)
    (row,) = _rows()
    assert row.status == "posted"
    assert posted(platform, fakes[platform]) == 1  # the retry was the same request (same key), not a second post


def test_after_mastodon_forgot_the_key_the_status_is_found_not_posted_again(settings, blog, feed_server,
                                                                             mastodon, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CROSSPOST_IDEMPOTENCY_SECONDS", "0")
    from publisher.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    mastodon.fail(*WRITE["mastodon"], Fault(delay=2.5))
    _news(settings, blog, feed_server, ("mastodon", mastodon, {}))
    ours = mastodon.statuses[0]
    # The author had tooted the link by hand the day before: that status is not ours.
    by_hand = {**ours, "id": "1", "created_at": (utcnow() - timedelta(days=1)).isoformat(), "text": "mine"}
    mastodon.statuses.insert(0, by_hand)
    mastodon.forget_keys()  # more than an hour later
    _retry_due(settings)
    (row,) = _rows()
    assert row.status == "posted" and len(mastodon.statuses) == 2
    assert row.remote_id == ours["id"]
    assert len(mastodon.calls(*WRITE["mastodon"])) == 1  # found among the recent statuses: no second POST


def test_a_status_the_author_made_by_hand_before_is_not_taken_for_ours(settings, blog, feed_server, mastodon,
                                                                       monkeypatch):
    monkeypatch.setenv("PUBLISHER_CROSSPOST_IDEMPOTENCY_SECONDS", "0")
    from publisher.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    mastodon.fail(*WRITE["mastodon"], Fault(status=504))  # nothing stored
    _news(settings, blog, feed_server, ("mastodon", mastodon, {}))
    link = blog.posts[-1].link
    mastodon.statuses.append({"id": "1", "created_at": (utcnow() - timedelta(days=1)).isoformat(),
                              "content": f'<p>Read <a href="{link}">{link}</a></p>', "url": "x", "text": link})
    _retry_due(settings)
    (row,) = _rows()
    assert row.status == "posted" and row.remote_id != "1" and len(mastodon.statuses) == 2


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_rate_limits_are_honoured(settings, blog, feed_server, fakes, platform):
    reset = utcnow().replace(microsecond=0) + timedelta(minutes=7)
    headers = {"mastodon": {"X-RateLimit-Reset": reset.isoformat()},
               "bluesky": {"RateLimit-Reset": str(int(reset.timestamp()))}}[platform]
    fakes[platform].fail(*WRITE[platform], Fault(status=429, headers=headers))
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    (row,) = _rows()
    assert row.status == "retrying" and row.next_attempt_at == reset
    _retry_due(settings)  # not due yet: nothing sent
    assert len(fakes[platform].calls(*WRITE[platform])) == 1


@pytest.mark.parametrize("max_characters", [120, 500, 5000])
def test_the_instance_limit_is_what_the_status_is_fitted_to(settings, blog, feed_server, max_characters):
    from mastodon import Mastodon

    from tests.support.fake_mastodon import FakeMastodon

    body = "<p>" + "A sentence of the long article, with several words. " * 200 + "</p>"
    with FakeMastodon(max_characters=max_characters) as mastodon:
        blog.add_post("Old post")
        add_feed(settings, feed_server.url)
        add_target(settings, "mastodon", mastodon)
        blog.add_post("Long article", body)
        poll(settings)
        (status,) = mastodon.statuses  # the instance refuses (422) what is over its limit
    length = Mastodon.get_status_length(status["text"])
    assert max_characters - 60 < length <= max_characters  # whole sentences of ~52 characters: close to it


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_edited_post_is_not_posted_again(settings, blog, feed_server, fakes, platform):
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    blog.posts[-1].body = "<p>Fixed a typo in the first sentence. Second sentence with more.</p>"
    poll(settings)
    with session_scope() as session:
        assert session.scalar(select(Post).where(Post.title == "Fresh news")).last_changed_at is not None
    assert posted(platform, fakes[platform]) == 1 and len(fakes[platform].calls(*WRITE[platform])) == 1
    assert [r.status for r in _rows()] == ["posted"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_target_that_edits_edits_the_existing_post(settings, blog, feed_server, fakes, platform):
    _news(settings, blog, feed_server, (platform, fakes[platform], {"on_edit": "edit"}))
    blog.posts[-1].body = "<p>Fixed a typo in the first sentence. Second sentence with more.</p>"
    poll(settings)
    assert posted(platform, fakes[platform]) == (2 if platform == "webhook" else 1)
    if platform == "mastodon":
        assert "Fixed a typo" in fakes[platform].statuses[0]["text"] and fakes[platform].statuses[0]["edited_at"]
    elif platform == "bluesky":
        (record,) = fakes[platform].records.values()
        assert "Fixed a typo" in record["text"]
    else:
        assert [e["event"] for e in fakes[platform].events.values()] == ["post.published", "post.updated"]
    (row,) = _rows()
    assert row.status == "posted" and "Fixed a typo" in row.text


def test_a_target_posts_only_the_feeds_it_follows_and_nothing_too_old(settings, blog, feed_server, fakes,
                                                                       tmp_path):
    from tests.support.feeds import Blog, FeedServer

    other_blog = Blog(title="Other")
    other_blog.add_post("Other old")
    with FeedServer(other_blog) as other:
        add_feed(settings, other.url)
        _news(settings, blog, feed_server, ("mastodon", fakes["mastodon"], {"feeds": [other.url]}),
              ("webhook", fakes["webhook"], {"max_age_hours": 1}))
    assert posted("mastodon", fakes["mastodon"]) == 0  # follows the other feed only
    assert posted("webhook", fakes["webhook"]) == 0  # the post is a day and more old
    (row,) = _rows()
    assert row.status == "skipped" and "older than" in row.last_error


def test_a_post_reaching_a_target_through_two_feeds_is_posted_once(settings, blog, feed_server, fakes):
    """Blogger's Atom feed and its ?alt=rss twin both added: one post on each account."""
    blog.add_post("Old post")
    add_feed(settings, feed_server.url)
    add_feed(settings, feed_server.rss_url)
    for platform in PLATFORMS:
        add_target(settings, platform, fakes[platform])
    blog.add_post("Twice fed")
    poll(settings)
    poll(settings)
    for platform in PLATFORMS:
        assert posted(platform, fakes[platform]) == 1, platform
    assert sorted(r.status for r in _rows()) == ["posted"] * 3 + ["skipped"] * 3


@pytest.mark.parametrize("platform,status,words", [
    ("webhook", 400, "400"), ("webhook", 410, "410"), ("mastodon", 422, "422"),
    ("mastodon", 401, "credentials"), ("bluesky", 400, "400")])
def test_a_4xx_gives_up_with_the_reason(settings, blog, feed_server, fakes, platform, status, words):
    fakes[platform].fail(*WRITE[platform], Fault(status=status, body={"error": "Nope: refused here"}))
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    (row,) = _rows()
    assert row.status == "failed" and words in row.last_error and "refused here" in row.last_error
    _retry_due(settings)
    assert len(fakes[platform].calls(*WRITE[platform])) == 1


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
@pytest.mark.parametrize("body", [{}, {"id": None, "url": 3, "uri": 7}, {"id": True, "uri": "at://elsewhere"}, [],
                                  "not json", "null"])
def test_an_answer_not_of_the_api_shape_is_retried_not_taken_for_a_post(settings, blog, feed_server, fakes,
                                                                        platform, body):
    fakes[platform].fail(*WRITE[platform], Fault(status=200, body=body.encode() if isinstance(body, str) else body))
    _news(settings, blog, feed_server, (platform, fakes[platform], {}))
    (row,) = _rows()
    assert row.status == "retrying" and "unexpected answer" in row.last_error
    _retry_due(settings)
    assert [r.status for r in _rows()] == ["posted"] and posted(platform, fakes[platform]) == 1


def test_bluesky_sessions_are_kept_refreshed_and_renewed(settings, blog, feed_server, bluesky):
    _news(settings, blog, feed_server, ("bluesky", bluesky, {}))
    assert bluesky.logins == 1
    bluesky.expire_access_tokens()
    blog.add_post("Second news")
    poll(settings)
    assert bluesky.logins == 1 and len(bluesky.calls("POST", "/xrpc/com.atproto.server.refreshSession")) == 1
    bluesky.expire_access_tokens()
    bluesky.expire_refresh_tokens()
    blog.add_post("Third news")
    poll(settings)
    assert bluesky.logins == 2 and len(bluesky.records) == 3


def test_two_workers_on_one_row_post_once(settings, blog, feed_server, mastodon):
    mastodon.fail(*WRITE["mastodon"], Fault(status=503))
    _news(settings, blog, feed_server, ("mastodon", mastodon, {}))
    with session_scope() as session:
        ids = crossposting.sweep(session, settings)
    results = []

    def work():
        with session_scope() as session:
            results.append(crossposting.deliver(session, settings, ids[0]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, None, None, "posted"]
    assert len(mastodon.statuses) == 1


def test_every_state_change_is_an_event(settings, blog, feed_server, mastodon):
    mastodon.fail(*WRITE["mastodon"], Fault(status=504))
    _news(settings, blog, feed_server, ("mastodon", mastodon, {}))
    _retry_due(settings)
    with session_scope() as session:
        events = [e.status for e in session.scalars(select(CrosspostEvent).order_by(CrosspostEvent.id))]
    assert events == ["pending", "sending", "retrying", "pending", "sending", "posted"]


def test_credentials_sealed_under_another_secret_key_fail_the_row_with_what_to_do(settings, blog, feed_server,
                                                                                  mastodon, monkeypatch):
    from publisher.config import get_settings

    blog.add_post("Old post")
    add_feed(settings, feed_server.url)
    add_target(settings, "mastodon", mastodon)
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "another-key-" * 4)
    get_settings.cache_clear()
    blog.add_post("Fresh news")
    poll(get_settings())
    (row,) = _rows()
    assert row.status == "failed" and "PUBLISHER_SECRET_KEY changed" in row.last_error
    assert "add it again" in row.last_error and mastodon.requests == []


def test_secrets_are_encrypted_at_rest_and_never_listed(settings, fakes):
    for platform in PLATFORMS:
        add_target(settings, platform, fakes[platform])
    with session_scope() as session:
        stored = " ".join(str(v) for row in session.execute(text("SELECT * FROM crosspost_targets")) for v in row)
        listed = str(crosspost_targets.list_targets(session))
    for secret in ("mastodon-token", "app-pass-word", "webhook-secret"):
        assert secret not in stored and secret not in listed

