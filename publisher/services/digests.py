"""Use cases of the digest: preview it, compose the editions of a list (render once per group of
subscribers needing the same posts, freeze that audience), report progress.

`compose_digest` is "send now" (`publisher digest send`): one digest for the subscribers of every cadence,
holding what is new for the largest group of them. Anyone needing a different set of posts (someone who
just switched cadence) keeps their watermark and gets their posts at their own next slot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from publisher.compose.digest import group_by_watermark, post_contents
from publisher.compose.message import check_encodable
from publisher.compose.render import DigestContext, RenderedDigest, render_digest
from publisher.config import Settings
from publisher.models import (
    Digest,
    DigestPost,
    DigestStatus,
    MailingList,
    Post,
)
from publisher.models.base import utcnow
from publisher.services import drafts
from publisher.services.identity import identity_of
from publisher.store import deliveries, watermarks
from publisher.store import posts as posts_store


@dataclass(frozen=True)
class Edition:
    """Who a digest is for: subscribers whose effective cadence and time zone are these (None: any)."""

    cadence: str | None
    timezone: str | None
    label: str


SEND_NOW = Edition(cadence=None, timezone=None, label="now")


@dataclass(frozen=True)
class Preview:
    rendered: RenderedDigest
    post_count: int
    only_old_posts: bool  # nothing is new: the preview shows recent posts instead


def preview_digest(session: Session, settings: Settings, mailing_list: MailingList) -> Preview:
    """What `digest send` would send now; with nobody subscribed yet, what a first subscriber would get."""
    groups = _groups(session, mailing_list, SEND_NOW, now=utcnow(),
                     nobody=[(watermarks.list_watermark(session, mailing_list.id), 1)])
    posts = groups[0][0] if groups else posts_store.latest_posts_for_list(session, mailing_list)
    return Preview(_render(session, settings, mailing_list, posts, mailing_list.timezone), len(posts), not groups)


def compose_digest(session: Session, settings: Settings, mailing_list: MailingList) -> Digest | None:
    """Send now: one digest for the list's largest group of subscribers (any cadence); None when nothing
    is new for anyone."""
    composed = compose_edition(session, settings, mailing_list, edition=SEND_NOW, now=utcnow(), max_digests=1)
    return composed[0] if composed else None


def compose_edition(session: Session, settings: Settings, mailing_list: MailingList, *, edition: Edition,
                    now: datetime, max_digests: int | None = None) -> list[Digest]:
    """Digests for the edition's audience, one per group needing the same posts; [] when nothing is new.
    A subscriber is counted in only if their watermark still lies before the posts (a conditional UPDATE):
    two composers racing on one list cannot both send them the same post."""
    composed = []
    for posts, marks in _groups(session, mailing_list, edition, now=now)[:max_digests]:
        digest = _create(session, settings, mailing_list, edition, posts, marks, now)
        if digest is not None:
            composed.append(digest)
    if composed:
        drafts.discard_draft(session, mailing_list.id)  # the editor's note went out with these digests
    return composed


def _groups(session: Session, mailing_list: MailingList, edition: Edition, *, now: datetime, nobody=()):
    marks = watermarks.audience_watermarks(session, mailing_list, cadence=edition.cadence,
                                           timezone=edition.timezone) or list(nobody)
    if not marks:
        return []
    known = [mark for mark, _ in marks]
    after = None if any(mark is None for mark in known) else min(known)
    return group_by_watermark(posts_store.news_for_list(session, mailing_list, after=after, until=now), marks)


def _create(session: Session, settings: Settings, mailing_list: MailingList, edition: Edition,
            posts: list[Post], marks: Sequence[datetime | None], now: datetime) -> Digest | None:
    """The digest of these posts for the subscribers holding these watermarks, its audience frozen; None when
    another composer took them all first."""
    # The row comes first: its id makes the web archive's address, which the mail links to.
    digest = Digest(list_id=mailing_list.id, subject="", html="", text="", post_count=len(posts),
                    status=DigestStatus.SENDING.value, edition=edition.label[:120], cutoff_at=now,
                    intro_note=_draft_values(session, mailing_list.id)[0] or None)
    session.add(digest)
    session.flush()
    rendered, failure = _render_or_failure(session, settings, mailing_list, posts,
                                           edition.timezone or mailing_list.timezone,
                                           archive_url=digest_page_url(settings, mailing_list, digest.id))
    digest.subject, digest.html, digest.text = rendered.subject, rendered.html, rendered.text
    audience = watermarks.edition_clause(mailing_list, cadence=edition.cadence, timezone=edition.timezone) \
        & watermarks.watermark_clause(marks)
    before = min(post.first_seen_at for post in posts)
    if failure:
        # Failed visibly, never retried by itself, and out of the way: the watermarks have moved, so the
        # list's later posts go out in later digests. These posts reach these subscribers only if a person
        # sends them again; `publisher status` shows the digest, its reason and its audience until then.
        won = deliveries.advance_watermarks(session, list_id=mailing_list.id, audience=audience, before=before,
                                            to=now)
        digest.recipient_count, digest.status_reason = won, failure[:2000]
        digest.status, digest.finished_at = DigestStatus.FAILED.value, utcnow()
    else:
        frozen = deliveries.freeze_audience(session, digest_id=digest.id, list_id=mailing_list.id,
                                            audience=audience, before=before, to=now)
        won, digest.recipient_count = frozen.advanced, frozen.recipients
        if digest.recipient_count == 0:
            digest.status, digest.finished_at = DigestStatus.SENT.value, utcnow()
    if not won:
        session.delete(digest)  # another composer had them all: this digest was never anyone's
        session.flush()
        return None
    session.add_all(DigestPost(digest_id=digest.id, post_id=post.id, list_id=mailing_list.id, position=i)
                    for i, post in enumerate(posts))
    session.flush()
    return digest


def digest_page_url(settings: Settings, mailing_list: MailingList, digest_id: int) -> str:
    """The digest's page in the public web archive (a private list has none)."""
    if not mailing_list.public:
        return ""
    return f"{settings.base_url.rstrip('/')}/archive/{quote(mailing_list.name, safe='')}/{digest_id}"


