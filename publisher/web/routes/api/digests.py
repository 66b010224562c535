"""/api/v1 digests: the next digest (preview, lint, intro note and subject), test send, send now, the sends
in progress (progress, pause, resume, cancel) and the history."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse

from publisher.services import audit, controls, drafts, history, lists, previews, sending
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.errors import documented
from publisher.web.schemas import PathId, QueryId
from publisher.web.schemas.digests import (
    CancelOut,
    Draft,
    LintOut,
    PastDigestOut,
    PreviewOut,
    ProgressOut,
    SendOut,
    TestSendIn,
    TestSendOut,
)

router = APIRouter(tags=["digests"])
NEXT = "/lists/{list_id}/next"


@router.get(NEXT, response_model=PreviewOut, responses=documented(404))
def preview(list_id: PathId, session: SessionDep, settings: SettingsDep) -> dict:
    """The list's next digest exactly as it will be sent (a sample reader's links). Writes nothing."""
    mailing_list = lists.get_list_by_id(session, list_id)
    shown = previews.preview_for(session, settings, list_name=mailing_list.name)
    draft = drafts.draft_of(session, list_id)
    return {"list_name": shown.list_name, "subject": shown.subject, "html": shown.html, "text": shown.text,
            "post_count": shown.post_count, "only_old_posts": shown.only_old_posts,
            "intro_note": (draft.intro_note or "") if draft else "", "draft_subject": (draft.subject or "") if draft else ""}


@router.get(NEXT + "/html", response_class=HTMLResponse, responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **documented(404)})
def preview_html(list_id: PathId, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    name = lists.get_list_by_id(session, list_id).name
    # Shown in an iframe of our own pages only; its links must not run script in our origin.
    return HTMLResponse(previews.preview_for(session, settings, list_name=name).html,
                        headers={"Content-Security-Policy": "sandbox; default-src 'none'; img-src * data:; "
                                                            "style-src 'unsafe-inline'"})


@router.get(NEXT + "/text", response_class=PlainTextResponse, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **documented(404)})
def preview_text(list_id: PathId, session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    name = lists.get_list_by_id(session, list_id).name
    return PlainTextResponse(previews.preview_for(session, settings, list_name=name).text)


@router.get(NEXT + "/lint", response_model=LintOut, responses=documented(404))
def lint(list_id: PathId, session: SessionDep, settings: SettingsDep) -> dict:
    """HTML/CSS of the next digest that Gmail, Outlook or Apple Mail do not (fully) support (caniemail)."""
    name = lists.get_list_by_id(session, list_id).name
    findings = previews.lint_preview(previews.preview_for(session, settings, list_name=name))
    counts = {level: sum(f.level == level for f in findings) for level in ("unsupported", "partial", "ignored")}
    return {**counts, "findings": [f.as_dict() for f in findings]}


@router.put(NEXT + "/draft", response_model=Draft, responses=documented(404))
def save_draft(list_id: PathId, body: Draft, session: SessionDep, editor: CurrentEditor) -> dict:
    """The intro note (shown above the posts, in both parts) and subject of the next digest; both empty
    removes them. Sent once, with the next digest composed."""
    mailing_list = lists.get_list_by_id(session, list_id)
    draft = drafts.save_draft(session, mailing_list, subject=body.subject, intro_note=body.intro_note,
                              editor_email=editor.email)
    audit.record(session, editor, "draft_saved", mailing_list.name)
    return {"subject": (draft.subject or "") if draft else "", "intro_note": (draft.intro_note or "") if draft else ""}


@router.post(NEXT + "/test", response_model=TestSendOut, responses=documented(404))
def test_send(list_id: PathId, body: TestSendIn, session: SessionDep, settings: SettingsDep,
              editor: CurrentEditor) -> dict:
    """Send the next digest, as it will go, to one address (subject marked [Test]), queued like every mail;
    nothing of the list changes."""
    name = lists.get_list_by_id(session, list_id).name
    sent = sending.test_send(session, settings, list_name=name, to=body.to)
    audit.record(session, editor, "test_sent", name, {"to": sent.to})
    return asdict(sent)


@router.post(NEXT + "/send", status_code=202, response_model=SendOut, responses=documented(404))
def send_now(list_id: PathId, session: SessionDep, settings: SettingsDep, editor: CurrentEditor) -> dict:
    """Compose what is new and send it to every confirmed subscriber now (queued when this request commits);
    follow it at /api/v1/sends/{digest_id}. digest_id null: nothing new, nothing sent."""
    name = lists.get_list_by_id(session, list_id).name
    digest = sending.send_now(session, settings, list_name=name)
    if digest is None:
        return {"digest_id": None, "status": None, "reason": None, "posts": 0, "recipients": 0}
    audit.record(session, editor, "sent", f"digest #{digest.id}", {"list": name})
    return {"digest_id": digest.id, "status": digest.status, "reason": digest.status_reason,
            "posts": digest.post_count, "recipients": digest.recipient_count}


@router.get("/sends", response_model=list[ProgressOut])
def sends(session: SessionDep) -> list[dict]:
    """Sends going on, paused or failed: every send a person may have to act on."""
    return [asdict(controls.progress(session, d.id)) for d in controls.sends_in_progress(session)]


@router.get("/sends/{digest_id}", response_model=ProgressOut, responses=documented(404))
def progress(digest_id: PathId, session: SessionDep) -> dict:
    """Sent, failed, pending, the rate over the last minute and the time left."""
    return asdict(controls.progress(session, digest_id))


@router.post("/sends/{digest_id}/pause", response_model=ProgressOut, responses=documented(404, 409))
def pause(digest_id: PathId, session: SessionDep, editor: CurrentEditor) -> dict:
    state = sending.pause(session, digest_id)
    audit.record(session, editor, "paused", f"digest #{digest_id}")
    return asdict(state)


@router.post("/sends/{digest_id}/resume", response_model=ProgressOut, responses=documented(404, 409))
def resume(digest_id: PathId, session: SessionDep, editor: CurrentEditor) -> dict:
    state = sending.resume(session, digest_id)  # the workers are woken when this request commits
    audit.record(session, editor, "resumed", f"digest #{digest_id}")
    return asdict(state)


@router.post("/sends/{digest_id}/cancel", response_model=CancelOut, responses=documented(404, 409))
def cancel(digest_id: PathId, session: SessionDep, editor: CurrentEditor) -> dict:
    cancelled, state = sending.cancel(session, digest_id)
    audit.record(session, editor, "cancelled", f"digest #{digest_id}", {"cancelled_recipients": cancelled})
    return {"cancelled_recipients": cancelled, **asdict(state)}


@router.get("/history", response_model=list[PastDigestOut], responses=documented(404))
def past(session: SessionDep, list_id: QueryId = None,
         limit: Annotated[int, Query(ge=1, le=history.MAX_PAGE)] = 50,
         offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict]:
    """Past digests, newest first, with recipients, sent, failed and the unsubscribes that followed."""
    name = lists.get_list_by_id(session, list_id).name if list_id is not None else None
    return [asdict(d) for d in history.past_digests(session, list_name=name, limit=limit, offset=offset)]
