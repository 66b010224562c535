"""Editor API for sends in progress: progress, pause, resume, cancel. Each handler: id → permission → one
service call → JSON; refusals from the one mapping (web/errors.py: 404 unknown, 409 not in a state that
allows it). Kept for the scripts that use it; /api/v1/sends is the same. For editors: their session, an API token of theirs, or PUBLISHER_API_TOKEN."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends

from publisher.services import audit, controls, sending
from publisher.web.auth import CurrentEditor, require_editor
from publisher.web.deps import SessionDep

router = APIRouter(prefix="/api/sends", tags=["sends"])


Editor = Depends(require_editor)  # an editor's session (with its CSRF token) or API token, or PUBLISHER_API_TOKEN


@router.get("", dependencies=[Editor])
def list_sends(session: SessionDep) -> list[dict]:
    return [asdict(controls.progress(session, d.id)) for d in controls.sends_in_progress(session)]


@router.get("/{digest_id}", dependencies=[Editor])
def send_progress(digest_id: int, session: SessionDep) -> dict:
    return asdict(controls.progress(session, digest_id))


@router.post("/{digest_id}/pause")
def pause(digest_id: int, session: SessionDep, editor: CurrentEditor) -> dict:
    state = asdict(sending.pause(session, digest_id))
    audit.record(session, editor, "paused", f"digest #{digest_id}")
    return state


@router.post("/{digest_id}/resume")
def resume(digest_id: int, session: SessionDep, editor: CurrentEditor) -> dict:
    state = asdict(sending.resume(session, digest_id))  # queued when the request commits
    audit.record(session, editor, "resumed", f"digest #{digest_id}")
    return state


@router.post("/{digest_id}/cancel")
def cancel(digest_id: int, session: SessionDep, editor: CurrentEditor) -> dict:
    cancelled, progress = sending.cancel(session, digest_id)
    state = {"cancelled_recipients": cancelled, **asdict(progress)}
    audit.record(session, editor, "cancelled", f"digest #{digest_id}",
                 {"cancelled_recipients": state["cancelled_recipients"]})
    return state
