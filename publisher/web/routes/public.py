"""Subscriber pages reached from links in mails. A GET never changes anything (mail scanners follow every
link); a POST does. The RFC 8058 one-click POST needs no cookie and no login: the signed token is the
authority. A tampered token gets 400, an expired one 410, a link to a person who is gone 404, each with a
page; a dead link shows nothing of whoever holds the id now."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import MailingList, Subscription
from publisher.services import links, signup
from publisher.services.identity import identity_of
from publisher.services.subscribers import unsubscribe
from publisher.tokens import (
    CONFIRM,
    PREFERENCES,
    UNSUBSCRIBE,
    ExpiredTokenError,
    SubscriptionRef,
    make_token,
    read_expiring_token,
    read_token,
)
from publisher.web.clientip import request_client
from publisher.web.deps import SessionDep, SettingsDep, page_templates

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    key = settings.resolved_secret_key()
    try:
        subscription = links.subscription(session, key, read_token(key, UNSUBSCRIBE, token))
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "unsubscribe.html", {**_blog_of(session, subscription), "token": token,
                                              "preferences_token": preferences_token(key, subscription)})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_now(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """The button of the page above, and the RFC 8058 one-click POST (body List-Unsubscribe=One-Click)."""
    form = await request.form()
    source = "one-click" if form.get("List-Unsubscribe") == "One-Click" else "unsubscribe page"
    key = settings.resolved_secret_key()
    try:
        subscription = links.subscription(session, key, read_token(key, UNSUBSCRIBE, token))
        unsubscribe(session, subscriber_id=subscription.subscriber_id, list_id=subscription.list_id, source=source)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "unsubscribed.html", _blog_of(session, subscription))


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """Shows a button: a link scanner opening the mail must not confirm a sign-up someone else made."""
    key = settings.resolved_secret_key()
    try:
        ref = read_expiring_token(key, CONFIRM, token, max_age_seconds=settings.confirm_token_hours * 3600)
        subscription = links.subscription(session, key, ref)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "confirm.html", {**_blog_of(session, subscription), "token": token})


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_now(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        subscription = signup.confirm_signup(session, settings, token, ip=request_client(request, settings))
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "confirmed.html", {
        **_blog_of(session, subscription),
        "preferences_token": preferences_token(settings.resolved_secret_key(), subscription)})


def preferences_token(secret_key: str, subscription: Subscription) -> str:
    ref = SubscriptionRef(subscriber_id=subscription.subscriber_id, list_id=subscription.list_id)
    return make_token(secret_key, PREFERENCES, ref, email=subscription.subscriber.email)


def _blog_of(session, subscription: Subscription) -> dict:
    mailing_list = session.get(MailingList, subscription.list_id)
    if mailing_list is None:
        return {"list_name": "this list", "list_title": "this list"}
    return blog_context(session, mailing_list)


def blog_context(session, mailing_list: MailingList) -> dict:
    """What every page about a list shows: the blog's name, link, colour and logo (templates/web/base.html)."""
    blog = identity_of(session, mailing_list)
    return {"blog": blog, "list_name": mailing_list.name, "list_title": blog.title,
            "blog_page_url": f"/lists/{quote(mailing_list.name, safe='')}" if mailing_list.public
            else f"/subscribe/{quote(mailing_list.name, safe='')}"}


def link_error(request: Request, exc: Exception) -> HTMLResponse:
    status = 410 if isinstance(exc, ExpiredTokenError) else 404 if isinstance(exc, NotFoundError) else 400
    return page(request, "link_invalid.html", {"message": str(exc)}, status=status)


def page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return page_templates().TemplateResponse(request, name, context, status_code=status)
