"""Subscriber pages. A GET never changes anything (mail scanners follow every link); a POST does.
The RFC 8058 one-click POST needs no cookie and no login: the signed token is the authority."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import MailingList
from publisher.services.subscribers import unsubscribe
from publisher.tokens import UNSUBSCRIBE, read_token
from publisher.web.deps import SessionDep, SettingsDep, page_templates

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        ref = read_token(settings.resolved_secret_key(), UNSUBSCRIBE, token)
    except InvalidInputError as exc:
        return _page(request, "link_invalid.html", {"message": str(exc)}, status=400)
    mailing_list = session.get(MailingList, ref.list_id)
    return _page(request, "unsubscribe.html", {"list_name": mailing_list.name if mailing_list else "this list",
                                              "token": token})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_now(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    try:
        ref = read_token(settings.resolved_secret_key(), UNSUBSCRIBE, token)
        subscription = unsubscribe(session, subscriber_id=ref.subscriber_id, list_id=ref.list_id)
    except (InvalidInputError, NotFoundError) as exc:
        return _page(request, "link_invalid.html", {"message": str(exc)}, status=400)
    mailing_list = session.get(MailingList, subscription.list_id)
    return _page(request, "unsubscribed.html", {"list_name": mailing_list.name})


def _page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return page_templates().TemplateResponse(request, name, context, status_code=status)
