"""Use case: past digests with their figures (recipients, sent, failed, unsubscribes that followed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError
from publisher.services.lists import get_list
from publisher.store import digests as store

MAX_PAGE = 200


@dataclass(frozen=True)
class PastDigest:
    digest_id: int
    list_name: str
    subject: str
    status: str
    reason: str | None
    edition: str | None
    created_at: datetime
    finished_at: datetime | None
    posts: int
    recipients: int
    sent: int
    failed: int
    cancelled: int
    unsubscribes: int  # from the list, between this digest and the list's next one (or now)


def past_digests(session: Session, *, list_name: str | None = None, limit: int = 50,
                 offset: int = 0) -> list[PastDigest]:
    """Newest first."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInputError(f"limit must be 1 to {MAX_PAGE} and offset at least 0")
    list_id = get_list(session, list_name).id if list_name else None
    rows = store.recent(session, list_id=list_id, limit=limit, offset=offset)
    counts = store.delivery_counts(session, [digest.id for digest, _ in rows])
    out = []
    for digest, name in rows:
        c = counts[digest.id]
        following = store.unsubscribes_between(session, digest.list_id, digest.created_at,
                                               store.next_digest_at(session, digest))
        out.append(PastDigest(
            digest_id=digest.id, list_name=name, subject=digest.subject, status=digest.status,
            reason=digest.status_reason, edition=digest.edition, created_at=digest.created_at,
            finished_at=digest.finished_at, posts=digest.post_count, recipients=digest.recipient_count,
            sent=c["sent"], failed=c["hard_failed"] + c["unknown"], cancelled=c["cancelled"],
            unsubscribes=following))
    return out
