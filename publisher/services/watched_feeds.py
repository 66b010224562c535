"""Use cases of the editor's hand on the feeds the watcher follows: see them with their health, pause and
resume polling, remove one. (Adding and checking a feed: services.feeds.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from publisher.errors import NotFoundError, StateError
from publisher.models import Feed, HubSubscription
from publisher.services.feeds import get_feed
from publisher.store import feeds as store

ACTIVE, PAUSED, RETIRED = "active", "paused", "retired"


@dataclass(frozen=True)
class FeedHealth:
    id: int
    url: str
    name: str | None
    title: str | None
    display_name: str
    site_url: str | None
    status: str  # active | paused | retired
    hub_url: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_http_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    poll_interval_minutes: float | None
    hub_state: str  # no hub | not subscribed | requested | active | denied | failed | unsubscribed
    hub_expires_at: datetime | None
    hub_error: str | None


def feed_health(session: Session) -> list[FeedHealth]:
    """Every feed with its health, failing ones first."""
    return [_health(feed, sub) for feed, sub in store.feeds_with_push(session)]


def find(session: Session, feed: str | int) -> Feed:
    """A feed by its URL or its id. NotFoundError."""
    if isinstance(feed, int):
        found = session.get(Feed, feed)
        if found is None:
            raise NotFoundError(f"no feed #{feed} (see GET /api/v1/feeds)")
        return found
    return get_feed(session, feed)


def pause_feed(session: Session, url: str | int) -> Feed:
    """Stop polling a feed (its lists keep it; nothing new arrives from it until it is resumed)."""
    feed = find(session, url)
    if feed.status == RETIRED:
        raise StateError(f"feed {feed.url} is retired (its server said it is gone): remove it instead")
    # The scheduler polls active feeds only, and the WebSub renewal leaves the hub of a feed not active.
    feed.status, feed.next_poll_at = PAUSED, None
    return feed


def resume_feed(session: Session, url: str | int) -> Feed:
    """Poll a paused (or retired) feed again, at the next tick; a retired one too (its owner brought it back).
    Failures and the back-off are forgotten, the stored posts are not: what was published meanwhile is news."""
    feed = find(session, url)
    feed.status, feed.next_poll_at, feed.consecutive_failures = ACTIVE, None, 0
    return feed


def remove_feed(session: Session, url: str | int, *, force: bool = False) -> list[str]:
    """Forget a feed and its posts. Refused while a list uses it, unless forced: then it leaves those lists
    (a list left with no feed sends nothing until one is added). The names of the lists it left."""
    feed = find(session, url)
    names = store.lists_using(session, feed.id)
    if names and not force:
        edits = "; ".join(f"`publisher lists edit {name} --remove-feed {feed.url}`" for name in names)
        raise StateError(f"feed {feed.url} is used by list(s) {', '.join(names)}: take it off them first "
                         f"({edits}), or remove it anyway with --force")
    session.delete(feed)
    session.flush()
    return names


def health_of(session: Session, feed: Feed) -> FeedHealth:
    return _health(feed, store.push_of(session, feed.id))


def _health(feed: Feed, sub: HubSubscription | None) -> FeedHealth:
    return FeedHealth(
        id=feed.id, url=feed.url, name=feed.name, title=feed.title, display_name=feed.display_name,
        site_url=feed.site_url, status=feed.status, hub_url=feed.hub_url, last_attempt_at=feed.last_attempt_at,
        last_success_at=feed.last_success_at, last_http_status=feed.last_http_status, last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures, next_poll_at=feed.next_poll_at,
        poll_interval_minutes=feed.poll_interval_minutes,
        hub_state=("no hub" if not feed.hub_url else sub.state if sub else "not subscribed"),
        hub_expires_at=sub.expires_at if sub else None, hub_error=sub.last_error if sub else None,
    )
