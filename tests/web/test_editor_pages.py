"""The editor's pages through the real app (a logged-in TestClient): a feed checked then added from a local
HTTP server, a list created, subscribers added, imported, searched, exported, suppressed and wiped, the next
digest previewed with an intro note, test-sent to a real SMTP server, sent, and its progress read as JSON."""

from __future__ import annotations

import re

import pytest

from publisher.db import session_scope
from publisher.models import AuditEntry, Digest, MailingList
from tests.support.editors import ADMIN, EDITOR, log_in, make_editor

HTML = {"Accept": "text/html"}


@pytest.fixture
def admin(client, settings):
    make_editor(ADMIN)
    return log_in(client, ADMIN)


def _post(client, path, csrf, **data):
    return client.post(path, data={"csrf_token": csrf, **data}, headers=HTML, follow_redirects=True)


def _list_with_reader(client, csrf, feed_server, blog) -> int:
    blog.add_post("Old post", "<p>Baseline.</p>")
    assert _post(client, "/editor/feeds", csrf, url=feed_server.url).status_code == 200
    answer = _post(client, "/editor/lists", csrf, name="news", feeds=feed_server.url, cadence="weekly",
                   send_at="09:30", timezone="Europe/Paris", day="friday", content_mode="excerpt")
    assert answer.status_code == 200, answer.text
    list_id = int(re.search(r"/editor/lists/(\d+)", str(answer.url)).group(1))
    _post(client, "/editor/subscribers", csrf, email="dana@example.com", name="Dana", list_id=str(list_id),
          confirmed="true")
    return list_id


def test_every_page_loads_for_an_editor(client, admin):
    for path in ("/editor/", "/editor/feeds", "/editor/lists", "/editor/subscribers", "/editor/digests",
                 "/editor/history"):
        answer = client.get(path, headers=HTML)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert 'name="viewport"' in answer.text and "/static/editor-pages.css" in answer.text


def test_a_feed_is_checked_without_being_stored_then_added(client, admin, feed_server, blog):
    blog.add_post("Knitting a seamless yoke")
    checked = _post(client, "/editor/feeds/check", admin, url=feed_server.url)
    assert "What the watcher sees" in checked.text and "Knitting a seamless yoke" in checked.text
    assert "No feed yet." in client.get("/editor/feeds").text  # the check stored nothing
    added = _post(client, "/editor/feeds", admin, url=feed_server.url, name="Yarn Blog")
    assert "Feed added" in added.text and "Yarn Blog" in added.text
    feed_id = re.search(r"/editor/feeds/(\d+)/pause", added.text).group(1)
    assert "Feed paused" in _post(client, f"/editor/feeds/{feed_id}/pause", admin).text
    assert "Feed resumed" in _post(client, f"/editor/feeds/{feed_id}/resume", admin).text


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd", "ftp://example.org/feed"])
def test_the_feed_check_reads_no_local_file(client, admin, url):
    answer = _post(client, "/editor/feeds/check", admin, url=url)
    assert answer.status_code == 400 and "http:// or https://" in answer.text
    assert "root:" not in answer.text


def test_a_list_is_created_with_its_options_and_shows_its_snippet(client, admin, feed_server, blog):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    page = client.get(f"/editor/lists/{list_id}").text
    assert "weekly on friday" in page and "09:30" in page and "Europe/Paris" in page and "excerpts" in page
    assert "action=&#34;https://news.example.org/subscribe/news&#34;" in page  # the snippet, escaped to copy
    assert re.search(r"<dt>confirmed</dt><dd>1</dd>", page)
    refused = _post(client, "/editor/lists", admin, name="bad", feeds=feed_server.url, timezone="Mars/Olympus")
    assert refused.status_code == 400 and "unknown time zone" in refused.text


def test_a_list_is_edited_and_paused(client, admin, feed_server, blog):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    assert "America/New_York" not in client.get("/editor/").text
    edited = _post(client, f"/editor/lists/{list_id}", admin, feeds=feed_server.url, cadence="daily",
                   send_at="18:15", timezone="America/New_York", sender="Yarn <yarn@example.org>",
                   content_mode="full", template="digest", day="monday")
    assert "List saved" in edited.text
    assert "America/New_York" in client.get("/editor/").text  # the dashboard's next digest moved with it
    assert "18:15" in edited.text and "America/New_York" in edited.text and "Yarn &lt;yarn@example.org&gt;" in edited.text
    refused = _post(client, f"/editor/lists/{list_id}", admin, feeds=feed_server.url, send_at="25:00")
    assert refused.status_code == 400 and "HH:MM" in refused.text
    assert "paused" in _post(client, f"/editor/lists/{list_id}/pause", admin).text
    assert "No list is scheduled" in client.get("/editor/").text  # a paused list has no next digest
    with session_scope() as session:
        assert session.get(MailingList, list_id).paused is True
        assert {"list_changed", "list_paused"} <= {e.action for e in session.query(AuditEntry)}


