"""Subscribers: search, add, import a CSV (with its report, row by row), export, suppress, wipe (admins)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from publisher.errors import PublisherError
from publisher.models import MailingList, SubscriptionStatus
from publisher.models.suppression import address_hash
from publisher.services import audit, gdpr, people
from publisher.services import lists as list_service
from publisher.services import subscribers as subscriber_service
from publisher.web.auth import CurrentAdmin, CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.editor.common import done, page, problem

router = APIRouter(prefix="/subscribers")

SEARCH_LIMIT = 200
STATUSES = [s.value for s in SubscriptionStatus]
Text = Annotated[str, Form(max_length=400)]


@router.get("")
def subscribers_page(request: Request, session: SessionDep, q: str = "", list: str = "", status: str = "") -> Response:
    return _page(request, session, q=q[:200], list_id=_int(list), status_filter=status)


@router.post("")
def add(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor, email: Text = "",
        name: Text = "",
        list_id: Annotated[int, Form()] = 0, confirmed: Annotated[bool, Form()] = False) -> Response:
    mailing_list = _list(session, list_id)
    try:
        row = people.add_subscriber(session, settings, list_name=mailing_list.name, email=email, name=name or None,
                                    confirmed=confirmed)
    except PublisherError as exc:
        session.rollback()
        return _page(request, session, status=400, error=problem(exc), form={"email": email, "name": name})
    audit.record(session, editor, "subscriber_added", f"{mailing_list.name}: {row.email}", {"status": row.status})
    session.commit()
    return done("/editor/subscribers", "subscriber_added", q=row.email)


@router.post("/import")
def import_csv(request: Request, session: SessionDep, editor: CurrentEditor, file: Annotated[UploadFile, File()],
               list_id: Annotated[int, Form()] = 0, confirmed: Annotated[bool, Form()] = False) -> Response:
    mailing_list = _list(session, list_id)
    name = Path(file.filename or "upload.csv").name
    try:
        report = people.import_subscribers(session, list_name=mailing_list.name, data=file.file.read(),
                                           filename=name, confirmed=confirmed)
    except PublisherError as exc:
        session.rollback()
        return _page(request, session, status=400, error=problem(exc))
    audit.record(session, editor, "imported", f"{mailing_list.name}: {name}",
                 {"added": report.added, "unchanged": report.unchanged, "suppressed": len(report.suppressed),
                  "rejected": len(report.errors)})
    session.commit()
    return _page(request, session, report=report, report_list=mailing_list.name, report_file=name)


@router.get("/export")
def export_csv(session: SessionDep, editor: CurrentEditor, list: int = 0) -> Response:
    mailing_list = _list(session, list)
    out = io.StringIO()
    count = subscriber_service.export_csv(session, mailing_list, out)
    audit.record(session, editor, "exported", mailing_list.name, {"subscribers": count})
    session.commit()
    slug = "".join(c if c.isalnum() else "-" for c in mailing_list.name.lower()).strip("-") or "list"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-subscribers.csv"',
                             "Cache-Control": "no-store"})


@router.post("/suppress")
def suppress(request: Request, session: SessionDep, editor: CurrentEditor, email: Text = "") -> Response:
    try:
        people.suppress_address(session, email=email)
    except PublisherError as exc:
        session.rollback()
        return _page(request, session, status=400, error=problem(exc))
    address = subscriber_service.normalize_email(email)
    audit.record(session, editor, "suppressed", address)
    session.commit()
    return done("/editor/subscribers", "suppressed", q=address)


@router.post("/wipe")
def wipe(request: Request, session: SessionDep, admin: CurrentAdmin, email: Text = "",
         confirm: Text = "") -> Response:
    """GDPR erasure. Admins only; the address is typed twice (a slip of one field erases nobody)."""
    if not email.strip() or email.strip().lower() != confirm.strip().lower():
        return _page(request, session, status=400, error="type the address twice, the same both times, to wipe it")
    counts = gdpr.wipe(session, email.strip())
    # The log keeps the address's hash only: a wipe that left the address in the audit log would not be one.
    audit.record(session, admin, "wiped", f"sha256:{address_hash(email.strip())[:16]}", counts)
    session.commit()
    return done("/editor/subscribers", "wiped")


def _list(session, list_id: int) -> MailingList:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(404, f"no list #{list_id}")
    return mailing_list


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _page(request: Request, session, *, status: int = 200, q: str = "", list_id: int | None = None,
          status_filter: str = "", **context) -> Response:
    chosen = session.get(MailingList, list_id) if list_id else None
    found = people.search_subscribers(session, list_name=chosen.name if chosen else None, text=q,
                                      status=status_filter if status_filter in STATUSES else None,
                                      limit=SEARCH_LIMIT)
    return page(request, "subscribers.html", status=status, found=found, q=q, list_id=list_id,
                status_filter=status_filter, statuses=STATUSES, lists=list_service.all_lists(session),
                **context)
