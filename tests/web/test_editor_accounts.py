"""API tokens (made on the page, shown once, stored as SHA-256, revocable, usable as Bearer; the legacy
PUBLISHER_API_TOKEN still works), roles (admins manage editors and read the audit log; editors may not),
removing an editor ends their sessions and tokens, and the audit log records who did what."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import ApiToken, AuditEntry
from tests.support.editors import ADMIN, EDITOR, log_in, make_api_token, make_editor
from tests.support.ledger import make_send


def _new_client(app) -> TestClient:
    return TestClient(app, base_url="https://news.example.org")


def test_a_token_is_shown_once_stored_hashed_usable_and_revocable(app, client):
    make_editor(EDITOR)
    csrf = log_in(client, EDITOR)
    made = client.post("/editor/tokens", data={"name": "deploy script", "csrf_token": csrf})
    assert made.status_code == 201 and "shown only once" in made.text
    token = re.search(r'value="(pub_[A-Za-z0-9_-]{40,})"', made.text).group(1)
    assert token not in client.get("/editor/tokens").text  # never shown again
    with session_scope() as session:
        row = session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        dump = "\n".join(str(r) for r in session.execute(text("SELECT * FROM api_tokens")))
    assert token not in dump and token[4:] not in dump  # the database holds no usable token

    api = _new_client(app)
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/sends", headers=bearer).status_code == 200
    assert api.get("/editor/tokens", headers=bearer).status_code == 200  # pages accept it too
    revoke = client.post(f"/editor/tokens/{row.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert revoke.status_code == 303
    assert api.get("/api/sends", headers=bearer).status_code == 401
    assert "revoked" in client.get("/editor/tokens").text


def test_an_editor_cannot_revoke_someone_elses_token(app, client):
    make_editor(EDITOR)
    make_editor(ADMIN)
    admins_token = make_api_token(ADMIN)
    with session_scope() as session:
        token_id = session.scalar(select(ApiToken.id))
    csrf = log_in(client, EDITOR)
    assert client.post(f"/editor/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert _new_client(app).get("/api/sends", headers={"Authorization": f"Bearer {admins_token}"}).status_code == 200


def test_the_legacy_api_token_still_works_as_an_admin(app, monkeypatch):
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "legacy-token-of-old-scripts")
    get_settings.cache_clear()
    api = _new_client(app)
    legacy = {"Authorization": "Bearer legacy-token-of-old-scripts"}
    assert api.get("/api/sends", headers=legacy).status_code == 200
    assert api.get("/editor/audit", headers=legacy).status_code == 200
    assert api.get("/api/sends", headers={"Authorization": "Bearer legacy-token-of-old-script"}).status_code == 401


def test_only_admins_manage_editors_and_read_the_audit_log(app, client):
    make_editor(EDITOR)
    make_editor(ADMIN)
    csrf = log_in(client, EDITOR)
    assert client.get("/editor/editors").status_code == 403
    assert client.get("/editor/audit").status_code == 403
    grab = client.post("/editor/editors", data={"email": "mine@example.org", "password": "a long password",
                                                "is_admin": "true", "csrf_token": csrf})
    assert grab.status_code == 403
    assert client.post("/editor/editors/remove", data={"email": ADMIN.email, "csrf_token": csrf}).status_code == 403
    page = client.get("/editor/tokens").text
    assert 'href="/editor/editors"' not in page and 'href="/editor/audit"' not in page  # not offered either
    bearer = {"Authorization": f"Bearer {make_api_token(EDITOR)}"}
    assert _new_client(app).get("/editor/editors", headers=bearer).status_code == 403


def test_an_admin_adds_and_removes_editors_and_the_removed_are_locked_out(app, client):
    make_editor(ADMIN)
    csrf = log_in(client, ADMIN)
    added = client.post("/editor/editors", data={"email": "New@Example.org", "password": "their first pass",
                                                 "csrf_token": csrf})
    assert added.status_code == 201 and "Added new@example.org as editor" in added.text
    short = client.post("/editor/editors", data={"email": "x@example.org", "password": "short", "csrf_token": csrf})
    assert short.status_code == 400 and "at least 10 characters" in short.text
    again = client.post("/editor/editors", data={"email": "new@example.org", "password": "their first pass",
                                                 "csrf_token": csrf})
    assert again.status_code == 400 and "already exists" in again.text

    newcomer = _new_client(app)
    from tests.support.editors import Account
    log_in(newcomer, Account("new@example.org", "their first pass"))
    token = make_api_token(Account("new@example.org", ""))
    removed = client.post("/editor/editors/remove", data={"email": "new@example.org", "csrf_token": csrf},
                          follow_redirects=False)
    assert removed.status_code == 303
    assert newcomer.get("/editor/tokens").status_code == 401  # the session died with the account
    assert _new_client(app).get("/api/sends", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    last = client.post("/editor/editors/remove", data={"email": ADMIN.email, "csrf_token": csrf})
    assert last.status_code == 400 and "last admin" in last.text


def test_the_audit_log_says_who_did_what(app, client):
    make_editor(ADMIN)
    with session_scope() as session:
        digest_id = make_send(session, ["a@example.com", "b@example.com"])
    csrf = log_in(client, ADMIN)
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/api/sends/{digest_id}/pause", headers=headers).status_code == 200
    assert client.post(f"/api/sends/{digest_id}/cancel", headers=headers).status_code == 200
    client.post("/editor/tokens", data={"name": "ci", "csrf_token": csrf})
    with session_scope() as session:
        entries = [(e.actor, e.action, e.target) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries == [
        ("cli", "editor_added", ADMIN.email),
        (ADMIN.email, "login", ADMIN.email),
        (ADMIN.email, "paused", f"digest #{digest_id}"),
        (ADMIN.email, "cancelled", f"digest #{digest_id}"),
        (ADMIN.email, "token_created", entries[-1][2]),
    ]
    page = client.get("/editor/audit").text
    assert f"digest #{digest_id}" in page and "cancelled_recipients: 2" in page
    only = client.get("/editor/audit", params={"action": "paused"}).text
    assert "paused" in only and "token_created" not in only


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>@example.org", "a@example.org\r\nX: y"])
def test_hostile_addresses_are_refused_and_shown_escaped(client, hostile):
    make_editor(ADMIN)
    csrf = log_in(client, ADMIN)
    answer = client.post("/editor/editors", data={"email": hostile, "password": "a long password", "csrf_token": csrf})
    assert answer.status_code == 400
    assert "<script>alert(1)" not in answer.text
