"""Editor accounts for tests: make one, log a TestClient in (it then carries the session cookie), and read
the CSRF token its forms must send. Pages' tests: `csrf = log_in(client, ADMIN)`, then
`client.post(url, data={..., "csrf_token": csrf})` or `headers={"X-CSRF-Token": csrf}`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher.db import session_scope
from publisher.services import api_tokens, editors


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    admin: bool = False


ADMIN = Account("admin@example.org", "admin password 1", admin=True)
EDITOR = Account("editor@example.org", "editor password 1")


def make_editor(account: Account) -> Account:
    """The account, added to the database the settings point at (a real argon2id hash)."""
    with session_scope() as session:
        editors.add_editor(session, email=account.email, password=account.password, is_admin=account.admin)
    return account


def make_api_token(account: Account, name: str = "test") -> str:
    with session_scope() as session:
        token, _ = api_tokens.create(session, editors.get_editor(session, account.email), name=name)
    return token


def login_form_token(client, next_path: str = "/editor/") -> str:
    page = client.get("/editor/login", params={"next": next_path}).text
    return form_csrf(page[page.index('action="/editor/login"'):])  # a logged-in page has a logout form first


def log_in(client, account: Account, *, next_path: str = "/editor/"):
    """Log the client in through the real form; returns the session's CSRF token (from a page's meta tag)."""
    answer = client.post("/editor/login", data={"email": account.email, "password": account.password,
                                                 "csrf_token": login_form_token(client, next_path),
                                                 "next": next_path}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return meta_csrf(client.get("/editor/tokens").text)


def form_csrf(html: str) -> str:
    """The CSRF token of the first form in the HTML."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def meta_csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
