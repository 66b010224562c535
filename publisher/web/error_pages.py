"""HTTP errors a browser meets are pages, with a way home; API clients keep their JSON (our typed errors are
mapped in publisher.web.errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException

from publisher.web.routes.public import page

_TITLES = {404: "Page not found", 405: "Not allowed here"}


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def browser_error_page(request: Request, exc: HTTPException):
        if not _wants_html(request):
            return await http_exception_handler(request, exc)
        message = ("There is nothing at this address. The lists you can join are on the home page."
                   if exc.status_code == 404 else str(exc.detail))
        return page(request, "error.html", {"title": _TITLES.get(exc.status_code, "Something went wrong"),
                                            "message": message, "home_link": True}, status=exc.status_code)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")
