"""Use cases of the editor's view of the people on lists: search, add one, import a CSV, suppress an address.
(Export and wipe: services.subscribers.export_csv and services.gdpr.wipe.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import InvalidInputError
from publisher.models import SubscriptionStatus
from publisher.services import importer, members, suppression
from publisher.services.members import SubscriberRow, subscriber_row
from publisher.services.lists import get_list
from publisher.services.subscribers import find_subscriber, normalize_email, unsubscribe
from publisher.store import subscribers as store

MAX_PAGE = 500
EDITOR_SUPPRESSION = "editor"


@dataclass(frozen=True)
class SearchResult:
    total: int
    rows: list[SubscriberRow]


def search_subscribers(session: Session, *, list_name: str | None = None, text: str = "",
                       status: str | None = None, limit: int = 50, offset: int = 0) -> SearchResult:
    """Subscriptions whose address or name contains `text` (any case), on one list or all, newest last."""
    if status is not None and status not in {s.value for s in SubscriptionStatus}:
        raise InvalidInputError(f"status must be one of {', '.join(s.value for s in SubscriptionStatus)}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInputError(f"limit must be 1 to {MAX_PAGE} and offset at least 0")
    list_id = get_list(session, list_name).id if list_name else None
    total, page = store.search(session, list_id=list_id, text=text.strip(), status=status, limit=limit,
                               offset=offset)
    return SearchResult(total=total, rows=[subscriber_row(s, name) for s, name in page])


def add_subscriber(session: Session, settings: Settings, *, list_name: str, email: str, name: str | None = None,
                   confirmed: bool = False, source: str = "editor") -> SubscriberRow:
    """Pending until the person confirms (the confirmation mail is queued, as for a sign-up), unless
    `confirmed` (consent obtained elsewhere). A suppressed address is refused saying why and what lifts it
    (SuppressedAddressError, an InvalidInputError). Same use case as `publisher subscribers add`."""
    mailing_list = get_list(session, list_name)
    added = members.add_member(session, settings, mailing_list, email=email, name=name, confirmed=confirmed,
                               source=source)
    return subscriber_row(added.subscription, mailing_list.name)


def import_subscribers(session: Session, *, list_name: str, data: bytes, filename: str,
                       confirmed: bool = False) -> importer.ImportReport:
    """A CSV (generic, FeedBurner, follow.it): bad rows reported by line number, the rest imported."""
    return importer.import_csv_data(session, get_list(session, list_name), data, filename, confirmed=confirmed)


def suppress_address(session: Session, *, email: str, list_name: str | None = None,
                     reason: str = EDITOR_SUPPRESSION) -> None:
    """No more mail to this address (from one list, or from all); its subscriptions end."""
    address = normalize_email(email)
    list_id = get_list(session, list_name).id if list_name else None
    suppression.suppress(session, address, reason=reason, source="editor", list_id=list_id)
    subscriber = find_subscriber(session, address)
    if list_id is not None and subscriber is not None and store.subscription_of(
            session, subscriber_id=subscriber.id, list_id=list_id):
        unsubscribe(session, subscriber_id=subscriber.id, list_id=list_id, source="editor")
