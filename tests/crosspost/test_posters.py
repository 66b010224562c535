"""The posters on their own: every outbound request goes through the SSRF guard (instance, service, webhook,
thumbnail); the Bluesky card's thumbnail is fetched and uploaded, or left out when it cannot be used."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
import pytest

from publisher.crosspost.bluesky import BlueskyPoster, record_key
from publisher.crosspost.mastodon import MastodonPoster
from publisher.crosspost.poster import Publication
from publisher.crosspost.summary import BLUESKY, MASTODON, WEBHOOK, PostView, write_summary
from publisher.crosspost.webhook import WebhookPoster
from publisher.errors import CrosspostRefusedError
from publisher.ingest.ssrf import Policy, make_client
from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_http import FakeService
from tests.support.fake_mastodon import FakeMastodon
from tests.support.webhook_receiver import WebhookReceiver

TEMPLATE = jinja2.Template("{{ title }}\n\n{{ summary }}\n\n{{ link }}")
POST = PostView("A post", "https://blog.example.org/a-post.html", "<p>One sentence. Two sentences.</p>")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000


class Images(FakeService):
    def route(self, request):
        if request.path == "/pic.png":
            return 200, {"Content-Type": "image/png"}, PNG
        if request.path == "/huge.png":
            return 200, {"Content-Type": "image/png"}, PNG * 1000
        if request.path == "/page.html":
            return 200, {"Content-Type": "text/html"}, b"<html></html>"
        return 404, {}, {"error": "no"}


def _publication(rules, *, image_url=None, key="publisher-key") -> Publication:
    return Publication(key=key, summary=write_summary(POST, rules, TEMPLATE), document={"title": POST.title},
                       created_at=datetime.now(UTC), revision="rev", image_url=image_url, description="One.")


def _poster(platform: str, server, *, allow: bool):
    client = make_client(allow_private_networks=allow, timeout=5)
    if platform == "mastodon":
        return MastodonPoster(instance=server.url, token=server.token, client=client, policy=Policy(allow_private_networks=allow))
    if platform == "bluesky":
        return BlueskyPoster(service=server.url, handle=server.handle, password=server.password, client=client,
                             policy=Policy(allow_private_networks=allow))
    return WebhookPoster(url=f"{server.url}/hook", secret=server.secret, client=client, policy=Policy(allow_private_networks=allow))


@pytest.mark.parametrize("platform,fake,rules", [("mastodon", FakeMastodon, MASTODON),
                                                 ("bluesky", FakeBluesky, BLUESKY),
                                                 ("webhook", WebhookReceiver, WEBHOOK)])
def test_every_poster_is_refused_a_loopback_target_and_sends_it_nothing(platform, fake, rules):
    with fake() as server:
        poster = _poster(platform, server, allow=False)
        key = record_key(1_700_000_000_000_000, "x") if platform == "bluesky" else "publisher-key"
        for call in (poster.verify, lambda: poster.publish(_publication(rules, key=key))):
            with pytest.raises(CrosspostRefusedError, match="loopback"):
                call()
        poster.close()
        assert server.requests == []


@pytest.mark.parametrize("path,uploaded", [("/pic.png", True), ("/huge.png", False), ("/page.html", False),
                                           ("/missing.png", False)])
def test_the_card_thumbnail_is_uploaded_when_it_is_a_usable_image(path, uploaded):
    with FakeBluesky() as bluesky, Images() as images:
        poster = _poster("bluesky", bluesky, allow=True)
        poster.thumbnail_bytes = 1_000_000
        key = record_key(1_700_000_000_000_000, path)
        poster.publish(_publication(BLUESKY, image_url=f"{images.url}{path}", key=key))
        poster.close()
        external = bluesky.records[key]["embed"]["external"]
        assert external["uri"] == POST.link and external["title"] == "A post"
        assert ("thumb" in external) is uploaded
        if uploaded:
            assert bluesky.blobs[external["thumb"]["ref"]["$link"]] == PNG


def test_a_thumbnail_on_a_private_address_is_never_fetched():
    """A card whose image sits on loopback (or cloud metadata) costs the card its picture; nothing is fetched."""
    with FakeBluesky() as bluesky, Images() as images:
        poster = _poster("bluesky", bluesky, allow=False)
        for url in (f"{images.url}/pic.png", "http://169.254.169.254/latest/meta-data", "file:///etc/passwd"):
            assert poster._thumbnail(url) is None
        poster.close()
        assert images.requests == [] and bluesky.requests == []
