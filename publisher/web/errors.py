"""The one mapping from our typed errors (publisher/errors.py) to HTTP: every route that lets a
PublisherError through answers JSON {"error": <what kind>, "detail": <the message, which says what to do>}
with the status below. The most specific class listed wins (FeedMovedError is an AlreadyExistsError: 409)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from publisher.errors import (
    AlreadyExistsError,
    ConfigError,
    CrosspostError,
    DeliveryError,
    FeedParseError,
    FetchError,
    InvalidInputError,
    NotFoundError,
    PublisherError,
    RateLimitedError,
    StateError,
)

log = logging.getLogger("publisher.web")

# (class, status, what kind): looked up along the error's MRO, so a subclass may have its own line.
STATUS: dict[type[PublisherError], tuple[int, str]] = {
    NotFoundError: (404, "not found"),
    AlreadyExistsError: (409, "already exists"),
    StateError: (409, "not possible in this state"),
    InvalidInputError: (422, "invalid input"),
    FetchError: (422, "the feed cannot be fetched"),
    FeedParseError: (422, "not a feed"),
    RateLimitedError: (429, "too many requests"),
    DeliveryError: (502, "the mail server refused"),
    CrosspostError: (502, "the platform refused"),
    ConfigError: (500, "a setting is wrong"),
    PublisherError: (400, "refused"),
}


class ErrorOut(BaseModel):
    """Every refusal: what kind of error, and the message that says what to do."""

    error: str
    detail: str


def status_of(exc: PublisherError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[PublisherError]


def error_response(exc: PublisherError) -> JSONResponse:
    status, kind = status_of(exc)
    if status >= 500:
        log.error("%s: %s", kind, exc)
    headers = {"Retry-After": "60"} if status == 429 else None
    return JSONResponse({"error": kind, "detail": str(exc) or kind}, status_code=status, headers=headers)


async def _handle(request: Request, exc: PublisherError) -> JSONResponse:
    return error_response(exc)


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A request the API's document already refuses (a missing field, a wrong type): the same body as every
    other refusal, naming each field and what is wrong (never echoing the value)."""
    if not request.url.path.startswith(API_PREFIX):
        return await request_validation_exception_handler(request, exc)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
        problems.append(f"{where or 'the request'}: {error.get('msg', 'invalid')}")
    return JSONResponse({"error": "invalid input", "detail": "; ".join(problems)[:2000]}, status_code=422)


API_PREFIX = "/api/v1/"


def install(app: FastAPI) -> None:
    app.add_exception_handler(PublisherError, _handle)
    app.add_exception_handler(RequestValidationError, _invalid_request)


DESCRIPTIONS = {400: "Refused", 401: "No valid credentials", 403: "Not allowed (CSRF token, or admins only)",
                404: "Not found", 409: "Already exists, or not possible in this state", 422: "Invalid input",
                429: "Too many requests", 502: "The mail server or platform refused"}


def documented(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for these statuses: JSON ErrorOut, whatever the route's own success type (an HTML
    preview's 404 is JSON too)."""
    body = {"application/json": {"schema": ErrorOut.model_json_schema()}}
    return {status: {"description": DESCRIPTIONS.get(status, "Refused"), "content": body} for status in statuses}
