"""The REST API as a script uses it, with an editor's API token: a feed checked and added from a local HTTP
server, a list created and edited, a subscriber added and imported, the next digest previewed with an intro
note, linted, test-sent and sent to a real SMTP server, its progress and history read; every refusal is JSON
with a message, with the status of the one mapping."""

from __future__ import annotations

import pytest

from publisher.db import session_scope
from publisher.errors import (
    AlreadyExistsError,
    FeedMovedError,
    InvalidInputError,
    MailerAuthError,
    NotFoundError,
    PublisherError,
    RateLimitedError,
    StateError,
)
from publisher.services import feeds as feed_service
from publisher.services import watched_feeds
from publisher.web.errors import status_of
from tests.support.editors import ADMIN, EDITOR, make_api_token, make_editor

V1 = "/api/v1"


@pytest.fixture
def token(settings):
    return make_api_token(make_editor(ADMIN))


@pytest.fixture
def api(client, token):
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _list_with_reader(api, feed_server, blog) -> int:
    blog.add_post("Old post", "<p>Baseline.</p>")
    created = api.post(f"{V1}/lists", json={"name": "news", "feeds": [feed_server.url], "cadence": "weekly",
                                            "send_at": "09:30", "timezone": "Europe/Paris", "day": "friday"})
    assert created.status_code == 201, created.text
    assert created.json()["added_feeds"] == [feed_server.url]
    list_id = created.json()["list"]["id"]
    added = api.post(f"{V1}/lists/{list_id}/subscribers", json={"email": "dana@example.com", "name": "Dana",
                                                                 "confirmed": True})
    assert added.status_code == 201 and added.json()["status"] == "confirmed"
    return list_id


def test_a_feed_is_checked_without_being_stored_then_added_paused_resumed_removed(api, feed_server, blog):
    blog.add_post("Knitting a seamless yoke")
    checked = api.post(f"{V1}/feeds/check", json={"url": feed_server.url})
    assert checked.status_code == 200 and [p["title"] for p in checked.json()["posts"]] == ["Knitting a seamless yoke"]
    assert api.get(f"{V1}/feeds").json() == []  # the check stored nothing
    added = api.post(f"{V1}/feeds", json={"url": feed_server.url, "name": "Yarn Blog"})
    assert added.status_code == 201 and added.json()["baseline"] == 1
    feed_id = added.json()["feed"]["id"]
    assert api.post(f"{V1}/feeds/{feed_id}/pause").json()["status"] == "paused"
    assert api.post(f"{V1}/feeds/{feed_id}/resume").json()["status"] == "active"
    again = api.post(f"{V1}/feeds", json={"url": feed_server.url})
    assert again.status_code == 409 and "already added" in again.json()["detail"]
    assert api.delete(f"{V1}/feeds/{feed_id}").status_code == 204
    assert api.get(f"{V1}/feeds").json() == []


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd", "ftp://example.org/feed"])
def test_the_feed_check_reads_no_local_file(api, url):
    answer = api.post(f"{V1}/feeds/check", json={"url": url})
    assert answer.status_code == 422 and "root:" not in answer.text


