"""The preference center, reached by the signed link in every digest: name, lists, cadence, time zone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import Cadence, MailingList, Subscriber
from publisher.services import links, preferences
from publisher.tokens import PREFERENCES, UNSUBSCRIBE, ExpiredTokenError, LinkRef, read_token
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.public import blog_context, link_error, page

router = APIRouter()


def read_preferences_token(secret_key: str, token: str) -> LinkRef:
    """A preferences token, or the unsubscribe token of a digest: both let the mailbox owner manage their
    subscription (the unsubscribe link can already end it). Confirm tokens are refused."""
    try:
        return read_token(secret_key, PREFERENCES, token)
    except ExpiredTokenError:
        raise
    except InvalidInputError:
        return read_token(secret_key, UNSUBSCRIBE, token)


def _holder(session, settings, token: str) -> tuple[Subscriber, dict]:
    """The link's holder, and the blog of the list the link came from (the page's header)."""
    key = settings.resolved_secret_key()
    ref = read_preferences_token(key, token)
    subscriber = links.holder(session, key, ref)
    mailing_list = session.get(MailingList, ref.list_id)
    return subscriber, blog_context(session, mailing_list) if mailing_list else {}


def _context(session, holder: tuple[Subscriber, dict], token: str, **extra) -> dict:
    subscriber, blog = holder
    return {**blog, "token": token, "email": subscriber.email, "name": subscriber.name or "",
            "choices": preferences.list_choices(session, subscriber.id),
            "cadences": [c.value for c in Cadence], "timezones": preferences.timezone_names(), **extra}


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        holder = _holder(session, settings, token)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "preferences.html", _context(session, holder, token))


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def preferences_save(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        holder = _holder(session, settings, token)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    subscriber = holder[0]
    form = await request.form()
    choices = {}
    for choice in preferences.list_choices(session, subscriber.id):
        key = str(choice.list_id)
        choices[choice.list_id] = preferences.Choice(
            subscribed=form.get(f"list-{key}") == "on",
            cadence=str(form.get(f"cadence-{key}", "")), timezone=str(form.get(f"timezone-{key}", "")).strip())
    try:
        preferences.update_preferences(session, subscriber.id, name=str(form.get("name", "")), choices=choices)
    except InvalidInputError as exc:
        session.rollback()
        return page(request, "preferences.html", _context(session, holder, token, error=str(exc)), status=422)
    return page(request, "preferences.html", _context(session, holder, token, saved=True))
