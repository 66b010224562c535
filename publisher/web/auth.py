"""Who is asking, and may they: editor sessions (a cookie), API tokens (a bearer), roles, and CSRF.

Routes use the dependencies: `require_editor` (any editor), `require_admin`, and `csrf_protect` (kept for
routes that want to say it: `require_editor` already refuses a cookie-authenticated POST, PUT, PATCH or
DELETE without the session's CSRF token, so no route can forget it). A bearer token is not sent by the
browser on its own, so bearer requests need no CSRF token.

Without credentials a browser asking for an /editor page is sent to the login page (303); anything else
gets 401 JSON {"error": ..., "detail": ...}."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from publisher.config import Settings, get_settings
from publisher.db import session_scope
from publisher.models import Editor
from publisher.services import api_tokens, web_sessions
from publisher.web.deps import SessionDep

SESSION_COOKIE = "publisher_session"
LOGIN_CSRF_COOKIE = "publisher_login_csrf"  # double-submit token of the login form (no session yet)
LOGIN_PATH = "/editor/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The admin principal of PUBLISHER_API_TOKEN: no account, no id; audit entries name it so.
LEGACY_TOKEN_ACTOR = "PUBLISHER_API_TOKEN"


class AuthError(Exception):
    """Refused: `status` 401 (who are you?), 403 (not you) or 303 (log in first, at `location`)."""

    def __init__(self, status: int, error: str, detail: str = "", *, location: str | None = None):
        super().__init__(error)
        self.status, self.error, self.detail, self.location = status, error, detail, location


def install(app: FastAPI) -> None:
    """Answer AuthError as the interface says (called by create_app)."""
    app.add_exception_handler(AuthError, _auth_error_response)


def _auth_error_response(request: Request, exc: AuthError) -> Response:
    if exc.location:
        return RedirectResponse(exc.location, status_code=303)
    if exc.status == 403 and wants_html(request):  # a person at a browser: a page that says what to do
        from publisher.web.pages import editor_page

        title = "Admins only" if exc.error == "admins only" else "Refused"
        # The request's database session is closed by now: the page shows no editor (and no navigation).
        return editor_page(request, "editor/refused.html", {"title": title, "message": exc.detail or exc.error,
                                                            "back": "/editor/", "editor": None}, status=403)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if exc.status == 401 and request.headers.get("hx-request") and request.url.path.startswith("/editor"):
        # htmx swaps what it gets: tell it to take the whole page to the login form (back to where it was).
        current = urlsplit(request.headers.get("hx-current-url", "")).path
        headers["HX-Redirect"] = f"{LOGIN_PATH}?next={quote(safe_next(current), safe='/')}"
    return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=headers)


# --- who is asking ----------------------------------------------------------------------------------------

def current_editor(request: Request, session: Session | None = None) -> Editor | None:
    """The editor of this request (session cookie or bearer token), else None. With no session given, one of
    its own is opened (the editor returned is then detached, its attributes loaded)."""
    if hasattr(request.state, "editor"):
        return request.state.editor
    if session is None:
        with session_scope() as own:
            return current_editor(request, own)
    editor, method, csrf = _identify(request, session, get_settings())
    request.state.editor, request.state.auth_method, request.state.csrf = editor, method, csrf
    return editor


def _identify(request: Request, session: Session, settings: Settings) -> tuple[Editor | None, str | None, str | None]:
    authorization = request.headers.get("authorization")
    if authorization is not None:  # a bearer, right or wrong, is the credential: no falling back to a cookie
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None, None, None
        if settings.api_token and hmac.compare_digest(token.encode(), settings.api_token.encode()):
            return Editor(id=None, email=LEGACY_TOKEN_ACTOR, is_admin=True), "bearer", None
        return api_tokens.editor_for(session, token), "bearer", None
    cookie = request.cookies.get(SESSION_COOKIE)
    row = web_sessions.find(session, cookie) if cookie else None
    if row is None:
        return None, None, None
    request.state.session_token = cookie
    return row.editor, "cookie", row.csrf_token


async def require_editor(request: Request, session: SessionDep) -> Editor:
    editor = await run_in_threadpool(current_editor, request, session)
    if editor is None:
        raise _unauthenticated(request)
    await _check_csrf(request)
    return editor


async def require_admin(editor: Annotated[Editor, Depends(require_editor)]) -> Editor:
    if not editor.is_admin:
        raise AuthError(403, "admins only", "this needs an admin account (ask an admin, or `publisher editors "
                        "add EMAIL --admin`)")
    return editor


async def csrf_protect(request: Request, editor: Annotated[Editor, Depends(require_editor)]) -> None:
    """Explicit form of the check `require_editor` makes (both are cached per request, so it runs once)."""
    await _check_csrf(request)


CurrentEditor = Annotated[Editor, Depends(require_editor)]
CurrentAdmin = Annotated[Editor, Depends(require_admin)]


def _unauthenticated(request: Request) -> AuthError:
    if request.url.path.startswith("/editor") and wants_html(request):
        target = "/editor/"
        if request.method in SAFE_METHODS:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return AuthError(303, "log in first", location=f"{LOGIN_PATH}?next={quote(target, safe='/')}")
    has_bearer = "authorization" in request.headers
    return AuthError(401, "authentication required", "the token is not valid (revoked, or never made)" if has_bearer
                     else "log in at /editor/login, or send Authorization: Bearer <token> (make one at /editor/tokens)")


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


# --- CSRF ---------------------------------------------------------------------------------------------------

async def _check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS or getattr(request.state, "auth_method", None) != "cookie":
        return
    if getattr(request.state, "csrf_checked", False):
        return
    if not _same_origin(request):
        raise AuthError(403, "cross-site request refused", "this request came from another site")
    given = request.headers.get("x-csrf-token")
    if given is None and _is_form(request):
        given = (await request.form()).get("csrf_token")
    expected = request.state.csrf or ""
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthError(403, "CSRF token missing or wrong",
                        "reload the page and try again (forms carry csrf_token; scripts send X-CSRF-Token)")
    request.state.csrf_checked = True


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith("application/x-www-form-urlencoded") or kind.startswith("multipart/form-data")


def _same_origin(request: Request) -> bool:
    """A browser names the site a request came from (Origin); when it does, it must be this site. Compared by
    host name only: behind a proxy that ends TLS, scheme and port differ from what the app sees. The CSRF
    token is the real check; this one stops a forged request before its body is read."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {urlsplit(get_settings().base_url).hostname, request.url.hostname}
    return urlsplit(origin).hostname in ours - {None}


