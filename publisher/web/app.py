"""The web app: public pages for subscribers (unsubscribe today) and a health check for ops."""

from __future__ import annotations

from fastapi import FastAPI

from publisher.web.routes import health, public


def create_app() -> FastAPI:
    app = FastAPI(title="publisher", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.include_router(health.router)
    app.include_router(public.router)
    return app
