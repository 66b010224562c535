"""Rendering editor pages: every one gets the editor, the CSRF token its forms carry, no caching (they show
private data) and no framing by other sites."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from publisher.web import auth
from publisher.web.deps import page_templates


def editor_page(request: Request, name: str, context: dict | None = None, *, status: int = 200,
                headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render templates/web/<name> (e.g. "editor/tokens.html") extending editor/base.html."""
    response = page_templates().TemplateResponse(
        request, name, {**auth.template_context(request), **(context or {})}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    # Framed only by our own pages (no clickjacking of a Send button); links leak no path to other sites.
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