def test_a_list_is_created_shown_edited_and_its_feed_cannot_be_removed_under_it(api, feed_server, blog):
    list_id = _list_with_reader(api, feed_server, blog)
    shown = api.get(f"{V1}/lists/{list_id}").json()
    assert (shown["cadence"], shown["send_at"], shown["timezone"], shown["day"]) == \
        ("weekly", "09:30", "Europe/Paris", "friday")
    assert shown["subscribers"] == {"pending": 0, "confirmed": 1, "unsubscribed": 0}
    assert 'action="https://news.example.org/subscribe/news"' in shown["snippet"]
    edited = api.patch(f"{V1}/lists/{list_id}", json={"content_mode": "excerpt", "sender": "Blog <n@example.org>"})
    assert edited.status_code == 200 and edited.json()["content_mode"] == "excerpt"
    assert edited.json()["sender"] == "Blog <n@example.org>"
    scheduled = api.put(f"{V1}/lists/{list_id}/schedule", json={"cadence": "daily", "send_at": "07:00"}).json()
    assert (scheduled["cadence"], scheduled["send_at"], scheduled["timezone"]) == ("daily", "07:00", "UTC")
    bad = api.patch(f"{V1}/lists/{list_id}", json={"timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json() == {"error": "invalid input",
                                                      "detail": "unknown time zone 'Mars/Olympus'; use an IANA "
                                                                "name like Europe/Paris"}
    taken = api.post(f"{V1}/lists", json={"name": "news", "feeds": [feed_server.url]})
    assert taken.status_code == 409 and taken.json()["error"] == "already exists"
    feed_id = api.get(f"{V1}/feeds").json()[0]["id"]
    refused = api.delete(f"{V1}/feeds/{feed_id}")
    assert refused.status_code == 409 and "used by list(s) news" in refused.json()["detail"]


def test_subscribers_search_import_export_suppress_and_only_admins_wipe(api, client, feed_server, blog):
    list_id = _list_with_reader(api, feed_server, blog)
    assert [s["email"] for s in api.get(f"{V1}/subscribers", params={"q": "DANA"}).json()["subscribers"]] == \
        ["dana@example.com"]
    report = api.post(f"{V1}/lists/{list_id}/subscribers/import",
                      files={"file": ("people.csv", b"email,name\nerin@example.com,Erin\nnot-an-address,Bad\n",
                                      "text/csv")}).json()
    assert report["added"] == 1 and len(report["errors"]) == 1 and report["errors"][0].startswith("line 3")
    export = api.get(f"{V1}/lists/{list_id}/subscribers/export")
    assert export.headers["content-type"].startswith("text/csv") and "erin@example.com" in export.text
    assert api.post(f"{V1}/suppressions", json={"email": "erin@example.com"}).status_code == 204
    found = api.get(f"{V1}/subscribers", params={"q": "erin", "list_id": list_id}).json()["subscribers"]
    assert [s["status"] for s in found] == ["unsubscribed"]
    refused = api.post(f"{V1}/lists/{list_id}/subscribers", json={"email": "erin@example.com"})
    assert refused.status_code == 422 and "suppression list" in refused.json()["detail"]
    editor_token = make_api_token(make_editor(EDITOR))
    as_editor = client.post(f"{V1}/subscribers/wipe", json={"email": "dana@example.com"},
                            headers={"Authorization": f"Bearer {editor_token}"})
    assert as_editor.status_code == 403
    wiped = api.post(f"{V1}/subscribers/wipe", json={"email": "dana@example.com"}, headers={
        "Authorization": api.headers["Authorization"]})
    assert wiped.status_code == 200 and wiped.json()["erased"]["subscribers"] == 1
    assert api.get(f"{V1}/subscribers", params={"q": "dana"}).json()["total"] == 0


def test_the_next_digest_is_previewed_with_its_note_test_sent_sent_and_followed(api, settings, feed_server,
                                                                              blog, smtp):
    list_id = _list_with_reader(api, feed_server, blog)
    blog.add_post("Fresh stitches", "<p>New today.</p>")
    with session_scope() as session:
        feed_service.poll_feeds(session, settings, feed_service.feeds_by_id(
            session, [f.id for f in watched_feeds.feed_health(session)]))
    draft = api.put(f"{V1}/lists/{list_id}/next/draft",
                    json={"subject": "This week", "intro_note": "Hello from the editor."})
    assert draft.json() == {"subject": "This week", "intro_note": "Hello from the editor."}
    preview = api.get(f"{V1}/lists/{list_id}/next").json()
    assert preview["post_count"] == 1 and not preview["only_old_posts"] and preview["subject"] == "This week"
    assert "Hello from the editor." in preview["html"] and "Hello from the editor." in preview["text"]
    assert "Fresh stitches" in api.get(f"{V1}/lists/{list_id}/next/html").text
    assert "Fresh stitches" in api.get(f"{V1}/lists/{list_id}/next/text").text
    assert api.get(f"{V1}/lists/{list_id}/next/lint").json()["unsupported"] == 0
    test = api.post(f"{V1}/lists/{list_id}/next/test", json={"to": "editor@example.org"})
    assert test.status_code == 200 and test.json()["subject"] == "[Test] This week"
    assert [list(m.rcpt_tos) for m in smtp.messages] == [["editor@example.org"]]
    sent = api.post(f"{V1}/lists/{list_id}/next/send")
    assert sent.status_code == 202 and sent.json()["recipients"] == 1
    digest_id = sent.json()["digest_id"]
    progress = api.get(f"{V1}/sends/{digest_id}").json()
    assert (progress["status"], progress["sent"], progress["failed"]) == ("sent", 1, 0)
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == ["dana@example.com", "editor@example.org"]
    assert api.post(f"{V1}/sends/{digest_id}/pause").status_code == 409  # it is over
    nothing = api.post(f"{V1}/lists/{list_id}/next/send").json()
    assert nothing["digest_id"] is None
    [past] = api.get(f"{V1}/history", params={"list_id": list_id}).json()
    assert (past["digest_id"], past["subject"], past["recipients"], past["sent"], past["unsubscribes"]) == \
        (digest_id, "This week", 1, 1, 0)


def test_unknown_things_are_404_with_a_message(api):
    for path in (f"{V1}/lists/999", f"{V1}/lists/999/next", f"{V1}/sends/999"):
        answer = api.get(path)
        assert answer.status_code == 404 and answer.json()["error"] == "not found", path
        assert answer.json()["detail"]
    assert api.post(f"{V1}/feeds/999/pause").status_code == 404


def test_the_legacy_sends_api_keeps_working(api):
    assert api.get("/api/sends").json() == []
    assert api.get("/api/sends/999").status_code == 404


def test_one_mapping_gives_each_typed_error_its_status():
    assert status_of(NotFoundError("x"))[0] == 404
    assert status_of(FeedMovedError("x", url="u"))[0] == 409 == status_of(AlreadyExistsError("x"))[0]
    assert status_of(StateError("x"))[0] == 409
    assert status_of(InvalidInputError("x"))[0] == 422
    assert status_of(RateLimitedError("x"))[0] == 429
    assert status_of(MailerAuthError("x"))[0] == 502
    assert status_of(PublisherError("x"))[0] == 400


def test_the_openapi_document_describes_every_v1_route(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/feeds", "/api/v1/lists", "/api/v1/subscribers", "/api/v1/lists/{list_id}/next",
            "/api/v1/lists/{list_id}/next/send", "/api/v1/sends/{digest_id}", "/api/v1/history"} <= set(paths)