def csrf_token(request: Request) -> str:
    """The token the forms of an editor's page must carry (the session's); "" without a session."""
    return getattr(request.state, "csrf", None) or ""


def login_csrf_token(request: Request) -> str:
    """The login form's token: there is no session yet, so a double-submit cookie (`set_login_csrf_cookie`)
    holds it. Without it another site could log a visitor's browser into the site's account of its choice."""
    if not getattr(request.state, "login_csrf", None):
        request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return request.state.login_csrf


def template_context(request: Request) -> dict:
    """What every editor template expects: the editor (or None), and the CSRF token for its forms. Reads what
    `require_editor` found; a page rendered without it (the login page) shows no editor."""
    return {"editor": getattr(request.state, "editor", None), "csrf_token": csrf_token(request)}


# --- cookies ------------------------------------------------------------------------------------------------

def secure_cookies(request: Request) -> bool:
    """Secure when the site is served over https (as configured, or as this request came)."""
    return get_settings().base_url.startswith("https://") or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, *, days: float) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(days * 86400), path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))


def set_login_csrf_cookie(response: Response, request: Request) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, login_csrf_token(request), max_age=3600 * 12, path=LOGIN_PATH,
                        httponly=True, samesite="strict", secure=secure_cookies(request))


def login_csrf_ok(request: Request, given: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and given) and hmac.compare_digest(str(given).encode(), expected.encode())


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never //host or /\\host, which leave it)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/editor/"
    if any(ord(char) < 32 for char in target):
        return "/editor/"
    return target
