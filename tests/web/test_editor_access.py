"""Every editor page and API route refuses anyone without credentials (walked from the app's own route table,
so a route added tomorrow is checked too), and a forged cookie or token is no credential."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from publisher.web.auth import LOGIN_PATH
from tests.support.editors import EDITOR, log_in, make_editor

PUBLIC_UNDER_EDITOR = {"/editor/login"}  # the one editor page an anonymous visitor may see


def _protected(app) -> list[tuple[str, str]]:
    """(method, path) of every route under /editor, /api/v1, /ops and the legacy /api/sends, path parameters
    as 1."""
    found = []
    for route in iter_route_contexts(app.routes):
        path, methods = route.path, route.methods or set()
        if not path or not (path.startswith(("/editor", "/api/v1", "/api/sends", "/ops"))) or path in PUBLIC_UNDER_EDITOR:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        found += [(method, concrete) for method in sorted(methods - {"HEAD"})]
    return found


def _refused(answer) -> bool:
    if answer.status_code == 303:
        return answer.headers["location"].startswith(f"{LOGIN_PATH}?next=")
    return answer.status_code in (401, 403)


@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml", "application/json"])
def test_every_editor_and_api_route_refuses_anonymous_requests(app, client, accept):
    routes = _protected(app)
    assert len(routes) >= 10, routes  # the walk found the routes (a broken walk must not pass vacuously)
    for method, path in routes:
        answer = client.request(method, path, headers={"Accept": accept}, follow_redirects=False)
        assert _refused(answer), (method, path, answer.status_code, answer.text[:200])
        if answer.status_code == 401:
            assert answer.json()["error"] == "authentication required"
            assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_forged_cookies_and_tokens_are_refused(app, client):
    forged = [{"Cookie": "publisher_session=" + "A" * 43}, {"Authorization": "Bearer pub_" + "A" * 43},
              {"Authorization": "Bearer "}, {"Authorization": "Basic YWRtaW46YWRtaW4="}]
    for method, path in _protected(app):
        for headers in forged:
            answer = client.request(method, path, headers={"Accept": "application/json", **headers})
            assert answer.status_code in (401, 403), (method, path, headers, answer.status_code)


def test_a_browser_is_sent_to_login_and_back(client):
    make_editor(EDITOR)
    answer = client.get("/editor/tokens?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/editor/login?next=/editor/tokens%3Fx%3D1"
    log_in(client, EDITOR, next_path="/editor/tokens?x=1")
    assert client.get("/editor/tokens", headers={"Accept": "text/html"}).status_code == 200


def test_an_expired_session_is_no_session(client, settings, monkeypatch):
    from datetime import timedelta

    from publisher.db import session_scope
    from publisher.models import EditorSession
    from publisher.models.base import utcnow

    make_editor(EDITOR)
    log_in(client, EDITOR)
    with session_scope() as session:
        for row in session.query(EditorSession):
            row.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/editor/tokens").status_code == 401


def test_htmx_requests_of_an_expired_session_take_the_page_to_login(client):
    answer = client.get("/editor/tokens", headers={"HX-Request": "true",
                                                   "HX-Current-URL": "https://news.example.org/editor/tokens"})
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/editor/login?next=/editor/tokens"
