"""The web app: public pages for subscribers (unsubscribe today) and a health check for ops."""

from __future__ import annotations

from fastapi import FastAPI

from publisher.config import get_settings
from publisher.web.limits import BodyLimit, body_limits
from publisher.web.routes import health, preferences, public, sends, subscribe, websub


def create_app() -> FastAPI:
    app = FastAPI(title="publisher", docs_url="/api/docs", openapi_url="/api/openapi.json")
    # Every body is capped before a route reads it (a few KB; a WebSub push, a feed's size).
    app.add_middleware(BodyLimit, limits=body_limits(get_settings()))
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(subscribe.router)
    app.include_router(preferences.router)
    app.include_router(websub.router)
    app.include_router(sends.router)
    return app
