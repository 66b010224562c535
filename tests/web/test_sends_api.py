"""The editor API for sends: refused without a token, refuses a wrong one, and pauses, resumes and cancels."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import controls
from publisher.web.app import create_app
from tests.support.ledger import ledger_settings, make_send, open_session


@pytest.fixture
def api(tmp_path, monkeypatch):
    settings = ledger_settings(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "editor-token")
    monkeypatch.setenv("PUBLISHER_DATA_DIR", str(tmp_path / ".publisher"))
    get_settings.cache_clear()
    with open_session(settings) as session:
        digest_id = make_send(session, ["a@example.com", "b@example.com"])
    yield TestClient(create_app()), digest_id
    get_settings.cache_clear()


AUTH = {"Authorization": "Bearer editor-token"}


def test_the_api_needs_the_token(api, monkeypatch):
    client, digest_id = api
    assert client.get(f"/api/sends/{digest_id}").status_code == 401
    assert client.post(f"/api/sends/{digest_id}/pause", headers={"Authorization": "Bearer nope"}).status_code == 401
    monkeypatch.delenv("PUBLISHER_API_TOKEN")
    get_settings.cache_clear()
    assert client.get(f"/api/sends/{digest_id}", headers=AUTH).status_code == 401  # unset: that token is no key


def test_pause_and_cancel_through_the_api(api):
    client, digest_id = api
    state = client.get(f"/api/sends/{digest_id}", headers=AUTH).json()
    assert (state["status"], state["pending"], state["recipients"]) == ("sending", 2, 2)
    assert client.post(f"/api/sends/{digest_id}/pause", headers=AUTH).json()["status"] == "paused"
    assert client.post(f"/api/sends/{digest_id}/pause", headers=AUTH).status_code == 409  # already paused
    with session_scope() as session:
        assert controls.progress(session, digest_id).status == "paused"
    cancelled = client.post(f"/api/sends/{digest_id}/cancel", headers=AUTH).json()
    assert (cancelled["status"], cancelled["cancelled_recipients"]) == ("cancelled", 2)
    assert client.get("/api/sends/999", headers=AUTH).status_code == 404
