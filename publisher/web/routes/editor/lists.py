"""Lists: create one over feeds with its sender, cadence, hour, zone, template and content mode; see its
subscriber counts by status and the sign-up snippet for a Blogger gadget; pause its scheduled digests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from publisher.errors import PublisherError
from publisher.models import Cadence, MailingList
from publisher.services import audit, watched_feeds
from publisher.services import lists as list_service
from publisher.services.subscribers import subscriber_counts
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.editor.common import done, page, problem
from publisher.web.snippet import subscribe_snippet

router = APIRouter(prefix="/lists")

Text = Annotated[str, Form(max_length=500)]


@router.get("")
def lists_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings)


@router.post("")
def create(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor,
           name: Text = "", feeds: Annotated[list[str], Form(max_length=2048)] = (), new_feed: Text = "",
           sender: Text = "", cadence: Text = "daily", send_at: Text = "08:00", timezone: Text = "UTC",
           day: Text = "monday", template: Text = "digest", content_mode: Text = "full") -> Response:
    feed_urls = [url for url in (*feeds, new_feed.strip()) if url]
    form = dict(name=name, feeds=feed_urls, sender=sender, cadence=cadence, send_at=send_at, timezone=timezone,
                day=day, template=template, content_mode=content_mode)
    try:
        created = list_service.create_list(
            session, settings, name=name.strip(), feed_urls=feed_urls, cadence=cadence, send_at=send_at,
            timezone=timezone.strip(), day=day, sender=sender.strip() or None, content_mode=content_mode,
            template=template.strip())
    except PublisherError as exc:
        session.rollback()
        return _page(request, session, settings, status=400, error=problem(exc), form=form)
    audit.record(session, editor, "list_created", created.mailing_list.name,
                 {"feeds": [f.url for f in created.feeds], "cadence": cadence})
    session.commit()
    return done(f"/editor/lists/{created.mailing_list.id}", "list_created")


@router.get("/{list_id}")
def show(request: Request, session: SessionDep, settings: SettingsDep, list_id: int) -> Response:
    return _show(request, session, settings, _list(session, list_id))


@router.post("/{list_id}")
def edit(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor, list_id: int,
         feeds: Annotated[list[str], Form(max_length=2048)] = (), new_feed: Text = "", sender: Text = "",
         cadence: Text = "daily", send_at: Text = "08:00", timezone: Text = "UTC", day: Text = "monday",
         template: Text = "digest", content_mode: Text = "full") -> Response:
    """Everything but the name; a new schedule starts at its next slot (services.lists.update_list)."""
    mailing_list = _list(session, list_id)
    feed_urls = [url for url in (*feeds, new_feed.strip()) if url]
    try:
        list_service.update_list(session, settings, mailing_list.name, feed_urls=feed_urls,
                                 sender=sender.strip() or None, clear_sender=not sender.strip(), cadence=cadence,
                                 send_at=send_at, timezone=timezone.strip(), day=day, template=template,
                                 content_mode=content_mode)
    except PublisherError as exc:
        session.rollback()
        return _show(request, session, settings, _list(session, list_id), status=400, error=problem(exc))
    audit.record(session, editor, "list_changed", mailing_list.name,
                 {"feeds": feed_urls, "cadence": cadence, "send_at": send_at, "timezone": timezone})
    session.commit()
    return done(f"/editor/lists/{list_id}", "list_saved")


@router.post("/{list_id}/{action}")
def pause_or_resume(session: SessionDep, settings: SettingsDep, editor: CurrentEditor, list_id: int,
                    action: str) -> Response:
    if action not in ("pause", "resume"):
        raise HTTPException(404, f"no action {action!r} on a list")
    mailing_list = _list(session, list_id)
    list_service.update_list(session, settings, mailing_list.name, paused=action == "pause")
    audit.record(session, editor, f"list_{action}d", mailing_list.name)
    session.commit()
    return done(f"/editor/lists/{list_id}", f"list_{action}d")


def _list(session, list_id: int) -> MailingList:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(404, f"no list #{list_id}")
    return mailing_list


def _show(request: Request, session, settings, mailing_list: MailingList, *, status: int = 200,
          **context) -> Response:
    return page(request, "list.html", status=status, mailing_list=mailing_list,
                day=list_service.DAYS[mailing_list.weekday], counts=subscriber_counts(session, mailing_list.id),
                snippet=subscribe_snippet(settings.base_url, mailing_list.name), **_choices(session, settings),
                **context)


def _choices(session, settings) -> dict:
    """What the list forms offer: the feeds, cadences, days and template folders."""
    templates = sorted(p.parent.name for p in (settings.resolved_templates_dir() / "email").glob("*/body.html"))
    return {"feeds": watched_feeds.feed_health(session), "cadences": [c.value for c in Cadence],
            "days": list_service.DAYS, "templates": templates}


def _page(request: Request, session, settings, *, status: int = 200, **context) -> Response:
    rows = [(ml, subscriber_counts(session, ml.id)) for ml in list_service.all_lists(session)]
    return page(request, "lists.html", status=status, lists=rows, **_choices(session, settings), **context)
