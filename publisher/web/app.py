"""The web app: the public home and archive, pages for subscribers, the editor (behind accounts), the APIs,
and the ops pages and probes."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from publisher.config import get_settings
from publisher.web import auth, errors
from publisher.web.error_pages import install_error_pages
from publisher.web.limits import BodyLimit, body_limits
from publisher.web.routes import (accounts, api, editor, health, home, login, ops, preferences, public, sends,
                                  subscribe, websub)


log = logging.getLogger("publisher.web")


def create_app() -> FastAPI:
    app = FastAPI(title="publisher", docs_url="/api/docs", openapi_url="/api/openapi.json", lifespan=_lifespan)
    # Every body is capped before a route reads it (a few KB; a WebSub push, a feed's size).
    app.add_middleware(BodyLimit, limits=body_limits(get_settings()))
    auth.install(app)
    errors.install(app)  # our typed errors -> HTTP, in one place
    # Vendored CSS and scripts of the editor (no CDN: the pages work offline and leak nothing to third parties).
    app.mount("/static", StaticFiles(directory=get_settings().resolved_templates_dir() / "web" / "static"),
              name="static")
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(subscribe.router)
    app.include_router(preferences.router)
    app.include_router(websub.router)
    app.include_router(sends.router)
    app.include_router(api.router)
    app.include_router(login.router)
    app.include_router(accounts.router)
    app.include_router(editor.router)
    app.include_router(ops.router)
    app.include_router(home.router)
    install_error_pages(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    yield


def _warm_up() -> None:
    """What the first WebSub push or sign-up would otherwise wait for: a parser process, and the Celery app
    that queues the work (a few hundred ms to import). A push after a restart is then as quick as any."""
    try:
        import workers.tasks  # noqa: F401
        from publisher.ingest.guard import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - only a head start: the first request does the same if this failed
        log.exception("warm-up failed; the first request will start what it needs")
