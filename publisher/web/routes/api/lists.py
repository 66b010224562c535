"""/api/v1/lists: lists, their feeds, schedule and options."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from publisher.services import audit, lists
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.errors import documented
from publisher.web.schemas import PathId
from publisher.web.schemas.lists import ListCreate, ListCreated, ListDetail, ListOut, ListUpdate, Schedule
from publisher.web.snippet import subscribe_snippet

router = APIRouter(prefix="/lists", tags=["lists"])


@router.get("", response_model=list[ListOut])
def list_lists(session: SessionDep) -> list[dict]:
    return [asdict(summary) for summary in lists.list_summaries(session)]


@router.post("", status_code=201, response_model=ListCreated, responses=documented(409))
def create_list(body: ListCreate, session: SessionDep, settings: SettingsDep, editor: CurrentEditor) -> dict:
    """A list over these feeds (a feed not added yet is added now, its posts the baseline)."""
    created = lists.create_list(session, settings, name=body.name, feed_urls=body.feeds, cadence=body.cadence,
                                send_at=body.send_at, timezone=body.timezone, day=body.day, sender=body.sender,
                                content_mode=body.content_mode, template=body.template)
    audit.record(session, editor, "list_created", created.mailing_list.name)
    return {"list": asdict(lists.list_summary(session, created.mailing_list.name)),
            "added_feeds": [f.url for f in created.feeds if f.baseline is not None]}


@router.get("/{list_id}", response_model=ListDetail, responses=documented(404))
def show_list(list_id: PathId, session: SessionDep, settings: SettingsDep) -> dict:
    """The list, its subscriber counts, and the sign-up snippet for a Blogger gadget."""
    summary = lists.list_summary(session, lists.get_list_by_id(session, list_id).name)
    return {**asdict(summary), "snippet": subscribe_snippet(settings.base_url, summary.name)}


@router.patch("/{list_id}", response_model=ListOut, responses=documented(404))
def edit_list(list_id: PathId, body: ListUpdate, session: SessionDep, settings: SettingsDep,
              editor: CurrentEditor) -> dict:
    """Change what is given; a new schedule starts at its next slot."""
    name = lists.get_list_by_id(session, list_id).name
    summary = lists.update_list(session, settings, name, feed_urls=body.feeds, cadence=body.cadence,
                                send_at=body.send_at, timezone=body.timezone, day=body.day,
                                sender=body.sender or None, clear_sender=body.sender == "",
                                content_mode=body.content_mode, template=body.template, paused=body.paused)
    audit.record(session, editor, "list_changed", name, body.model_dump(exclude_none=True))
    return asdict(summary)


@router.put("/{list_id}/schedule", response_model=ListOut, responses=documented(404))
def schedule(list_id: PathId, body: Schedule, session: SessionDep, settings: SettingsDep,
             editor: CurrentEditor) -> dict:
    """When the list's digests go out (each subscriber may choose another cadence); paused: not at all."""
    name = lists.get_list_by_id(session, list_id).name
    summary = lists.update_list(session, settings, name, cadence=body.cadence, send_at=body.send_at,
                                timezone=body.timezone, day=body.day, paused=body.paused)
    audit.record(session, editor, "scheduled", name, body.model_dump())
    return asdict(summary)
