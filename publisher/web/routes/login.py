"""Logging in and out of the editor. A wrong password and an unknown address get the same answer; attempts
are throttled per account and per client address (see services/login_throttle)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from publisher.errors import InvalidInputError
from publisher.models import Editor
from publisher.services import audit, editors, login_throttle, web_sessions
from publisher.web import auth
from publisher.web.clientip import request_client
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.pages import editor_page

router = APIRouter(prefix="/editor", include_in_schema=False)


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str = "/editor/") -> Response:
    """Shown even to a logged-in editor (who may switch accounts: logging in again replaces the session)."""
    auth.current_editor(request, session)
    return _login_form(request, next=auth.safe_next(next))


@router.post("/login")
def log_in(request: Request, session: SessionDep, settings: SettingsDep,
           email: Annotated[str, Form(max_length=400)] = "", password: Annotated[str, Form()] = "",
           csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/editor/") -> Response:
    target = auth.safe_next(next)
    if not auth.login_csrf_ok(request, csrf_token):
        return _login_form(request, next=target, email=email, status=403,
                           error="The form had expired. Please try again.")
    ip = request_client(request, settings)
    keys = [login_throttle.address_key(ip), login_throttle.account_key(email)]
    wait = login_throttle.claim(session, settings, keys)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        return _login_form(request, next=target, email=email, status=429, headers={"Retry-After": str(seconds)},
                           error=f"Too many failed attempts. Try again in {_duration(seconds)}.")
    editor = editors.authenticate(session, email=email, password=password)
    if editor is None:
        return _login_form(request, next=target, email=email, status=401, error="Wrong email or password.")
    login_throttle.forget(session, keys[1])
    login_throttle.refund(session, settings, keys[0])
    return _start_session(request, session, editor, target, ip=ip, days=settings.session_days)


def _start_session(request: Request, session, editor: Editor, target: str, *, ip: str, days: float) -> Response:
    token, _ = web_sessions.start(session, editor, days=days, ip=ip,
                                  replacing=request.cookies.get(auth.SESSION_COOKIE))
    audit.record(session, editor, "login", editor.email, {"ip": ip})
    session.commit()  # before the browser follows the redirect with its new cookie
    response = RedirectResponse(target, status_code=303)
    auth.set_session_cookie(response, request, token, days=days)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=auth.LOGIN_PATH)
    return response


@router.post("/logout")
def log_out(request: Request, session: SessionDep, editor: auth.CurrentEditor) -> Response:
    token = getattr(request.state, "session_token", None)
    if token:
        web_sessions.end(session, token)
        audit.record(session, editor, "logout", editor.email)
    session.commit()
    response = RedirectResponse(auth.LOGIN_PATH, status_code=303)
    auth.clear_session_cookie(response, request)
    return response


@router.get("/password")
def password_page(request: Request, editor: auth.CurrentEditor) -> Response:
    return editor_page(request, "editor/password.html")


@router.post("/password")
def change_password(request: Request, session: SessionDep, settings: SettingsDep, editor: auth.CurrentEditor,
                    current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "",
                    again: Annotated[str, Form()] = "") -> Response:
    """Every session of the account ends, this one too; this browser gets a new one at once."""
    if editor.id is None:
        return editor_page(request, "editor/password.html", {"error": "PUBLISHER_API_TOKEN has no password"},
                           status=400)
    try:
        if new != again:
            raise InvalidInputError("the two new passwords differ")
        editors.change_own_password(session, editor, current=current, new=new)
    except InvalidInputError as exc:
        return editor_page(request, "editor/password.html", {"error": str(exc)}, status=400)
    return _start_session(request, session, editor, "/editor/password?changed=1",
                          ip=request_client(request, settings), days=settings.session_days)


def _login_form(request: Request, *, next: str, email: str = "", error: str = "", status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
    response = editor_page(request, "editor/login.html", {"next": next, "email": email, "error": error,
                                                           "login_csrf": auth.login_csrf_token(request)},
                           status=status, headers=headers)
    auth.set_login_csrf_cookie(response, request)
    return response


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"
