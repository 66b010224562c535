"""/api/v1 subscribers: search, add, import, export, suppress, wipe."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response

from publisher.errors import InvalidInputError
from publisher.services import audit, gdpr, lists, people, subscribers
from publisher.web.auth import CurrentAdmin, CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.errors import documented
from publisher.web.schemas import PathId, QueryId
from publisher.web.schemas.subscribers import ImportOut, SearchOut, SubscriberAdd, SubscriberOut, Suppress, Wipe, Wiped

router = APIRouter(tags=["subscribers"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@router.get("/subscribers", response_model=SearchOut, responses=documented(404))
def search(session: SessionDep,
           q: Annotated[str, Query(max_length=320, description="part of an address or a name")] = "",
           list_id: QueryId = None,
           status: Literal["pending", "confirmed", "unsubscribed"] | None = None,
           limit: Annotated[int, Query(ge=1, le=people.MAX_PAGE)] = 50,
           offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict:
    name = lists.get_list_by_id(session, list_id).name if list_id is not None else None
    found = people.search_subscribers(session, list_name=name, text=q, status=status, limit=limit, offset=offset)
    return {"total": found.total, "subscribers": [asdict(row) for row in found.rows]}


@router.post("/lists/{list_id}/subscribers", status_code=201, response_model=SubscriberOut,
             responses=documented(404))
def add(list_id: PathId, body: SubscriberAdd, session: SessionDep, settings: SettingsDep,
        editor: CurrentEditor) -> dict:
    """Pending until the person confirms (their confirmation mail is queued), unless `confirmed`. A suppressed
    address is refused (422), saying why and what lifts it."""
    name = lists.get_list_by_id(session, list_id).name
    row = people.add_subscriber(session, settings, list_name=name, email=body.email, name=body.name,
                                confirmed=body.confirmed)
    audit.record(session, editor, "subscriber_added", f"{row.email} on {name}")
    return asdict(row)


@router.post("/lists/{list_id}/subscribers/import", response_model=ImportOut, responses=documented(404))
async def import_csv(list_id: PathId, file: UploadFile, session: SessionDep, editor: CurrentEditor,
                     confirmed: bool = False) -> dict:
    """A CSV (generic email,name,status,subscribed_at,ip,source; FeedBurner; follow.it): each bad row is
    reported by its line number, the rest imported."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInputError(f"the file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB: split it")
    name = lists.get_list_by_id(session, list_id).name
    report = people.import_subscribers(session, list_name=name, data=data, filename=file.filename or "upload.csv",
                                       confirmed=confirmed)
    audit.record(session, editor, "imported", name, {"added": report.added, "rejected": len(report.errors)})
    return asdict(report)


@router.get("/lists/{list_id}/subscribers/export", response_class=Response, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **documented(404)})
def export(list_id: PathId, session: SessionDep) -> Response:
    """Every subscriber of the list as CSV, in the import format (consent provenance included)."""
    mailing_list = lists.get_list_by_id(session, list_id)
    out = io.StringIO()
    subscribers.export_csv(session, mailing_list, out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'})


@router.post("/suppressions", status_code=204, response_class=Response, responses=documented(404))
def suppress(body: Suppress, session: SessionDep, editor: CurrentEditor) -> Response:
    """No more mail to this address (from one list, or from every list); its subscriptions end."""
    name = lists.get_list_by_id(session, body.list_id).name if body.list_id is not None else None
    people.suppress_address(session, email=body.email, list_name=name)
    audit.record(session, editor, "suppressed", body.email if name is None else f"{body.email} on {name}")
    return Response(status_code=204)


@router.post("/subscribers/wipe", response_model=Wiped)
def wipe(body: Wipe, session: SessionDep, admin: CurrentAdmin) -> dict:
    """GDPR erasure (admins): every personal row of the person goes; a hash keeps them from being re-added."""
    erased = gdpr.wipe(session, body.email)
    audit.record(session, admin, "wiped", "a person (address not kept)", erased)
    return {"erased": erased}
