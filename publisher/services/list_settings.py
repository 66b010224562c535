"""Use cases of an editor changing a list after it was made, from the command line: show it, edit its feeds,
settings and identity (by the lists and identity services the pages and the API use too), delete it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import InvalidInputError
from publisher.models import Digest, DigestStatus, MailingList
from publisher.services.identity import clean_identity, identity_of, update_list_identity
from publisher.services.lists import DAYS, update_list
from publisher.services.subscribers import subscriber_counts


@dataclass
class ListChanges:
    """What `lists edit` may change; None (or empty) leaves a setting as it is, "" clears a text one."""

    add_feeds: list[str] = field(default_factory=list)
    remove_feeds: list[str] = field(default_factory=list)
    sender: str | None = None  # "" puts the list back on PUBLISHER_FROM
    cadence: str | None = None
    send_at: str | None = None
    timezone: str | None = None
    day: str | None = None
    template: str | None = None
    content_mode: str | None = None
    # The blog's identity ("" puts a part back on its default: the feed's title and link, no logo ...).
    title: str | None = None
    site_url: str | None = None
    description: str | None = None
    accent: str | None = None
    logo: str | None = None
    public: bool | None = None


# What `edit_list` reports as changed, by column, in the words a person uses.
_SHOWN = {"sender": "sender", "cadence": "cadence", "send_at": "send time", "timezone": "time zone",
          "weekday": "day", "template": "template", "content_mode": "content", "title": "title",
          "site_url": "site URL", "description": "description", "accent_color": "accent", "logo_url": "logo",
          "public": "public"}


def describe_list(session: Session, mailing_list: MailingList) -> dict:
    """Everything about one list an editor asks about, as plain values (the CLI prints them or JSON)."""
    last = session.scalar(select(Digest).where(Digest.list_id == mailing_list.id).order_by(Digest.id.desc()))
    blog = identity_of(session, mailing_list)
    return {
        "name": mailing_list.name, "sender": mailing_list.sender, "cadence": mailing_list.cadence,
        "at": mailing_list.send_at, "tz": mailing_list.timezone, "day": DAYS[mailing_list.weekday],
        "template": mailing_list.template, "content": mailing_list.content_mode, "paused": mailing_list.paused,
        "title": blog.title, "site_url": blog.site_url, "public": mailing_list.public,
        "feeds": [{"url": f.url, "title": f.title, "status": f.status} for f in mailing_list.feeds],
        "subscribers": subscriber_counts(session, mailing_list.id),
        "last_digest": None if last is None else {
            "id": last.id, "status": last.status, "subject": last.subject, "posts": last.post_count,
            "recipients": last.recipient_count, "created_at": last.created_at},
    }


def edit_list(session: Session, settings: Settings, mailing_list: MailingList, changes: ListChanges) -> list[str]:
    """Apply the changes by the lists service (all checked before any is made) and the identity service;
    what changed, in words. A feed added now brings only what it publishes from now on (unless no list has
    sent from it yet: then its backfill too)."""
    current = [feed.url for feed in mailing_list.feeds]
    for url in changes.remove_feeds:
        if url not in current:
            raise InvalidInputError(f"{url} is not a feed of {mailing_list.name!r} "
                                    f"(see `publisher lists show {mailing_list.name}`)")
    feed_urls = None
    if changes.add_feeds or changes.remove_feeds:
        feed_urls = [url for url in current if url not in changes.remove_feeds] + changes.add_feeds
        if not feed_urls:
            raise InvalidInputError("a list needs at least one feed: add the new one (--add-feed) as you remove "
                                    "the last")
    clean_identity(title=changes.title, site_url=changes.site_url, description=changes.description,
                   accent=changes.accent, logo=changes.logo)  # a typo is reported before any feed is fetched
    before = _snapshot(mailing_list)
    update_list(session, settings, mailing_list.name, feed_urls=feed_urls, sender=changes.sender or None,
                clear_sender=changes.sender == "", cadence=changes.cadence, send_at=changes.send_at,
                timezone=changes.timezone, day=changes.day, template=changes.template,
                content_mode=changes.content_mode)
    update_list_identity(session, mailing_list, title=changes.title, site_url=changes.site_url,
                         description=changes.description, accent=changes.accent, logo=changes.logo,
                         public=changes.public)
    return _differences(before, _snapshot(mailing_list))


def _snapshot(mailing_list: MailingList) -> dict:
    values = {column: getattr(mailing_list, column) for column in _SHOWN}
    values["feeds"] = [feed.url for feed in mailing_list.feeds]
    return values


def _differences(before: dict, after: dict) -> list[str]:
    done = [f"removed feed {url}" for url in before["feeds"] if url not in after["feeds"]]
    done += [f"added feed {url}" for url in after["feeds"] if url not in before["feeds"]]
    for column, shown in _SHOWN.items():
        if before[column] != after[column]:
            value = after[column]
            if column == "weekday":
                value = DAYS[value]
            elif value is None or value == "":
                value = "the default (PUBLISHER_FROM)" if column == "sender" else "the default"
            done.append(f"{shown} set to {value}")
    return done


def delete_list(session: Session, mailing_list: MailingList) -> None:
    """Delete the list with its subscriptions, digests and their ledger; subscribers, feeds and global
    suppressions stay. Refused while one of its digests is still being sent (cancel it first)."""
    busy = session.scalar(select(Digest.id).where(
        Digest.list_id == mailing_list.id, Digest.status.in_([DigestStatus.SENDING, DigestStatus.PAUSED])))
    if busy is not None:
        raise InvalidInputError(f"digest #{busy} of {mailing_list.name!r} is still being sent: "
                                f"`publisher digest cancel --list {mailing_list.name}` first")
    session.delete(mailing_list)
    session.flush()
