"""Feed polls counted for /metrics: by result, and errors by kind (one update per kind per batch)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from publisher.errors import BlockedAddressError, FeedParseError, FeedTooLargeError, FetchError, HTTPStatusError
from publisher.store import counters

POLLS = "publisher_feed_polls_total"
POLL_ERRORS = "publisher_feed_poll_errors_total"


def error_kind(error: Exception) -> str:
    """A small, fixed set of label values (never the message: labels must not grow without bound)."""
    if isinstance(error, HTTPStatusError):
        status = getattr(error, "status", None)
        return f"http_{status // 100}xx" if isinstance(status, int) else "http"
    for kind, cls in (("blocked_address", BlockedAddressError), ("too_large", FeedTooLargeError),
                      ("network", FetchError), ("parse", FeedParseError)):
        if isinstance(error, cls):
            return kind
    return "other"


def count_polls(session: Session, outcomes: list) -> None:
    """Add a batch of poll outcomes (ingest.gather.Outcome) to the shared counters."""
    results = Counter("error" if o.error is not None else "not_modified" if o.parsed is None else "ok"
                      for o in outcomes)
    kinds = Counter(error_kind(o.error) for o in outcomes if o.error is not None)
    for result, n in results.items():
        counters.add(session, POLLS, {"result": result}, n)
    for kind, n in kinds.items():
        counters.add(session, POLL_ERRORS, {"kind": kind}, n)
