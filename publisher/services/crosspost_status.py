"""What cross-posting shows people: the ledger per post x target (`crosspost status`, the ops page later),
and the summaries a post would get (`crosspost preview`). Plain dicts and values; never a secret."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.crosspost.summary import DEFAULT_RULES, Rules, Summary, write_summary
from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import CrosspostTarget
from publisher.services.crosspost import post_view, template
from publisher.store import crossposts as store


def status(session: Session, *, limit: int = 200) -> dict:
    """Counts per state, and the newest rows: state, attempts, where it was posted, the last error."""
    rows = [{"id": row.id, "post_id": post.id, "post": post.title, "link": post.link, "target": target.name,
             "platform": target.platform, "state": row.status, "attempts": row.attempts,
             "remote_url": row.remote_url, "last_error": row.last_error, "next_attempt_at": row.next_attempt_at,
             "posted_at": row.posted_at, "created_at": row.created_at}
            for row, post, target in store.recent(session, limit=limit)]
    return {"counts": store.counts(session), "crossposts": rows}


def preview(session: Session, settings: Settings, reference: str, platform: str | None = None) -> list[Summary]:
    """The summaries a post would get, per platform (with an instance's own limit once a target learned it)."""
    if platform is not None and platform not in DEFAULT_RULES:
        raise InvalidInputError(f"unknown platform {platform!r}: use one of {', '.join(DEFAULT_RULES)}")
    post = store.find_post(session, reference.strip())
    if post is None:
        raise NotFoundError(f"no post with id or link {reference!r} (`publisher poll` prints the posts it stores)")
    learned = {t.platform: t.limits for t in session.scalars(select(CrosspostTarget)) if t.limits}
    view = post_view(post, store.feed_title(session, post.feed_id))
    summaries = []
    for name in [platform] if platform else list(DEFAULT_RULES):
        rules = DEFAULT_RULES[name]
        if learned.get(name):
            rules = Rules(name, limit=learned[name].get("max_characters", rules.limit),
                          url_length=learned[name].get("characters_reserved_per_url", rules.url_length),
                          link_display=rules.link_display)
        summaries.append(write_summary(view, rules, template(settings.resolved_templates_dir(), name)))
    return summaries
