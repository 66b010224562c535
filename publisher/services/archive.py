"""The public side of a list: the home page's lists, a list's recent posts, and the web archive of its sent
digests. A digest's web page is the very HTML that was mailed, minus what belongs to one reader: the stored
HTML never held a name or a token (they are placeholders, filled per recipient), so none can leak; the
placeholders are given neutral values and the personal links (preferences, unsubscribe) are taken out."""

from __future__ import annotations

import lxml.html
from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.compose.message import FALLBACK_NAME
from publisher.compose.render import NAME, PREFERENCES_URL, UNSUBSCRIBE_URL, list_page_url
from publisher.errors import NotFoundError
from publisher.models import Digest, DigestStatus, MailingList, Post
from publisher.store.posts import latest_posts_for_list

# Mail templates mark what only its reader may follow (left out of the page), and the "View in your browser"
# link (on the page, a link to subscribe instead).
_PERSONAL_XPATH = "//*[contains(concat(' ', normalize-space(@class), ' '), ' personal-links ')]"
_BROWSER_LINK_XPATH = "//a[contains(concat(' ', normalize-space(@class), ' '), ' view-in-browser ')]"


def public_lists(session: Session) -> list[MailingList]:
    """Lists shown on the home page: public and taking sign-ups."""
    return list(session.scalars(select(MailingList).where(MailingList.public.is_(True),
                                                          MailingList.paused.is_(False))
                                .order_by(MailingList.name)))


def public_list(session: Session, name: str) -> MailingList:
    mailing_list = session.scalar(select(MailingList).where(MailingList.name == name))
    if mailing_list is None or not mailing_list.public or mailing_list.paused:
        raise NotFoundError(f"there is no public list called {name!r}")
    return mailing_list


def recent_posts(session: Session, mailing_list: MailingList, limit: int = 10) -> list[Post]:
    """The newest posts of the list's feeds, newest first."""
    return latest_posts_for_list(session, mailing_list, limit=limit)


def archived_digests(session: Session, mailing_list: MailingList) -> list[Digest]:
    """Digests that went (or are going) to readers, newest first; one that failed to render never went."""
    return list(session.scalars(
        select(Digest).where(Digest.list_id == mailing_list.id, Digest.status != DigestStatus.FAILED.value,
                             Digest.html != "")
        .order_by(Digest.created_at.desc(), Digest.id.desc())))


def archived_digest(session: Session, mailing_list: MailingList, digest_id: int) -> Digest:
    digest = session.get(Digest, digest_id)
    if digest is None or digest.list_id != mailing_list.id or digest.status == DigestStatus.FAILED.value \
            or not digest.html:
        raise NotFoundError(f"{mailing_list.name!r} has no digest {digest_id} in its archive")
    return digest


def web_version(html: str, *, base_url: str, list_name: str) -> str:
    """The mailed HTML as a page anyone may see: no personal links, a neutral greeting."""
    page = lxml.html.document_fromstring(html)
    for element in page.xpath(_PERSONAL_XPATH):
        element.drop_tree()
    for link in page.xpath(_BROWSER_LINK_XPATH):
        link.set("href", list_page_url(base_url, list_name))
        link.text = "Get these posts by email"
    # No doctype added: the mail's layout was made for (and tested in) the mode without one.
    out = lxml.html.tostring(page, encoding="unicode")
    return neutral(out, base_url=base_url, list_name=list_name)


def neutral(text: str, *, base_url: str, list_name: str) -> str:
    """Placeholders given values that name nobody: "there" for the name, the list's page for the links (so a
    template without the marks above still shows no personal link)."""
    page_url = list_page_url(base_url, list_name)
    return text.replace(NAME, FALLBACK_NAME).replace(UNSUBSCRIBE_URL, page_url).replace(PREFERENCES_URL, page_url)

