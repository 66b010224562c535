"""Sign-up: the public form, the page showing the embeddable snippet, and the JSON API. All three go
through services.signup, so the honeypot, the per-IP and the per-address limits hold for each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from publisher.errors import InvalidInputError, NotFoundError, RateLimitedError
from publisher.services import signup
from publisher.web.clientip import request_client
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.public import blog_context, page
from publisher.web.snippet import HONEYPOT, subscribe_snippet

router = APIRouter()


@router.get("/subscribe/{list_name}", response_class=HTMLResponse)
def subscribe_form(request: Request, list_name: str, session: SessionDep):
    try:
        mailing_list = signup.get_list_by_name(session, list_name)
    except NotFoundError as exc:
        return page(request, "error.html", {"title": "No such list", "message": str(exc)}, status=404)
    return page(request, "subscribe.html", {**blog_context(session, mailing_list), "honeypot": HONEYPOT})


@router.post("/subscribe/{list_name}", response_class=HTMLResponse)
def subscribe_submit(request: Request, list_name: str, session: SessionDep, settings: SettingsDep,
                     email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                     website: Annotated[str, Form()] = ""):
    context = {"list_name": list_name, "list_title": list_name, "honeypot": HONEYPOT, "email": email, "name": name}
    try:
        mailing_list = signup.get_list_by_name(session, list_name)
        context |= blog_context(session, mailing_list)
        signup.request_signup(session, settings, mailing_list, email=email, name=name,
                              ip=request_client(request, settings), honeypot=website, source="form")
    except NotFoundError as exc:
        return page(request, "error.html", {"title": "No such list", "message": str(exc)}, status=404)
    except InvalidInputError as exc:
        return page(request, "subscribe.html", {**context, "error": str(exc)}, status=422)
    except RateLimitedError as exc:
        return page(request, "error.html", {"title": "Please try later", "message": str(exc)}, status=429)
    return page(request, "check_inbox.html", context)


@router.get("/subscribe/{list_name}/embed", response_class=HTMLResponse)
def embed_page(request: Request, list_name: str, session: SessionDep, settings: SettingsDep):
    try:
        mailing_list = signup.get_list_by_name(session, list_name)
    except NotFoundError as exc:
        return page(request, "error.html", {"title": "No such list", "message": str(exc)}, status=404)
    snippet = subscribe_snippet(settings.base_url, mailing_list.name)
    return page(request, "embed.html", {**blog_context(session, mailing_list), "snippet": snippet})


class SignupRequest(BaseModel):
    list: str
    email: str
    name: str | None = None


@router.post("/api/subscribe", status_code=202)
def api_subscribe(body: SignupRequest, request: Request, session: SessionDep, settings: SettingsDep):
    """Same rules as the form: 202 whether or not a mail went (no address enumeration), 429 past the
    per-IP limit."""
    try:
        mailing_list = signup.get_list_by_name(session, body.list)
        signup.request_signup(session, settings, mailing_list, email=body.email, name=body.name,
                              ip=request_client(request, settings), source="api")
    except NotFoundError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    except InvalidInputError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except RateLimitedError as exc:
        return JSONResponse({"error": str(exc)}, status_code=429, headers={"Retry-After": "3600"})
    return {"status": "pending", "message": "if the address can subscribe, a confirmation mail is on its way"}
