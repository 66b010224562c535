"""Request body limits: every body is capped before it is read, with a cap per route.

An ASGI middleware, below every route: a declared Content-Length over the cap is answered 413 at once,
without reading a byte of the body; a body without one (chunked, streamed) is counted as the app reads it,
and the moment it passes the cap the client gets its 413 and the app a disconnect. The connection is then
closed, so nothing more is read: memory stays flat whatever the client sends.
"""

from __future__ import annotations

from collections.abc import Mapping

from publisher.config import Settings

# Sign-up forms and JSON, preference forms: a few hundred bytes; a few KB leaves room for long names.
DEFAULT_BODY_LIMIT = 16 * 1024


def body_limits(settings: Settings) -> dict[str, int]:
    """Caps by path prefix, in bytes (the longest matching prefix wins; DEFAULT_BODY_LIMIT elsewhere).
    A route that takes bigger bodies gets its line here, e.g. the editor's CSV import:
    `"/editor/import": settings.max_import_bytes`."""
    return {"/websub/": settings.max_feed_bytes,  # a hub pushes a whole feed
            "/editor/subscribers/import": settings.max_import_bytes}


class BodyLimit:
    """The middleware: `app.add_middleware(BodyLimit, limits=body_limits(settings))`."""

    def __init__(self, app, *, limits: Mapping[str, int], default: int = DEFAULT_BODY_LIMIT):
        self.app, self.default = app, default
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared, chunked = _framing(scope)
        if declared > limit:  # uvicorn has read the headers only: refuse before the body
            await _too_large(send, limit)
            return
        counted = _Counted(receive, send, limit, has_body=declared > 0 or chunked)
        try:
            await self.app(scope, counted.receive, counted.send)
        except Exception:
            if not counted.refused:  # the app's reaction to the disconnect we gave it is no error of ours
                raise


def _framing(scope) -> tuple[int, bool]:
    """The declared Content-Length (0 if none), and whether the body comes chunked."""
    declared, chunked = 0, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():  # the server refused malformed ones
            declared = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return declared, chunked


class _Counted:
    """receive/send for the app: counts the body as it arrives, and answers 413 when it passes the cap."""

    def __init__(self, receive, send, limit: int, *, has_body: bool):
        self._receive, self._send, self.limit = receive, send, limit
        self.received, self.started, self.refused = 0, False, False
        self.unread = has_body  # until the body's last part was read

    async def receive(self):
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.unread = message.get("more_body", False)
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.refused = True
                if not self.started:
                    await _too_large(self._send, self.limit)
                return {"type": "http.disconnect"}  # the app stops reading; what it answers is dropped
        return message

    async def send(self, message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if self.unread:  # answered without reading the body: close, or the server reads it to the end
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


async def _too_large(send, limit: int) -> None:
    body = f"request body too large: at most {limit:,} bytes here\n".encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"connection", b"close"),  # the rest of the body is never read: the connection cannot be reused
    ]})
    await send({"type": "http.response.body", "body": body})
