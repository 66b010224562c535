"""Dashboard (recent posts, next digests, sends in progress, failing feeds) and history of past digests."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from publisher.models.base import utcnow
from publisher.services import history as history_service
from publisher.services import overview
from publisher.web.deps import SessionDep
from publisher.web.routes.editor.common import page

router = APIRouter()


@router.get("/")
def dashboard(request: Request, session: SessionDep) -> Response:
    return page(request, "dashboard.html", board=overview.dashboard(session, now=utcnow()))


@router.get("/history")
def history(request: Request, session: SessionDep) -> Response:
    return page(request, "history.html", past=history_service.past_digests(session))
