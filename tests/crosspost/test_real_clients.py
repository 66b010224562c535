"""The fakes speak the platforms' real API shapes: the real Mastodon.py and atproto clients drive them, and
what our posters send reads back through those clients as the platforms' own data models."""

from __future__ import annotations

import pytest
from atproto import Client, models
from mastodon import Mastodon

from tests.support.fake_bluesky import DID, FakeBluesky
from tests.support.fake_mastodon import FakeMastodon


@pytest.fixture
def mastodon():
    with FakeMastodon(max_characters=640) as server:
        yield server


@pytest.fixture
def bluesky():
    with FakeBluesky() as server:
        yield server


def test_mastodon_py_reads_the_instance_and_posts_idempotently(mastodon):
    client = Mastodon(access_token=mastodon.token, api_base_url=mastodon.url, version_check_mode="none")
    instance = client.instance_v2()
    assert instance.configuration.statuses.max_characters == 640
    assert instance.configuration.statuses.characters_reserved_per_url == 23
    me = client.account_verify_credentials()
    first = client.status_post("Hello from Mastodon.py https://example.org/a", idempotency_key="key-1")
    again = client.status_post("Hello from Mastodon.py https://example.org/a", idempotency_key="key-1")
    assert first.id == again.id and len(mastodon.statuses) == 1
    assert 'href="https://example.org/a"' in first.content
    edited = client.status_update(first.id, "Edited https://example.org/a")
    assert edited.id == first.id and edited.edited_at is not None
    listed = client.account_statuses(me.id, limit=40)
    assert [s.id for s in listed] == [first.id]


def test_mastodon_py_gets_a_422_over_the_limit_and_a_401_with_a_bad_token(mastodon):
    from mastodon.errors import MastodonAPIError, MastodonUnauthorizedError

    client = Mastodon(access_token=mastodon.token, api_base_url=mastodon.url, version_check_mode="none")
    with pytest.raises(MastodonAPIError, match="character limit"):
        client.status_post("x" * 641)
    # URLs count as 23, whatever their length: 600 + 1 + 23 fits 640.
    client.status_post("y" * 600 + " https://example.org/" + "z" * 200)
    with pytest.raises(MastodonUnauthorizedError):
        Mastodon(access_token="wrong", api_base_url=mastodon.url, version_check_mode="none").status_post("hi")


def test_atproto_logs_in_uploads_writes_and_refreshes(bluesky):
    client = Client(base_url=f"{bluesky.url}/xrpc")
    profile = client.login(bluesky.handle, bluesky.password)
    assert profile.handle == bluesky.handle and client.me.did == DID
    blob = client.com.atproto.repo.upload_blob(b"\x89PNG fake image bytes")
    text = "Hello ✨ https://example.org/post"
    link = text.encode().index(b"https://")
    record = models.AppBskyFeedPost.Record(
        text=text, created_at=client.get_current_time_iso(),
        facets=[models.AppBskyRichtextFacet.Main(
            index=models.AppBskyRichtextFacet.ByteSlice(byte_start=link, byte_end=len(text.encode())),
            features=[models.AppBskyRichtextFacet.Link(uri="https://example.org/post")])],
        embed=models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
            uri="https://example.org/post", title="Post", description="A post", thumb=blob.blob)))
    data = models.ComAtprotoRepoPutRecord.Data(repo=DID, collection="app.bsky.feed.post", rkey="3kabcdefghij2",
                                               record=record)
    first = client.com.atproto.repo.put_record(data)
    again = client.com.atproto.repo.put_record(data)  # a retry rewrites the same record
    assert first.uri == again.uri == f"at://{DID}/app.bsky.feed.post/3kabcdefghij2"
    assert len(bluesky.records) == 1
    stored = client.com.atproto.repo.get_record({"repo": DID, "collection": "app.bsky.feed.post",
                                                 "rkey": "3kabcdefghij2"})
    assert stored.value.text == text and stored.value.embed.external.thumb.ref.link == blob.blob.ref.link
    refreshed = client.com.atproto.server.refresh_session(headers=client._get_refresh_auth_headers())
    assert refreshed.did == DID and refreshed.access_jwt != client._session.access_jwt


def test_atproto_sees_the_duplicate_key_bug_of_create_record(bluesky):
    from atproto.exceptions import RequestException

    client = Client(base_url=f"{bluesky.url}/xrpc")
    client.login(bluesky.handle, bluesky.password)
    data = models.ComAtprotoRepoCreateRecord.Data(
        repo=DID, collection="app.bsky.feed.post", rkey="3kabcdefghij3",
        record=models.AppBskyFeedPost.Record(text="once", created_at=client.get_current_time_iso()))
    client.com.atproto.repo.create_record(data)
    with pytest.raises(RequestException) as raised:  # why we write with putRecord
        client.com.atproto.repo.create_record(data)
    assert raised.value.response.status_code == 500


def test_our_bluesky_post_reads_back_as_an_app_bsky_feed_post(bluesky):
    """What BlueskyPoster writes is a valid app.bsky.feed.post by atproto's own models."""
    from datetime import UTC, datetime

    import jinja2

    from publisher.crosspost.bluesky import BlueskyPoster, record_key
    from publisher.crosspost.poster import Publication
    from publisher.crosspost.summary import BLUESKY, PostView, write_summary
    from publisher.ingest.ssrf import Policy, make_client

    post = PostView("Über café ☕", "https://blog.example.org/2025/ueber-cafe.html", "<p>Ein Satz. Zwei Sätze.</p>",
                    ("Kaffee",))
    summary = write_summary(post, BLUESKY, jinja2.Template("{{ title }}\n\n{{ summary }}\n\n{{ link }}\n{{ hashtags|join(' ') }}"))
    key = record_key(1_700_000_000_000_000, "seed")
    poster = BlueskyPoster(service=bluesky.url, handle=bluesky.handle, password=bluesky.password,
                           client=make_client(allow_private_networks=True, timeout=5), policy=Policy(allow_private_networks=True))
    poster.publish(Publication(key=key, summary=summary, document={"title": post.title}, revision="r",
                               created_at=datetime.now(UTC), description="Ein Satz."))
    client = Client(base_url=f"{bluesky.url}/xrpc")
    client.login(bluesky.handle, bluesky.password)
    stored = client.com.atproto.repo.get_record({"repo": DID, "collection": "app.bsky.feed.post", "rkey": key})
    record = models.AppBskyFeedPost.Record.model_validate(stored.value.model_dump(by_alias=True))
    assert record.text == summary.text
    assert {type(f.features[0]).__name__ for f in record.facets} == {"Link", "Tag"}
    assert record.embed.external.uri == post.link


@pytest.mark.parametrize("micros,seed", [(0, "a"), (1_700_000_000_123_456, "b"), (2**52, "post 1 x target 2")])
def test_record_keys_are_valid_tids_and_stable(micros, seed):
    from atproto_client.models.string_formats import TID_RE

    from publisher.crosspost.bluesky import _TID_ALPHABET, record_key

    key = record_key(micros, seed)
    assert key == record_key(micros, seed) and TID_RE.match(key)  # atproto's own TID rule
    value = 0
    for char in key:  # decode the base32-sortable TID: 53 bits of microseconds, then 10 of clock id
        value = value * 32 + _TID_ALPHABET.index(char)
    assert (value >> 10) // 1000 == micros // 1000  # the same millisecond as the ledger row
    assert record_key(micros, seed + "x") != key
