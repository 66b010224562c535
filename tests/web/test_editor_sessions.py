"""Sessions and CSRF: the cookie's flags, a new session at every login, logout that kills the cookie, a
403 for any state-changing request made with the cookie but without the session's CSRF token, and the login
form's own CSRF check. Where a login may lead afterwards."""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi.testclient import TestClient

from publisher.config import get_settings
from tests.support.editors import ADMIN, EDITOR, form_csrf, log_in, login_form_token, make_api_token, make_editor


def _login(client, account, next_path="/editor/tokens"):
    return client.post("/editor/login", data={"email": account.email, "password": account.password,
                                              "csrf_token": login_form_token(client), "next": next_path},
                       follow_redirects=False)


def _session_cookie(answer) -> str:
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith("publisher_session="):
            return header
    raise AssertionError("no session cookie set")


def test_session_cookie_is_httponly_lax_and_secure_on_https(client):
    make_editor(EDITOR)
    answer = _login(client, EDITOR)
    assert answer.status_code == 303 and answer.headers["location"] == "/editor/tokens"
    header = _session_cookie(answer)
    flags = {part.strip().lower() for part in header.split(";")}
    assert {"httponly", "samesite=lax", "secure", "path=/"} <= flags
    assert len(SimpleCookie(header)["publisher_session"].value) >= 40  # 256 random bits


def test_cookie_is_not_secure_on_plain_http(app, monkeypatch):
    monkeypatch.setenv("PUBLISHER_BASE_URL", "http://localhost:8000")
    get_settings.cache_clear()
    make_editor(EDITOR)
    client = TestClient(app, base_url="http://localhost:8000")
    header = _session_cookie(_login(client, EDITOR))
    assert "secure" not in {part.strip().lower() for part in header.split(";")}
    assert client.get("/editor/tokens").status_code == 200  # and the browser sends it back over http


def test_login_starts_a_new_session_and_logout_kills_it(app, client):
    make_editor(EDITOR)
    csrf = log_in(client, EDITOR)
    old_cookie = client.cookies["publisher_session"]
    log_in(client, EDITOR)  # a second login in the same browser: a new session, the old one ends
    new_cookie = client.cookies["publisher_session"]
    assert new_cookie != old_cookie
    stale = TestClient(app, base_url="https://news.example.org", cookies={"publisher_session": old_cookie})
    assert stale.get("/editor/tokens").status_code == 401

    csrf = form_csrf(client.get("/editor/tokens").text)
    assert csrf != "" and client.post("/editor/logout", data={"csrf_token": csrf},
                                      follow_redirects=False).status_code == 303
    copied = TestClient(app, base_url="https://news.example.org", cookies={"publisher_session": new_cookie})
    assert copied.get("/editor/tokens").status_code == 401  # a copy of the cookie died with the logout


def test_state_changing_requests_need_the_csrf_token(app, client):
    make_editor(ADMIN)
    csrf = log_in(client, ADMIN)
    assert client.post("/editor/tokens", data={"name": "no token"}).status_code == 403
    assert client.post("/editor/tokens", data={"name": "wrong", "csrf_token": "x" * 43}).status_code == 403
    assert client.post("/editor/tokens", data={"name": "form", "csrf_token": csrf}).status_code == 201
    assert client.post("/editor/tokens", data={"name": "header"}, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.post("/editor/logout").status_code == 403  # even logging out (no forced logout by a link)
    assert client.post("/api/sends/1/pause").status_code == 403  # the JSON API, called with the cookie
    assert client.post("/api/sends/1/pause", headers={"X-CSRF-Token": csrf}).status_code == 404  # past the check
    # Another site's page posting with the browser's cookie and a stolen-looking token: refused by origin.
    foreign = client.post("/editor/tokens", data={"name": "evil", "csrf_token": csrf},
                          headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    # Another session's token is not this session's.
    other = TestClient(app, base_url="https://news.example.org")
    other_csrf = log_in(other, ADMIN)
    assert client.post("/editor/tokens", data={"name": "x", "csrf_token": other_csrf}).status_code == 403


def test_bearer_requests_need_no_csrf_token(client):
    make_editor(EDITOR)
    token = make_api_token(EDITOR)
    answer = client.post("/api/sends/1/pause", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404  # authenticated, no CSRF asked: the digest just does not exist


def test_login_form_has_its_own_csrf_check(client):
    """Without it, another site could log a visitor into the attacker's account (login CSRF)."""
    make_editor(EDITOR)
    answer = client.post("/editor/login", data={"email": EDITOR.email, "password": EDITOR.password,
                                                "csrf_token": "made-up"}, follow_redirects=False)
    assert answer.status_code == 403 and "publisher_session" not in client.cookies


def test_login_leads_only_to_pages_of_this_site(client):
    make_editor(EDITOR)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.cookies.clear()
        assert _login(client, EDITOR, next_path=target).headers["location"] == "/editor/"


def test_wrong_password_and_unknown_address_get_the_same_answer(client):
    make_editor(EDITOR)
    wrong = client.post("/editor/login", data={"email": EDITOR.email, "password": "not the password",
                                               "csrf_token": login_form_token(client)})
    unknown = client.post("/editor/login", data={"email": "nobody@example.org", "password": "not the password",
                                                 "csrf_token": login_form_token(client)})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert "publisher_session" not in client.cookies


def test_login_page_is_labelled_and_has_landmarks(client):
    page = client.get("/editor/login").text
    assert '<label for="email">' in page and '<label for="password">' in page
    assert '<main id="main"' in page and 'lang="en"' in page and 'name="viewport"' in page
    assert "https://" not in page.split("<body>")[0]  # nothing loaded from elsewhere (no CDN)
    assert client.get("/static/editor.css").status_code == 200


def test_refusals_a_browser_sees_are_pages(client):
    make_editor(EDITOR)
    log_in(client, EDITOR)
    page = client.post("/editor/tokens", data={"name": "x"}, headers={"Accept": "text/html"})
    assert page.status_code == 403 and "reload the page and try again" in page.text and "<main" in page.text
    admins = client.get("/editor/editors", headers={"Accept": "text/html"})
    assert admins.status_code == 403 and "Admins only" in admins.text


def test_editor_pages_are_not_cached_or_framed_by_other_sites(client):
    page = client.get("/editor/login")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]


def test_changing_ones_password_ends_the_other_sessions(app, client):
    make_editor(EDITOR)
    csrf = log_in(client, EDITOR)
    elsewhere = TestClient(app, base_url="https://news.example.org")
    log_in(elsewhere, EDITOR)
    wrong = client.post("/editor/password", data={"current": "a guess at it", "new": "new password 22",
                                                  "again": "new password 22", "csrf_token": csrf})
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    differ = client.post("/editor/password", data={"current": EDITOR.password, "new": "new password 22",
                                                   "again": "new password 23", "csrf_token": csrf})
    assert differ.status_code == 400 and "differ" in differ.text
    done = client.post("/editor/password", data={"current": EDITOR.password, "new": "new password 22",
                                                  "again": "new password 22", "csrf_token": csrf})
    assert done.status_code == 200 and "Password changed" in done.text  # this browser stays logged in
    assert elsewhere.get("/editor/tokens").status_code == 401  # the other one does not
    assert log_in(elsewhere, type(EDITOR)(EDITOR.email, "new password 22"))
