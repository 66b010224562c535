"""Editor API for sends in progress: progress, pause, resume, cancel. Each handler: id → permission → one
service call → JSON. Protected by PUBLISHER_API_TOKEN (a bearer token); without one the API is closed."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException

from publisher.errors import InvalidInputError, NotFoundError
from publisher.services import controls
from publisher.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/sends", tags=["sends"])


def require_editor(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    token = settings.api_token
    if not token:
        raise HTTPException(403, "the editor API is closed: set PUBLISHER_API_TOKEN to open it")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})


Editor = Depends(require_editor)


@router.get("", dependencies=[Editor])
def list_sends(session: SessionDep) -> list[dict]:
    return [asdict(controls.progress(session, d.id)) for d in controls.sends_in_progress(session)]


@router.get("/{digest_id}", dependencies=[Editor])
def send_progress(digest_id: int, session: SessionDep) -> dict:
    return _answer(lambda: asdict(controls.progress(session, digest_id)))


@router.post("/{digest_id}/pause", dependencies=[Editor])
def pause(digest_id: int, session: SessionDep) -> dict:
    return _answer(lambda: (controls.pause_send(session, digest_id),
                            asdict(controls.progress(session, digest_id)))[1])


@router.post("/{digest_id}/resume", dependencies=[Editor])
def resume(digest_id: int, session: SessionDep) -> dict:
    from workers.tasks import send_digest

    state = _answer(lambda: (controls.resume_send(session, digest_id),
                             asdict(controls.progress(session, digest_id)))[1])
    send_digest.delay(digest_id)  # after the commit: the worker must see the send running
    return state


@router.post("/{digest_id}/cancel", dependencies=[Editor])
def cancel(digest_id: int, session: SessionDep) -> dict:
    return _answer(lambda: {"cancelled_recipients": controls.cancel_send(session, digest_id),
                            **asdict(controls.progress(session, digest_id))})


def _answer(call):
    try:
        return call()
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidInputError as exc:
        raise HTTPException(409, str(exc)) from None
