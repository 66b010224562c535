from fastapi import APIRouter

from publisher.services.database import is_up_to_date

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict:
    return {"ok": True, "schema_current": is_up_to_date()}
