"""WebSub callback: the hub's verification GET and its signed content POSTs, for /websub/{feed_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.models.base import utcnow
from publisher.services import websub
from publisher.web.deps import SessionDep, SettingsDep

router = APIRouter()


@router.get("/websub/{feed_id}")
def verify(feed_id: int, session: SessionDep,
           mode: Annotated[str, Query(alias="hub.mode")] = "",
           topic: Annotated[str, Query(alias="hub.topic")] = "",
           challenge: Annotated[str, Query(alias="hub.challenge")] = "",
           lease_seconds: Annotated[str | None, Query(alias="hub.lease_seconds")] = None,
           reason: Annotated[str | None, Query(alias="hub.reason")] = None) -> Response:
    if mode == "denied":
        websub.record_denial(session, feed_id, topic, reason)
        session.commit()
        return Response(status_code=200)
    answer = websub.verify_intent(session, feed_id, websub.Verification(mode, topic, challenge, lease_seconds),
                                  utcnow())
    session.commit()  # before answering: a hub may push the moment it has our answer
    if answer is None:
        return Response("not a subscription we asked for", status_code=404, media_type="text/plain")
    return PlainTextResponse(answer)


@router.post("/websub/{feed_id}")
async def receive(feed_id: int, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    body = await request.body()
    if len(body) > settings.max_feed_bytes:
        return Response("too large", status_code=413, media_type="text/plain")
    # Parsing may take a while (a killable child process): off the event loop.
    await run_in_threadpool(websub.receive_push, session, settings, feed_id, body,
                            request.headers.get("content-type"), request.headers.get("x-hub-signature"))
    await run_in_threadpool(session.commit)
    # 2xx whatever happened: the spec says an unverified message is ignored, not refused.
    return Response(status_code=202)
