"""Use cases for lists: create one over some feeds with all its options, change them, look one up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from publisher.compose.headers import has_control_characters, single_address
from publisher.compose.render import CONTENT_MODES
from publisher.compose.schedule import latest_slot
from publisher.config import Settings
from publisher.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from publisher.models import Cadence, Feed, ListFeed, MailingList
from publisher.models.base import utcnow
from publisher.services import feeds as feed_service
from publisher.services.feeds import RefreshResult, get_feed
from publisher.services.identity import clean_identity
from publisher.services.subscribers import normalize_email
from publisher.store import lists as store

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_LIST_NAME = 200
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class FeedUsed:
    asked: str  # the URL the editor gave
    url: str  # the feed's stored URL (its final one, after a permanent redirect)
    baseline: int | None  # posts taken as the baseline when the feed was added now; None: it was known
    added: RefreshResult | None = None  # the feed added now (its discovery, if a blog's page led to it)


@dataclass(frozen=True)
class CreatedList:
    mailing_list: MailingList
    feeds: list[FeedUsed] = field(default_factory=list)


def create_list(session: Session, settings: Settings, *, name: str, feed_urls: list[str], cadence: str = "daily",
                send_at: str = "08:00", timezone: str = "UTC", day: str = "monday", sender: str | None = None,
                content_mode: str = "full", template: str = "digest", title: str | None = None,
                site_url: str | None = None, description: str | None = None, accent: str | None = None,
                logo: str | None = None, public: bool = True) -> CreatedList:
    """A list over these feeds; a feed not added yet is added now (fetched once, its posts the baseline).
    InvalidInputError for any bad option (checked before any feed is fetched), AlreadyExistsError for a
    taken name, FetchError / FeedParseError for a feed that cannot be added. The blog's identity (title,
    site URL, description, accent, logo) left unset follows the first feed."""
    validate_options(settings, day=day, content_mode=content_mode, template=template)
    validate_new_list(session, name=name, feed_urls=feed_urls, cadence=cadence, send_at=send_at, timezone=timezone,
                      sender=sender)
    identity = dict(title=title, site_url=site_url, description=description, accent=accent, logo=logo)
    clean_identity(**identity)  # a typo in the accent is reported before any feed is fetched
    used = []
    for url in feed_urls:
        known, added = feed_service.find_or_add_feed(session, settings, url)
        used.append(FeedUsed(asked=url, url=known.url, baseline=None if added is None else len(added.new),
                             added=added))
    mailing_list = insert_list(session, name=name, feed_urls=list(dict.fromkeys(f.url for f in used)),
                               cadence=cadence, send_at=send_at, timezone=timezone, sender=sender,
                               weekday=DAYS.index(day.lower()), public=public, **identity)
    mailing_list.content_mode, mailing_list.template = content_mode, template
    return CreatedList(mailing_list, used)


def validate_options(settings: Settings, *, day: str, content_mode: str, template: str) -> None:
    if content_mode not in CONTENT_MODES:
        raise InvalidInputError(f"content must be full or excerpt, got {content_mode!r}")
    if "/" in template or "\\" in template or template.startswith(".") or not (
            settings.resolved_templates_dir() / "email" / template / "body.html").is_file():
        raise InvalidInputError(f"no template folder templates/email/{template}/")
    if day.lower() not in DAYS:
        raise InvalidInputError(f"day must be one of {', '.join(DAYS)}, got {day!r}")


def insert_list(session: Session, *, name: str, feed_urls: list[str], cadence: str = "daily",
                send_at: str = "08:00", timezone: str = "UTC", sender: str | None = None,
                weekday: int = 0, title: str | None = None, site_url: str | None = None,
                description: str | None = None, accent: str | None = None, logo: str | None = None,
                public: bool = True) -> MailingList:
    """The list row over feeds already added (by their stored URL); its identity (title, site URL ...) left
    unset follows its first feed (services.identity)."""
    validate_new_list(session, name=name, feed_urls=feed_urls, cadence=cadence, send_at=send_at, timezone=timezone,
                      sender=sender)
    identity = clean_identity(title=title, site_url=site_url, description=description, accent=accent, logo=logo)
    mailing_list = MailingList(name=name, cadence=cadence, send_at=send_at, timezone=timezone, sender=sender,
                               weekday=weekday, public=public,
                               **{column: value or None for column, value in identity.items()},
                               # The first digest goes at the next slot, not at the one that just passed.
                               last_slot_at=latest_slot(utcnow(), cadence=cadence, send_at=send_at,
                                                        timezone=timezone, weekday=weekday))
    session.add(mailing_list)
    session.flush()
    for url in feed_urls:
        feed = get_feed(session, url)
        session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=_news_since(session, feed)))
    session.flush()
    return mailing_list


def validate_new_list(session: Session, *, name: str, feed_urls: list[str], cadence: str, send_at: str,
                      timezone: str, sender: str | None = None) -> None:
    """Everything about a new list that can be wrong before any feed is fetched."""
    validate_list_name(name)
    if sender is not None:
        validate_sender(sender)
    if store.by_name(session, name):
        raise AlreadyExistsError(f"list {name!r} already exists")
    if not feed_urls:
        raise InvalidInputError("a list needs at least one --feed")
    _validate_schedule(cadence, send_at, timezone)


def validate_list_name(name: str) -> None:
    """A list's name goes into mail headers (List-Id, Subject), URLs and pages: one line of plain text."""
    if not name.strip():
        raise InvalidInputError("a list needs a name")
    if has_control_characters(name):
        raise InvalidInputError(f"list name {name!r} has a line break, tab or other control character: "
                                "use one line of plain text")
    if len(name) > MAX_LIST_NAME:
        raise InvalidInputError(f"list name is too long (at most {MAX_LIST_NAME} characters)")


