"""/healthz: the process is up (no dependency asked: a restart would not help a database outage).
/readyz: the database and the broker answer and the schema is current; 503 otherwise, with the reason."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from publisher.services.readiness import check_readiness
from publisher.web.deps import SettingsDep

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict:
    return {"ok": True}


@router.get("/readyz")
async def readyz(settings: SettingsDep) -> JSONResponse:
    report = await run_in_threadpool(check_readiness, settings)
    return JSONResponse(report, status_code=200 if report["ready"] else 503)