def test_subscribers_search_import_export_suppress_wipe(client, admin, feed_server, blog):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    assert "dana@example.com" in client.get("/editor/subscribers", params={"q": "DANA"}).text
    csv = b"email,name\nerin@example.com,Erin\nnot-an-address,Bad\n"
    report = client.post("/editor/subscribers/import", data={"csrf_token": admin, "list_id": str(list_id)},
                         files={"file": ("people.csv", csv, "text/csv")}).text
    assert "Imported 1, unchanged 0, suppressed 0, rejected 1" in report and "line 3" in report
    export = client.get("/editor/subscribers/export", params={"list": list_id})
    assert export.headers["content-type"].startswith("text/csv") and "erin@example.com" in export.text
    assert "suppressed" in _post(client, "/editor/subscribers/suppress", admin, email="erin@example.com").text
    assert "erin@example.com</td><td>Erin</td><td>news</td>\n      <td>unsubscribed" in \
        client.get("/editor/subscribers", params={"q": "erin"}).text
    mismatch = _post(client, "/editor/subscribers/wipe", admin, email="dana@example.com", confirm="dan@example.com")
    assert mismatch.status_code == 400
    assert "erased" in _post(client, "/editor/subscribers/wipe", admin, email="dana@example.com",
                             confirm="dana@example.com").text
    assert "dana@example.com" not in client.get("/editor/subscribers").text
    with session_scope() as session:
        actions = [e.action for e in session.query(AuditEntry).order_by(AuditEntry.id)]
        assert {"imported", "exported", "suppressed", "wiped"} <= set(actions)
        assert not any("dana@example.com" in (e.target or "") for e in session.query(AuditEntry)
                       if e.action == "wiped")


def test_only_admins_wipe(client, settings, feed_server, blog):
    make_editor(EDITOR)
    csrf = log_in(client, EDITOR)
    assert "Wipe a person" not in client.get("/editor/subscribers").text
    answer = client.post("/editor/subscribers/wipe", data={"csrf_token": csrf, "email": "a@example.com",
                                                           "confirm": "a@example.com"}, headers=HTML)
    assert answer.status_code == 403


def test_a_form_without_its_csrf_token_is_refused(client, admin, feed_server, blog):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    for path, data in [("/editor/feeds", {"url": feed_server.url}),
                       (f"/editor/digests/{list_id}/send", {}),
                       (f"/editor/digests/{list_id}/draft", {"intro_note": "x"}),
                       ("/editor/subscribers/suppress", {"email": "x@example.com"})]:
        assert client.post(path, data=data, headers=HTML, follow_redirects=False).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "wrong"}, headers=HTML,
                           follow_redirects=False).status_code == 403, path


def test_the_digest_page_of_a_list_without_posts_says_so(client, admin, feed_server, blog):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    with session_scope() as session:
        from publisher.models import Post

        session.query(Post).delete()
    answer = client.get(f"/editor/digests/{list_id}")
    assert answer.status_code == 200 and "has no posts" in answer.text
    assert 'name="intro_note"' in answer.text  # the note can be written before there is anything to send


def test_intro_note_preview_test_send_and_send(client, admin, feed_server, blog, smtp):
    list_id = _list_with_reader(client, admin, feed_server, blog)
    blog.add_post("Knitting a seamless yoke", "<p>Start with a provisional cast-on.</p>")
    from publisher.config import get_settings
    from publisher.services.feeds import poll_feeds
    from publisher.models import Feed

    with session_scope() as session:
        poll_feeds(session, get_settings(), list(session.query(Feed)))
    saved = _post(client, f"/editor/digests/{list_id}", admin)  # a GET page: POST is not allowed here
    assert saved.status_code == 405
    saved = _post(client, f"/editor/digests/{list_id}/draft", admin, subject="Yokes <at last>",
                  intro_note="Hello from the workshop!\n\nTwo paragraphs.")
    assert "Saved" in saved.text and "Yokes &lt;at last&gt;" in saved.text
    frame = client.get(f"/editor/digests/{list_id}/preview.html")
    assert "sandbox" in frame.headers["content-security-policy"]
    assert frame.text.index("Hello from the workshop!") < frame.text.index('class="post-title')
    assert "Hello from the workshop!\n\nTwo paragraphs." in saved.text  # the text part, in the page

    tested = _post(client, f"/editor/digests/{list_id}/test", admin, to="ed@example.org")
    assert "Test sent" in tested.text
    [test] = smtp.to("ed@example.org")
    assert test.message["Subject"] == "[Test] Yokes <at last>"
    assert "Hello from the workshop!" in test.message.get_body(("plain",)).get_content()

    sent = _post(client, f"/editor/digests/{list_id}/send", admin)
    digest_id = int(re.search(r"/editor/sends/(\d+)", str(sent.url)).group(1))
    assert "data-progress-url" in sent.text
    progress = client.get(f"/editor/sends/{digest_id}/progress").json()
    assert progress["recipients"] == 1 and set(progress) >= {"sent", "failed", "rate_per_second", "eta_seconds",
                                                             "percent", "status"}
    with session_scope() as session:
        assert session.get(Digest, digest_id).intro_note == "Hello from the workshop!\n\nTwo paragraphs."
        assert "sent" in [e.action for e in session.query(AuditEntry)]
        assert session.query(MailingList).count() == 1


