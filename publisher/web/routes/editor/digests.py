"""Digests: a list's next digest exactly as it will be sent (HTML at desktop and phone widths, the text part,
the caniemail findings), the intro note and subject the editor writes for it, a test send, send now, the
list's schedule; a send's live progress (polled as JSON) with pause, resume and cancel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from publisher.compose.schedule import next_slot
from publisher.errors import NotFoundError, PublisherError
from publisher.models import Digest, MailingList
from publisher.models.base import utcnow
from publisher.services import audit, controls, drafts, previews, sending
from publisher.services import lists as list_service
from publisher.services.overview import next_digests
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.editor.common import done, page, problem

router = APIRouter()

# The preview is a whole mail in a frame: no script may run in it, nothing may load from it but its images.
PREVIEW_POLICY = "sandbox; default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"


@router.get("/digests")
def digests_page(request: Request, session: SessionDep) -> Response:
    sends = [(digest, controls.progress(session, digest.id)) for digest in controls.sends_in_progress(session)]
    return page(request, "digests.html", lists=list_service.all_lists(session), sends=sends,
                upcoming=next_digests(session, now=utcnow()))


@router.get("/digests/{list_id}")
def next_digest(request: Request, session: SessionDep, settings: SettingsDep, list_id: int) -> Response:
    return _next_digest(request, session, settings, _list(session, list_id))


@router.get("/digests/{list_id}/preview.html")
def preview_html(session: SessionDep, settings: SettingsDep, list_id: int) -> Response:
    preview = previews.preview_for(session, settings, list_name=_list(session, list_id).name)
    return Response(preview.html, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "no-store"})


@router.post("/digests/{list_id}/draft")
def save_draft(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor, list_id: int,
               subject: Annotated[str, Form(max_length=1000)] = "",
               intro_note: Annotated[str, Form(max_length=20000)] = "") -> Response:
    mailing_list = _list(session, list_id)
    try:
        drafts.save_draft(session, mailing_list, subject=subject, intro_note=intro_note,
                          editor_email=getattr(editor, "email", None))
    except PublisherError as exc:
        session.rollback()
        return _next_digest(request, session, settings, mailing_list, status=400, error=problem(exc),
                            form={"subject": subject, "intro_note": intro_note})
    audit.record(session, editor, "draft_saved", mailing_list.name)
    session.commit()
    return done(f"/editor/digests/{list_id}", "draft_saved")


@router.post("/digests/{list_id}/test")
def test_send(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor, list_id: int,
              to: Annotated[str, Form(max_length=400)] = "") -> Response:
    mailing_list = _list(session, list_id)
    try:
        sent = sending.test_send(session, settings, list_name=mailing_list.name, to=to)
    except PublisherError as exc:
        return _next_digest(request, session, settings, mailing_list, status=400, error=problem(exc), test_to=to)
    audit.record(session, editor, "test_sent", f"{mailing_list.name}: {sent.to}")
    session.commit()
    return done(f"/editor/digests/{list_id}", "test_sent", to=sent.to)


@router.post("/digests/{list_id}/send")
def send_now(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor,
             list_id: int) -> Response:
    mailing_list = _list(session, list_id)
    try:
        digest = sending.send_now(session, settings, list_name=mailing_list.name)
    except PublisherError as exc:
        session.rollback()
        return _next_digest(request, session, settings, mailing_list, status=400, error=problem(exc))
    if digest is None:
        return done(f"/editor/digests/{list_id}", "nothing_new")
    audit.record(session, editor, "sent", mailing_list.name,
                 {"digest": digest.id, "recipients": digest.recipient_count, "posts": digest.post_count})
    session.commit()  # the send is queued by this commit (publisher.queue)
    return done(f"/editor/sends/{digest.id}", "send_started")


@router.get("/sends/{digest_id}")
def send_page(request: Request, session: SessionDep, digest_id: int) -> Response:
    digest = _digest(session, digest_id)
    return page(request, "send.html", digest=digest, list_name=session.get(MailingList, digest.list_id).name,
                progress=_progress(session, digest_id))


@router.get("/sends/{digest_id}/progress")
def send_progress(session: SessionDep, digest_id: int) -> dict:
    """What the send page polls: sent, failed, rate, ETA and the share settled, without reloading."""
    _digest(session, digest_id)
    return _progress(session, digest_id)


@router.post("/sends/{digest_id}/{action}")
def control(request: Request, session: SessionDep, editor: CurrentEditor, digest_id: int, action: str) -> Response:
    use_case = {"pause": sending.pause, "resume": sending.resume, "cancel": sending.cancel}.get(action)
    digest = _digest(session, digest_id)
    if use_case is None:
        raise HTTPException(404, f"no action {action!r} on a send")
    try:
        use_case(session, digest_id)
    except PublisherError as exc:
        session.rollback()
        return page(request, "send.html", status=409, error=problem(exc), digest=digest,
                    list_name=session.get(MailingList, digest.list_id).name, progress=_progress(session, digest_id))
    past = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
    audit.record(session, editor, past, f"digest #{digest_id}")
    session.commit()
    return done(f"/editor/sends/{digest_id}", past)


def _progress(session, digest_id: int) -> dict:
    state = controls.progress(session, digest_id)
    settled = state.settled
    percent = 100.0 if not state.recipients else round(100.0 * settled / state.recipients, 1)
    return {**asdict(state), "settled": settled, "percent": percent,
            "active": state.status in ("sending", "paused")}


def _next_digest(request: Request, session, settings, mailing_list: MailingList, *, status: int = 200,
                 **context) -> Response:
    draft = drafts.draft_of(session, mailing_list.id)
    form = context.pop("form", None) or {"subject": (draft.subject if draft else "") or "",
                                         "intro_note": (draft.intro_note if draft else "") or ""}
    try:
        preview = previews.preview_for(session, settings, list_name=mailing_list.name)
        findings, preview_error = previews.lint_preview(preview), None
    except PublisherError as exc:  # no posts yet, a template that fails: say so, keep the forms usable
        preview, findings, preview_error = None, [], problem(exc)
    try:
        latest = controls.latest_digest(session, mailing_list)
    except NotFoundError:
        latest = None
    return page(request, "digest.html", status=status, mailing_list=mailing_list, preview=preview,
                preview_error=preview_error, findings=findings, draft=draft, form=form, latest=latest,
                next_at=next_slot(utcnow(), cadence=mailing_list.cadence, send_at=mailing_list.send_at,
                                  timezone=mailing_list.timezone, weekday=mailing_list.weekday),
                test_to=context.pop("test_to", request.query_params.get("to", "")), **context)


def _list(session, list_id: int) -> MailingList:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(404, f"no list #{list_id}")
    return mailing_list


def _digest(session, digest_id: int) -> Digest:
    digest = session.get(Digest, digest_id)
    if digest is None:
        raise HTTPException(404, f"no digest #{digest_id}")
    return digest
