"""WebSub callback: the hub's verification GET and its signed content POSTs, at /websub/{feed_id}/{secret}.

The secret in the path is the subscription's (services.websub.callback_url): without the current one, every
request is a 404 that changes nothing. Bodies are capped before they are read (web.limits: the feed size cap)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models.base import utcnow
from publisher.services import websub
from publisher.web.deps import SessionDep, SettingsDep

router = APIRouter()

# The challenge is the hub's text echoed back: never let a browser read it as HTML.
PLAIN = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _plain(text: str, status: int = 200) -> Response:
    return PlainTextResponse(text, status_code=status, headers=PLAIN)


@router.get("/websub/{feed_id}/{token}")
def verify(feed_id: str, token: str, session: SessionDep, settings: SettingsDep,
           mode: Annotated[str, Query(alias="hub.mode")] = "",
           topic: Annotated[str, Query(alias="hub.topic")] = "",
           challenge: Annotated[str, Query(alias="hub.challenge")] = "",
           lease_seconds: Annotated[str | None, Query(alias="hub.lease_seconds")] = None,
           reason: Annotated[str | None, Query(alias="hub.reason")] = None) -> Response:
    try:
        if mode == "denied":
            websub.record_denial(session, feed_id, token, topic, reason)
            answer = ""
        else:
            answer = websub.verify_intent(session, settings, feed_id, token,
                                          websub.Verification(mode, topic, challenge, lease_seconds), utcnow())
    except NotFoundError as exc:
        return _plain(str(exc), 404)
    except InvalidInputError as exc:
        return _plain(str(exc), 400)
    session.commit()  # before answering: a hub may push the moment it has our answer
    return _plain(answer)


@router.post("/websub/{feed_id}/{token}")
async def receive(feed_id: str, token: str, request: Request, session: SessionDep,
                  settings: SettingsDep) -> Response:
    try:  # who is calling, before a byte of the body is read
        sub = await run_in_threadpool(websub.subscription_at, session, feed_id, token)
    except NotFoundError as exc:
        return _plain(str(exc), 404)
    body = await request.body()  # at most PUBLISHER_MAX_FEED_BYTES: the body limit refused more with a 413
    # Parsing may take a while (a killable child process): off the event loop.
    await run_in_threadpool(websub.receive_push, session, settings, sub, body,
                            request.headers.get("content-type"), request.headers.get("x-hub-signature"))
    await run_in_threadpool(session.commit)
    # 2xx whatever happened: the spec says an unverified message is ignored, not refused.
    return Response(status_code=202)
