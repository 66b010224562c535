"""The preference center, reached by the signed link in every digest: name, lists, cadence, time zone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import Cadence, Subscriber
from publisher.services import links, preferences
from publisher.tokens import PREFERENCES, UNSUBSCRIBE, ExpiredTokenError, LinkRef, read_token
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.public import link_error, page

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


def _holder(session, settings, token: str) -> Subscriber:
    key = settings.resolved_secret_key()
    return links.holder(session, key, read_preferences_token(key, token))


def _context(session, subscriber: Subscriber, token: str, **extra) -> dict:
    return {"token": token, "email": subscriber.email, "name": subscriber.name or "",
            "choices": preferences.list_choices(session, subscriber.id),
            "cadences": [c.value for c in Cadence], "timezones": preferences.timezone_names(), **extra}


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        subscriber = _holder(session, settings, token)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
    return page(request, "preferences.html", _context(session, subscriber, token))


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def preferences_save(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        subscriber = _holder(session, settings, token)
    except (InvalidInputError, NotFoundError) as exc:
        return link_error(request, exc)
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
        return page(request, "preferences.html", _context(session, subscriber, token, error=str(exc)), status=422)
    return page(request, "preferences.html", _context(session, subscriber, token, saved=True))
