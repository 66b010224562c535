"""Use cases of the digest: preview it, compose it (render once, freeze the audience), report progress."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.compose.digest import latest_posts_for_list, new_posts_for_list, render_posts
from publisher.compose.render import DigestContext, RenderedDigest, render_digest
from publisher.config import Settings
from publisher.models import Digest, DigestPost, DigestStatus, MailingList
from publisher.models.base import utcnow
from publisher.store import deliveries


@dataclass(frozen=True)
class Preview:
    rendered: RenderedDigest
    post_count: int
    only_old_posts: bool  # nothing is new: the preview shows recent posts instead


def preview_digest(session: Session, settings: Settings, mailing_list: MailingList) -> Preview:
    posts = new_posts_for_list(session, mailing_list)
    only_old = not posts
    if only_old:
        posts = latest_posts_for_list(session, mailing_list)
    return Preview(_render(session, settings, mailing_list, posts), len(posts), only_old)


def compose_digest(session: Session, settings: Settings, mailing_list: MailingList) -> Digest | None:
    """Render what is new for the list once and freeze its audience; None when nothing is new.
    Two composers racing on one list cannot both win: digest_posts is UNIQUE per list and post."""
    posts = new_posts_for_list(session, mailing_list)
    if not posts:
        return None
    rendered = _render(session, settings, mailing_list, posts)
    digest = Digest(list_id=mailing_list.id, subject=rendered.subject, html=rendered.html, text=rendered.text,
                    post_count=len(posts), status=DigestStatus.SENDING.value)
    session.add(digest)
    session.flush()
    session.add_all(DigestPost(digest_id=digest.id, post_id=post.id, list_id=mailing_list.id, position=i)
                    for i, post in enumerate(posts))
    session.flush()
    digest.recipient_count = deliveries.freeze_audience(session, digest_id=digest.id, list_id=mailing_list.id)
    if digest.recipient_count == 0:
        digest.status, digest.finished_at = DigestStatus.SENT.value, utcnow()
    return digest


def _render(session: Session, settings: Settings, mailing_list: MailingList, posts) -> RenderedDigest:
    context = DigestContext(
        list_name=mailing_list.name, posts=render_posts(session, posts), base_url=settings.base_url,
        timezone=mailing_list.timezone, postal_address=settings.postal_address,
    )
    return render_digest(context, templates_dir=settings.resolved_templates_dir(), template=mailing_list.template)


def finish_if_settled(session: Session, digest_id: int) -> bool:
    digest = session.get(Digest, digest_id)
    if digest.status == DigestStatus.SENDING and deliveries.unsettled_count(session, digest_id) == 0:
        digest.status, digest.finished_at = DigestStatus.SENT.value, utcnow()
        session.commit()
    return digest.status != DigestStatus.SENDING


def sends_in_progress(session: Session) -> list[Digest]:
    return list(session.scalars(select(Digest).where(Digest.status == DigestStatus.SENDING).order_by(Digest.id)))