def _render_or_failure(session: Session, settings: Settings, mailing_list: MailingList, posts, timezone: str,
                       archive_url: str) -> tuple[RenderedDigest, str | None]:
    context = _context(session, settings, mailing_list, posts, timezone, archive_url=archive_url)
    try:
        rendered = render_digest(context, templates_dir=settings.resolved_templates_dir(),
                                 template=mailing_list.template)
        check_encodable(rendered)
    except Exception as exc:  # noqa: BLE001 - a template or content we cannot render fails this digest alone
        return RenderedDigest(subject="", html="", text=""), f"the digest cannot be rendered: {exc!r}"[:2000]
    return rendered, None


def _render(session: Session, settings: Settings, mailing_list: MailingList, posts, timezone: str
            ) -> RenderedDigest:
    return render_digest(_context(session, settings, mailing_list, posts, timezone),
                         templates_dir=settings.resolved_templates_dir(), template=mailing_list.template)


def _context(session: Session, settings: Settings, mailing_list: MailingList, posts, timezone: str,
             archive_url: str = "") -> DigestContext:
    intro_note, subject = _draft_values(session, mailing_list.id)
    return DigestContext(
        list_name=mailing_list.name, posts=post_contents(posts, posts_store.feed_titles(session, posts)),
        base_url=settings.base_url, timezone=timezone, postal_address=settings.postal_address,
        content_mode=mailing_list.content_mode, intro_note=intro_note, subject=subject,
        html_budget=settings.html_budget_bytes, blog=identity_of(session, mailing_list),
        archive_url=archive_url or None,
    )


def _draft_values(session: Session, list_id: int) -> tuple[str, str]:
    """(intro note, subject) the editor wrote for the list's next digest; empty strings when none."""
    draft = drafts.draft_of(session, list_id)
    return (draft.intro_note or "", draft.subject or "") if draft else ("", "")
