"""What a platform client does for the cross-post ledger (a Protocol, like the Mailer), and the one way they
all speak HTTP: httpx through the SSRF guard, answers mapped to typed errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from publisher.crosspost.summary import Rules, Summary
from publisher.errors import (
    BlockedAddressError,
    CrosspostAuthError,
    CrosspostRefusedError,
    CrosspostRetryError,
    FetchError,
)
from publisher.ingest.ssrf import Policy, check_url


@dataclass(frozen=True)
class Publication:
    """One post for one target. `key` is stable per post x target (Mastodon's Idempotency-Key, Bluesky's
    record key, the webhook's event id), so every retry is the same request."""

    key: str
    summary: Summary
    document: dict  # the whole post, structured (the webhook's body)
    created_at: datetime
    revision: str  # the post's content hash: an edit is a new revision
    image_url: str | None = None
    description: str = ""  # the link card's description
    remote_id: str | None = None  # set: edit what was posted before instead of posting


@dataclass(frozen=True)
class Posted:
    remote_id: str
    remote_url: str | None
    reply: str


class Poster(Protocol):
    platform: str

    def rules(self) -> Rules:
        """How this target counts (an instance may allow more than 500 characters)."""

    def verify(self) -> str:
        """Check the credentials without posting; who we are there."""

    def find(self, publication: Publication) -> Posted | None:
        """Our earlier post of this publication, if the platform has it (after an outcome we could not see)."""

    def publish(self, publication: Publication) -> Posted:
        """Post (or edit) it. Raises CrosspostRetryError, CrosspostRefusedError or CrosspostAuthError."""

    def close(self) -> None: ...


def request(client: httpx.Client, method: str, url: str, *, policy: Policy, what: str,
            **kwargs) -> httpx.Response:
    """One request through the guard; a 2xx response, or a typed error saying what to do."""
    try:
        check_url(url, policy=policy, resolve_names=False)
        response = client.request(method, url, **kwargs)
    except BlockedAddressError as exc:
        raise CrosspostRefusedError(f"{what}: {exc}") from exc
    except FetchError as exc:
        raise CrosspostRefusedError(f"{what}: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise CrosspostRetryError(f"{what}: no answer from {_host(url)} in time ({type(exc).__name__}); "
                                  f"the same request will be sent again") from exc
    except httpx.TransportError as exc:
        raise CrosspostRetryError(f"{what}: could not reach {_host(url)}: {exc}") from exc
    raise_for_status(response, what)
    return response


def raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    reason, code = _reason(response)
    detail = f"{what}: {status} {reason}"
    if status in (408, 425, 429) or status >= 500:
        raise CrosspostRetryError(detail, retry_at=retry_at(response), status=status, code=code)
    if status in (401, 403):
        raise CrosspostAuthError(f"{detail} (check the target's credentials: `publisher crosspost targets test`)",
                                 status=status, code=code)
    raise CrosspostRefusedError(detail, status=status, code=code)


def retry_at(response: httpx.Response, now: datetime | None = None) -> datetime | None:
    """When the platform says to come back: Retry-After (seconds or a date), RateLimit-Reset (Bluesky, epoch
    seconds), X-RateLimit-Reset (Mastodon, a date)."""
    now = now or datetime.now(UTC)
    headers = response.headers
    value = headers.get("retry-after")
    if value and value.strip().isdigit():
        return now + timedelta(seconds=int(value))
    for candidate in (value, headers.get("ratelimit-reset"), headers.get("x-ratelimit-reset")):
        moment = _moment(candidate, now)
        if moment is not None:
            return moment
    return None


def _moment(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        number = int(value)
        # RateLimit-Reset: epoch seconds (Bluesky); a small number is a delay in seconds (the IETF draft).
        return datetime.fromtimestamp(number, UTC) if number > 10**9 else now + timedelta(seconds=number)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(response: httpx.Response) -> tuple[str, str | None]:
    """What the platform said, for a person; and its error name (XRPC's `error`), for us."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300], None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "message", "error_description") if body.get(k)]
        if parts:
            code = body.get("error") if isinstance(body.get("error"), str) else None
            return ": ".join(dict.fromkeys(parts))[:300], code
    return str(body)[:300], None


def _host(url: str) -> str:
    return urlsplit(url).netloc or url