def test_a_send_is_paused_resumed_and_cancelled_from_its_page(client, admin, smtp):
    import time

    from tests.support.ledger import make_send

    with session_scope() as session:
        first = make_send(session, ["a@example.com", "b@example.com"])
        second = make_send(session, ["c@example.com"], list_name="other")
    page = client.get(f"/editor/sends/{first}").text
    assert f'data-progress-url="/editor/sends/{first}/progress"' in page and "Pause" in page
    paused = _post(client, f"/editor/sends/{first}/pause", admin)
    assert "Send paused" in paused.text and client.get(f"/editor/sends/{first}/progress").json()["status"] == "paused"
    again = _post(client, f"/editor/sends/{first}/pause", admin)
    assert again.status_code == 409 and "paused, not sending" in again.text
    assert "Send cancelled" in _post(client, f"/editor/sends/{first}/cancel", admin).text
    state = client.get(f"/editor/sends/{first}/progress").json()
    assert state["status"] == "cancelled" and state["cancelled"] == 2 and state["percent"] == 100.0

    _post(client, f"/editor/sends/{second}/pause", admin)
    assert "Send resumed" in _post(client, f"/editor/sends/{second}/resume", admin).text
    deadline = time.monotonic() + 20
    while client.get(f"/editor/sends/{second}/progress").json()["status"] != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    state = client.get(f"/editor/sends/{second}/progress").json()
    assert (state["status"], state["sent"], state["percent"]) == ("sent", 1, 100.0)
    assert smtp.to("c@example.com") and not smtp.to("a@example.com")
    assert client.get("/editor/sends/999/progress").status_code == 404
    with session_scope() as session:
        actions = [e.action for e in session.query(AuditEntry).order_by(AuditEntry.id)]
        assert ["paused", "cancelled", "paused", "resumed"] == [a for a in actions if a in ("paused", "resumed",
                                                                                            "cancelled")]


def test_the_dashboard_shows_sends_failing_feeds_recent_posts_and_next_digests(client, admin, feed_server, blog):
    from publisher.models import Feed
    from publisher.services.feeds import poll_feeds
    from tests.support.ledger import make_send

    _list_with_reader(client, admin, feed_server, blog)
    blog.add_post("Knitting a seamless yoke")
    with session_scope() as session:
        from publisher.config import get_settings

        poll_feeds(session, get_settings(), list(session.query(Feed)))
        session.add(Feed(url="https://gone.example.org/feed", name="Gone Blog", consecutive_failures=3,
                         last_error="HTTP 410 Gone"))
    with session_scope() as session:
        digest_id = make_send(session, ["a@example.com"], list_name="other")
    board = client.get("/editor/").text
    assert f'href="/editor/sends/{digest_id}">Digest #{digest_id}</a>: sending' in board
    assert "Gone Blog</a>: 3 failure(s) in a row" in board and "HTTP 410 Gone" in board
    assert "Knitting a seamless yoke" in board and "Old post" not in board  # the baseline is no news
    assert re.search(r"<td>news</td><td>weekly</td>\s*<td>Europe/Paris</td><td><time", board)


def test_a_large_csv_imports_and_one_past_the_cap_is_refused(client, admin, feed_server, blog, monkeypatch):
    from fastapi.testclient import TestClient

    from publisher.config import get_settings
    from publisher.web.app import create_app

    list_id = _list_with_reader(client, admin, feed_server, blog)
    rows = "".join(f"reader{n}@example.com,Reader {n}\n" for n in range(6000))  # ~200 KB: past the 16 KB default
    csv = ("email,name\n" + rows).encode()
    report = client.post("/editor/subscribers/import", data={"csrf_token": admin, "list_id": str(list_id)},
                         files={"file": ("big.csv", csv, "text/csv")})
    assert report.status_code == 200 and "Imported 6000, unchanged 0" in report.text

    monkeypatch.setenv("PUBLISHER_MAX_IMPORT_BYTES", str(100 * 1024))
    get_settings.cache_clear()
    capped = TestClient(create_app(), base_url="https://news.example.org", cookies=client.cookies)
    refused = capped.post("/editor/subscribers/import", data={"csrf_token": admin, "list_id": str(list_id)},
                          files={"file": ("big.csv", csv, "text/csv")})
    assert refused.status_code == 413
