"""/api/v1/feeds: the feeds the watcher follows."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from publisher.services import audit, feeds, watched_feeds
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.errors import documented
from publisher.web.schemas import PathId
from publisher.web.schemas.feeds import FeedAdd, FeedAdded, FeedCheck, FeedChecked, FeedOut

router = APIRouter(prefix="/feeds", tags=["feeds"])


@router.get("", response_model=list[FeedOut])
def list_feeds(session: SessionDep) -> list[dict]:
    """Every feed with its health, failing ones first."""
    return [asdict(f) for f in watched_feeds.feed_health(session)]


@router.post("", status_code=201, response_model=FeedAdded, responses=documented(409))
def add_feed(body: FeedAdd, session: SessionDep, settings: SettingsDep, editor: CurrentEditor) -> dict:
    """Add a feed and fetch it once: its existing posts are the baseline, not news."""
    result = feeds.add_feed(session, settings, url=body.url, name=body.name, backfill=body.backfill)
    feed = watched_feeds.find(session, result.feed_id)
    audit.record(session, editor, "feed_added", feed.url)
    return {"feed": asdict(watched_feeds.health_of(session, feed)), "baseline": len(result.new),
            "moved_from": body.url if feed.url != body.url else None}


@router.post("/check", response_model=FeedChecked)
def check_feed(body: FeedCheck, settings: SettingsDep) -> dict:
    """Fetch, parse and sanitize a feed and return the posts the watcher would see. Writes nothing."""
    parsed, posts = feeds.check_feed(body.url, settings)
    return {"title": parsed.title, "link": parsed.link, "hub": parsed.hub_url, "warning": parsed.warning,
            "posts": [post.as_json() for post in posts]}


@router.post("/{feed_id}/pause", response_model=FeedOut, responses=documented(404, 409))
def pause_feed(feed_id: PathId, session: SessionDep, editor: CurrentEditor) -> dict:
    feed = watched_feeds.pause_feed(session, feed_id)
    audit.record(session, editor, "feed_paused", feed.url)
    return asdict(watched_feeds.health_of(session, feed))


@router.post("/{feed_id}/resume", response_model=FeedOut, responses=documented(404))
def resume_feed(feed_id: PathId, session: SessionDep, editor: CurrentEditor) -> dict:
    feed = watched_feeds.resume_feed(session, feed_id)
    audit.record(session, editor, "feed_resumed", feed.url)
    return asdict(watched_feeds.health_of(session, feed))


@router.delete("/{feed_id}", status_code=204, response_class=Response, responses=documented(404, 409))
def remove_feed(feed_id: PathId, session: SessionDep, editor: CurrentEditor) -> Response:
    """Forget a feed and its posts (refused, 409, while a list uses it)."""
    url = watched_feeds.find(session, feed_id).url
    watched_feeds.remove_feed(session, feed_id)
    audit.record(session, editor, "feed_removed", url)
    return Response(status_code=204)
