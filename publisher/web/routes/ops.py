"""The ops routes: /metrics (Prometheus), and the /ops page with its admin actions.

Admins only (`auth.require_admin`): a logged-in admin's browser session, or an admin's API token as a bearer
token (Prometheus' `authorization` setting, scripts; PUBLISHER_API_TOKEN acts as one). Forms carry the
session's CSRF token, checked by `require_editor` like every editor form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from publisher.errors import InvalidInputError, NotFoundError, PublisherError
from publisher.models import Editor
from publisher.models.base import utcnow
from publisher.queue import enqueue
from publisher.services import audit, ops_actions, ops_charts
from publisher.services.metrics import render_metrics
from publisher.services.status import collect_status
from publisher.web.auth import csrf_token, require_admin
from publisher.web.charts import bar_chart, line_chart
from publisher.web.deps import SessionDep, SettingsDep, page_templates

router = APIRouter()


OpsDep = Annotated[Editor, Depends(require_admin)]


@router.get("/metrics", include_in_schema=False)
def metrics(_actor: OpsDep, session: SessionDep, settings: SettingsDep) -> Response:
    return Response(render_metrics(session, settings), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/ops/status.json", include_in_schema=False)
def status_json(_actor: OpsDep, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """The same document as `publisher status --json`."""
    return JSONResponse(jsonable_encoder(collect_status(session, settings)))


@router.get("/ops", response_class=HTMLResponse, include_in_schema=False)
def ops_page(request: Request, _actor: OpsDep, session: SessionDep, settings: SettingsDep,
             done: str | None = None) -> HTMLResponse:
    now = utcnow()
    charts = {
        "sent": line_chart(ops_charts.sent_per_minute(session, now=now), title="Messages sent per minute, last 24 h",
                           label="a minute", time_format="%H:%M"),
        "failures": bar_chart(ops_charts.failures_by_kind(session, now=now), title="Failures by kind"),
        "subscribers": line_chart(ops_charts.subscribers_over_time(session, now=now),
                                  title="Confirmed subscriptions, last 90 days", label="subscribers",
                                  time_format="%Y-%m-%d"),
    }
    return page_templates().TemplateResponse(request, "ops/page.html", {
        "status": collect_status(session, settings), "charts": charts, "done": done,
        "audit": audit.recent(session, limit=20), "now": now})


@router.get("/ops/confirm/{action}/{target}", response_class=HTMLResponse, include_in_schema=False)
def confirm(request: Request, action: str, target: str, _actor: OpsDep, session: SessionDep) -> HTMLResponse:
    if action not in ops_actions.ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    try:
        what = ops_actions.describe_target(session, action, target)
    except PublisherError as exc:
        raise HTTPException(404, str(exc)) from None
    return page_templates().TemplateResponse(request, "ops/confirm.html", {
        "action": action, "question": ops_actions.ACTIONS[action], "what": what, "target": target,
        "csrf_token": csrf_token(request)})


@router.post("/ops/actions/{action}/{target}", include_in_schema=False)
def act(action: str, target: str, actor: OpsDep, session: SessionDep,
        confirmed: Annotated[str, Form()] = "") -> RedirectResponse:
    if confirmed != "yes":
        raise HTTPException(400, "the action was not confirmed")
    wake = _run_action(session, actor, action, target)
    if wake is not None:
        enqueue(session, "send_digest", wake)  # sent when the request's transaction commits
    return RedirectResponse(f"/ops?done={action}", status_code=303)


def _run_action(session, actor: Editor, action: str, target: str) -> int | None:
    """The digest to wake afterwards, if any."""
    try:
        if action == "purge-queue":
            ops_actions.purge_queue(session, actor, target)
            return None
        target_id = ops_actions.parse_id(target)
        if action == "retry-row":
            return ops_actions.retry_row(session, actor, target_id)
        if action == "retry-send":
            return ops_actions.retry_send(session, actor, target_id)
        if action == "pause-send":
            ops_actions.pause_send(session, actor, target_id)
            return None
        if action == "requeue-send":
            return ops_actions.requeue_send(session, actor, target_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidInputError as exc:
        raise HTTPException(409, str(exc)) from None
    raise HTTPException(404, f"no action {action!r}")
