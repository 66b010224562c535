"""/readyz: can this process do its work now? The database answers and holds the current schema, and the
broker answers. Every check is bounded in time (PostgreSQL's connect_timeout, Redis socket timeouts), so a
load balancer asking never waits on a hung dependency."""

from __future__ import annotations

import functools

from sqlalchemy import Engine, text

from publisher.config import Settings
from publisher.db import describe_database_error, make_engine


def check_readiness(settings: Settings) -> dict:
    checks = {"database": _database(settings), "broker": _broker(settings)}
    return {"ready": all(check["ok"] for check in checks.values()), "checks": checks}


@functools.cache
def _engine(database_url: str, timeout: float) -> Engine:
    return make_engine(database_url, create=False, pooled=False, connect_timeout=timeout)


def _database(settings: Settings) -> dict:
    from publisher.services.database import expected_heads

    try:
        with _engine(settings.database_url, settings.ready_timeout_seconds).connect() as connection:
            # The version table read directly: Alembic's MigrationContext logs two lines at every probe.
            current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", told in words
        return {"ok": False, "error": describe_database_error(exc, settings.database_url)}
    if current != expected_heads():
        return {"ok": False, "error": "the schema is not current: run `publisher init`"}
    return {"ok": True, "error": None}


def _broker(settings: Settings) -> dict:
    if settings.embedded:
        return {"ok": True, "error": None}  # a file beside the database: there when the database is
    import redis

    from publisher.services.queues import redis_client

    try:
        redis_client(settings).ping()
    except redis.RedisError as exc:
        return {"ok": False, "error": f"Redis did not answer: {exc}"}
    return {"ok": True, "error": None}
