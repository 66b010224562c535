"""Use cases of cross-post targets: add one (its URL through the SSRF guard, its secret encrypted), list them
(never a secret), test one (credentials checked, nothing posted), remove one; and open a target's poster."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.crosspost import vault
from publisher.crosspost.bluesky import BlueskyPoster
from publisher.crosspost.mastodon import MastodonPoster
from publisher.crosspost.poster import Poster
from publisher.crosspost.summary import PLATFORMS
from publisher.crosspost.webhook import WebhookPoster
from publisher.errors import AlreadyExistsError, InvalidInputError, NotFoundError, PublisherError
from publisher.ingest.ssrf import Policy, check_url, make_client
from publisher.models import CrosspostTarget, CrosspostTargetFeed, Feed
from publisher.store import crossposts as store

BLUESKY_SERVICE = "https://bsky.social"
ON_EDIT = ("skip", "edit")


def add_target(session: Session, settings: Settings, *, platform: str, name: str, url: str | None,
               secret: str | None = None, handle: str | None = None, feeds: list[str] = (), on_edit: str = "skip",
               max_age_hours: float | None = None, hashtags: bool = True) -> CrosspostTarget:
    """Register a target. Nothing is posted; `targets test` checks the credentials."""
    name = (name or "").strip()
    if not name:
        raise InvalidInputError("a target needs a name (it is how `targets test` and `remove` find it)")
    if platform not in PLATFORMS:
        raise InvalidInputError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}")
    if session.scalar(select(CrosspostTarget).where(CrosspostTarget.name == name)):
        raise AlreadyExistsError(f"a target named {name!r} exists already (`publisher crosspost targets remove "
                                 f"{name}` first)")
    if on_edit not in ON_EDIT:
        raise InvalidInputError(f"--on-edit must be skip or edit, got {on_edit!r}")
    if max_age_hours is not None and max_age_hours <= 0:
        raise InvalidInputError(f"--max-age-hours must be positive, got {max_age_hours}")
    url = (url or (BLUESKY_SERVICE if platform == "bluesky" else "")).strip()
    _check_credentials(platform, url, secret, handle)
    try:
        check_url(url, policy=Policy.of(settings), resolve_names=False)  # names: at connect time, every request
    except PublisherError as exc:
        raise InvalidInputError(f"{platform} URL {url}: {exc}") from exc
    followed = [_feed(session, feed_url) for feed_url in feeds]
    target = CrosspostTarget(name=name, platform=platform, url=url.rstrip("/") if platform != "webhook" else url,
                             handle=handle, credentials=vault.seal(settings.resolved_secret_key(), secret),
                             on_edit=on_edit, max_age_hours=max_age_hours, hashtags=hashtags)
    session.add(target)
    session.flush()
    session.add_all(CrosspostTargetFeed(target_id=target.id, feed_id=feed.id) for feed in followed)
    return target


def _feed(session: Session, url: str) -> Feed:
    feed = store.feed_by_url(session, url)
    if feed is None:
        raise NotFoundError(f"no feed with URL {url} (add it with `publisher feeds add {url}` first)")
    return feed


def _check_credentials(platform: str, url: str, secret: str | None, handle: str | None) -> None:
    if not url:
        raise InvalidInputError(f"a {platform} target needs a URL ({'--instance' if platform == 'mastodon' else '--url'})")
    if platform == "mastodon" and not secret:
        raise InvalidInputError("a Mastodon target needs --token (Preferences > Development > New application, "
                                "scope write:statuses read:accounts)")
    if platform == "bluesky" and not (handle and secret):
        raise InvalidInputError("a Bluesky target needs --handle and --app-password (Settings > App passwords)")


def get_target(session: Session, name: str) -> CrosspostTarget:
    target = session.scalar(select(CrosspostTarget).where(CrosspostTarget.name == name))
    if target is None:
        raise NotFoundError(f"no cross-post target named {name!r} (see `publisher crosspost targets list`)")
    return target


def list_targets(session: Session) -> list[dict]:
    """Every target as plain values; secrets are never among them."""
    feeds = dict(session.execute(select(Feed.id, Feed.url)).all())
    followed: dict[int, list[str]] = {}
    for target_id, feed_id in session.execute(select(CrosspostTargetFeed.target_id, CrosspostTargetFeed.feed_id)):
        followed.setdefault(target_id, []).append(feeds[feed_id])
    return [{"name": t.name, "platform": t.platform, "url": t.url, "handle": t.handle,
             "feeds": sorted(followed.get(t.id, [])) or "all", "on_edit": t.on_edit,
             "max_age_hours": t.max_age_hours, "hashtags": t.hashtags, "has_secret": t.credentials is not None,
             "limits": t.limits, "created_at": t.created_at}
            for t in session.scalars(select(CrosspostTarget).order_by(CrosspostTarget.name))]


def remove_target(session: Session, name: str) -> None:
    """Forget a target and its ledger rows (what was posted stays on the platform)."""
    target = get_target(session, name)
    session.execute(delete(CrosspostTarget).where(CrosspostTarget.id == target.id))


def check_target(session: Session, settings: Settings, name: str) -> str:
    """Check the target's credentials (and learn an instance's limits) without posting anything."""
    target = get_target(session, name)
    poster = open_poster(settings, target)
    try:
        who = poster.verify()
        rules = poster.rules()
    finally:
        keep_session(settings, target, poster)
        poster.close()
    if target.platform == "mastodon":
        target.limits = getattr(poster, "limits", None)
    return f"{who}; posts up to {rules.limit} characters" if target.platform != "webhook" else who


def open_poster(settings: Settings, target: CrosspostTarget) -> Poster:
    key = settings.resolved_secret_key()
    what = f"target {target.name!r}"
    secret = vault.unseal(key, target.credentials, what=what)
    client = make_client(policy=Policy.of(settings), timeout=settings.crosspost_timeout,
                         max_connections=2)
    common = {"client": client, "policy": Policy.of(settings), "hashtags": target.hashtags}
    if target.platform == "mastodon":
        return MastodonPoster(instance=target.url, token=secret, limits=target.limits, **common)
    if target.platform == "bluesky":
        state = vault.unseal(key, target.session_state, what=what)
        return BlueskyPoster(service=target.url, handle=target.handle, password=secret,
                             session_state=json.loads(state) if state else None,
                             thumbnail_bytes=settings.crosspost_thumbnail_bytes, **common)
    return WebhookPoster(url=target.url, secret=secret, **common)


def keep_session(settings: Settings, target: CrosspostTarget, poster: Poster) -> None:
    """A Bluesky session made or refreshed by the poster is kept (encrypted) for the next post: logging in for
    every post would spend createSession's strict rate limit."""
    if getattr(poster, "session_changed", False):
        target.session_state = vault.seal(settings.resolved_secret_key(), poster.session_state)
