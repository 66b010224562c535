"""A list's identity: what the editor set, else what its first feed says (title and site link), else its name.
The feed's values are read when needed, not copied, so a renamed blog is renamed here at the next poll while
whatever the editor set stays as they set it."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.compose.headers import has_control_characters
from publisher.compose.identity import ACCENT_FORM, DEFAULT_ACCENT, TITLE_LIMIT, BlogIdentity, one_line, web_url
from publisher.errors import InvalidInputError
from publisher.models import Feed, ListFeed, MailingList

DESCRIPTION_LIMIT = 1000
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def identity_of(session: Session, mailing_list: MailingList) -> BlogIdentity:
    feed = session.scalar(select(Feed).join(ListFeed, ListFeed.feed_id == Feed.id)
                          .where(ListFeed.list_id == mailing_list.id).order_by(Feed.id).limit(1))
    title = mailing_list.title or (feed and (feed.title or feed.name)) or mailing_list.name
    accent = mailing_list.accent_color or ""  # checked again: it goes into <style> blocks
    return BlogIdentity(
        title=one_line(title),
        site_url=web_url(mailing_list.site_url or (feed.site_url if feed else None)),
        description=one_line(mailing_list.description, DESCRIPTION_LIMIT),
        accent=accent if ACCENT_FORM.fullmatch(accent) else DEFAULT_ACCENT,
        logo_url=web_url(mailing_list.logo_url),
    )


def update_list_identity(session: Session, mailing_list: MailingList, *, title: str | None = None,
                         site_url: str | None = None, description: str | None = None, accent: str | None = None,
                         logo: str | None = None, public: bool | None = None) -> MailingList:
    """Set the parts given (None: leave as is; "": back to the default: the feed's title and link, no
    description, the default colour, no logo). Raises InvalidInputError naming the option that is wrong."""
    values = clean_identity(title=title, site_url=site_url, description=description, accent=accent, logo=logo)
    for column, value in values.items():
        if value is not None:
            setattr(mailing_list, column, value or None)
    if public is not None:
        mailing_list.public = public
    session.flush()
    return mailing_list


def clean_identity(*, title: str | None = None, site_url: str | None = None, description: str | None = None,
                   accent: str | None = None, logo: str | None = None) -> dict[str, str | None]:
    """The values checked and tidied, by column name; None stays None (not given), "" stays "" (clear)."""
    return {
        "title": _text(title, "--title", TITLE_LIMIT),
        "site_url": _url(site_url, "--site-url"),
        "description": _text(description, "--description", DESCRIPTION_LIMIT),
        "accent_color": _colour(accent),
        "logo_url": _url(logo, "--logo"),
    }


def _text(value: str | None, option: str, limit: int) -> str | None:
    if not value:
        return value
    if has_control_characters(value):
        raise InvalidInputError(f"{option} has a line break, tab or other control character: use one line of text")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInputError(f"{option} is too long (at most {limit} characters)")
    return value


def _url(value: str | None, option: str) -> str | None:
    if not value:
        return value
    url = web_url(value)
    if url is None:
        raise InvalidInputError(f"{option} must be an http(s) address like https://myblog.blogspot.com/, "
                                f"got {value!r}")
    if len(url) > 2048:
        raise InvalidInputError(f"{option} is too long (at most 2048 characters)")
    return url


def _colour(value: str | None) -> str | None:
    if not value:
        return value
    match = _HEX_COLOUR.fullmatch(value.strip())
    if not match:
        raise InvalidInputError(f"--accent must be a colour like #1d4ed8 (or #17a), got {value!r}")
    digits = match.group(1).lower()
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
