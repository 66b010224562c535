"""Feeds: their health; add one after a live check of what the watcher will see; pause, resume, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from publisher.errors import InvalidInputError, NotFoundError, PublisherError
from publisher.models import Feed
from publisher.services import audit, watched_feeds
from publisher.services import feeds as feed_service
from publisher.web.auth import CurrentEditor
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.editor.common import done, page, problem

router = APIRouter(prefix="/feeds")

CHECKED_POSTS = 10  # the preview shows the newest few


@router.get("")
def feeds_page(request: Request, session: SessionDep) -> Response:
    return _page(request, session)


@router.post("/check")
def check(request: Request, session: SessionDep, settings: SettingsDep,
          url: Annotated[str, Form(max_length=2048)] = "", name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """What `publisher feeds check URL` prints, as a page: nothing is stored."""
    try:
        parsed, posts = feed_service.check_feed(_web_url(url), settings)
    except PublisherError as exc:
        return _page(request, session, status=400, error=problem(exc), url=url, name=name)
    return _page(request, session, url=url, name=name, checked=parsed, checked_posts=posts[:CHECKED_POSTS],
                 checked_count=len(posts))


@router.post("")
def add(request: Request, session: SessionDep, settings: SettingsDep, editor: CurrentEditor,
        url: Annotated[str, Form(max_length=2048)] = "", name: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        result = feed_service.add_feed(session, settings, url=_web_url(url), name=name.strip() or None)
    except PublisherError as exc:
        session.rollback()
        return _page(request, session, status=400, error=problem(exc), url=url, name=name)
    audit.record(session, editor, "feed_added", url, {"baseline": len(result.new)})
    session.commit()
    return done("/editor/feeds", "feed_added")


@router.post("/{feed_id}/{action}")
def act(request: Request, session: SessionDep, editor: CurrentEditor, feed_id: int, action: str) -> Response:
    use_case = {"pause": watched_feeds.pause_feed, "resume": watched_feeds.resume_feed,
                "remove": watched_feeds.remove_feed}.get(action)
    feed = session.get(Feed, feed_id)
    if use_case is None or feed is None:
        return _page(request, session, status=404, error=f"no feed #{feed_id}, or no action {action!r}")
    url = feed.url
    try:
        use_case(session, url)
    except (InvalidInputError, NotFoundError) as exc:
        session.rollback()
        return _page(request, session, status=409, error=problem(exc))
    audit.record(session, editor, f"feed_{action}d", url)  # feed_paused, feed_resumed, feed_removed
    session.commit()
    return done("/editor/feeds", {"pause": "feed_paused", "resume": "feed_resumed", "remove": "feed_removed"}[action])


def _web_url(url: str) -> str:
    """Only a web address: the check also reads local files for the command line, never for a page."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInputError(f"a feed URL starts with http:// or https://, got {url!r}")
    return url


def _page(request: Request, session, *, status: int = 200, **context) -> Response:
    return page(request, "feeds.html", status=status, feeds=watched_feeds.feed_health(session), **context)