def validate_sender(sender: str) -> None:
    """--from: exactly one address, optionally with a display name ("Blog <news@example.org>")."""
    if has_control_characters(sender):
        raise InvalidInputError(f"--from {sender!r} has a line break, tab or other control character: "
                                "give one address, like 'My Blog <news@example.org>'")
    address = single_address(sender)
    if address is None:
        raise InvalidInputError(f"--from {sender!r} must be one address, like 'My Blog <news@example.org>'")
    try:
        normalize_email(address.addr_spec)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--from: {exc}") from None


def _news_since(session: Session, feed: Feed):
    """A feed nobody has sent from yet brings its backfilled posts; one already in use brings only what
    comes after it joined this list."""
    already_sent = store.feed_ever_sent(session, feed.id)
    if already_sent or feed.baseline_at is None:
        return utcnow()
    return feed.baseline_at


def _validate_schedule(cadence: str, send_at: str, timezone: str) -> None:
    if cadence not in {c.value for c in Cadence}:
        raise InvalidInputError(f"cadence must be one of {', '.join(c.value for c in Cadence)}, got {cadence!r}")
    if not _HH_MM.match(send_at):
        raise InvalidInputError(f"--at must be HH:MM (24-hour), got {send_at!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone {timezone!r}; use an IANA name like Europe/Paris") from None


def get_list(session: Session, name: str) -> MailingList:
    mailing_list = store.by_name(session, name)
    if mailing_list is None:
        raise NotFoundError(f"no list named {name!r} (see `publisher lists list`)")
    return mailing_list


def all_lists(session: Session) -> list[MailingList]:
    return store.all_lists(session)


@dataclass(frozen=True)
class ListSummary:
    id: int
    name: str
    sender: str | None  # None: PUBLISHER_FROM
    cadence: str
    send_at: str
    timezone: str
    day: str
    template: str
    content_mode: str
    paused: bool
    feeds: list[str]
    subscribers: dict[str, int]  # by status: pending, confirmed, unsubscribed


def list_summaries(session: Session) -> list[ListSummary]:
    return [_summary(session, ml) for ml in all_lists(session)]


def list_summary(session: Session, name: str) -> ListSummary:
    return _summary(session, get_list(session, name))


def _summary(session: Session, ml: MailingList) -> ListSummary:
    from publisher.services.subscribers import subscriber_counts

    return ListSummary(id=ml.id, name=ml.name, sender=ml.sender, cadence=ml.cadence, send_at=ml.send_at,
                       timezone=ml.timezone, day=DAYS[ml.weekday], template=ml.template,
                       content_mode=ml.content_mode, paused=ml.paused, feeds=[f.url for f in ml.feeds],
                       subscribers=subscriber_counts(session, ml.id))


def update_list(session: Session, settings: Settings, name: str, *, feed_urls: list[str] | None = None,
                sender: str | None = None, clear_sender: bool = False, cadence: str | None = None,
                send_at: str | None = None, timezone: str | None = None, day: str | None = None,
                template: str | None = None, content_mode: str | None = None,
                paused: bool | None = None) -> ListSummary:
    """Change what is given (None: unchanged). A new schedule starts at its next slot, never at one that
    has just passed; a feed added now brings only what comes after it joined."""
    ml = get_list(session, name)
    new_day = day if day is not None else DAYS[ml.weekday]
    validate_options(settings, day=new_day, content_mode=content_mode or ml.content_mode,
                     template=template or ml.template)
    schedule = (cadence or ml.cadence, send_at or ml.send_at, timezone or ml.timezone)
    _validate_schedule(*schedule)
    if sender is not None:
        validate_sender(sender)
    if feed_urls is not None and not feed_urls:
        raise InvalidInputError("a list needs at least one feed")
    if (*schedule, DAYS.index(new_day.lower())) != (ml.cadence, ml.send_at, ml.timezone, ml.weekday):
        ml.cadence, ml.send_at, ml.timezone, ml.weekday = (*schedule, DAYS.index(new_day.lower()))
        ml.last_slot_at = latest_slot(utcnow(), cadence=ml.cadence, send_at=ml.send_at, timezone=ml.timezone,
                                      weekday=ml.weekday)
    if sender is not None or clear_sender:
        ml.sender = None if clear_sender else sender
    ml.template, ml.content_mode = template or ml.template, content_mode or ml.content_mode
    if paused is not None:
        ml.paused = paused
    if feed_urls is not None:
        _replace_feeds(session, settings, ml, feed_urls)
    session.flush()
    session.expire(ml, ["feeds"])
    return _summary(session, ml)


def _replace_feeds(session: Session, settings: Settings, ml: MailingList, feed_urls: list[str]) -> None:
    wanted = []
    for url in feed_urls:
        feed, _ = feed_service.find_or_add_feed(session, settings, url)
        wanted.append(feed)
    current: dict = store.feed_links(session, ml.id)
    for feed in wanted:
        if feed.id not in current:
            session.add(ListFeed(list_id=ml.id, feed_id=feed.id, added_at=_news_since(session, feed)))
            current[feed.id] = None
    for feed_id, link in current.items():
        if link is not None and feed_id not in {f.id for f in wanted}:
            session.delete(link)


def get_list_by_id(session: Session, list_id: int) -> MailingList:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None:
        raise NotFoundError(f"no list #{list_id} (see GET /api/v1/lists)")
    return mailing_list
