"""The public home: the lists anyone may join, each list's page (the blog, its recent posts, a sign-up form)
and the web archive of its digests, the pages "View in your browser" opens and readers share."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.compose.render import format_date
from publisher.errors import NotFoundError
from publisher.services import archive
from publisher.web.deps import SessionDep, SettingsDep
from publisher.web.routes.public import blog_context, page
from publisher.web.snippet import HONEYPOT

router = APIRouter()
# The archive shows mail HTML (sanitized on ingest); no script of any origin runs on these pages.
_NO_SCRIPT = {"Content-Security-Policy": "script-src 'none'; object-src 'none'; base-uri 'none'"}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep):
    lists = [blog_context(session, ml) for ml in archive.public_lists(session)]
    return page(request, "home.html", {"lists": lists, "honeypot": HONEYPOT})


@router.get("/lists/{list_name}", response_class=HTMLResponse)
def list_page(request: Request, list_name: str, session: SessionDep):
    try:
        mailing_list = archive.public_list(session, list_name)
    except NotFoundError as exc:
        return not_found(request, str(exc))
    zone = ZoneInfo(mailing_list.timezone)
    posts = [{"title": p.title or "(untitled)", "link": p.link,
              "date": format_date(p.published_at or p.first_seen_at, zone)}
             for p in archive.recent_posts(session, mailing_list)]
    return page(request, "list.html", {**blog_context(session, mailing_list), "posts": posts,
                                       "has_archive": bool(archive.archived_digests(session, mailing_list)),
                                       "honeypot": HONEYPOT})


@router.get("/archive/{list_name}/", response_class=HTMLResponse)
def archive_index(request: Request, list_name: str, session: SessionDep, settings: SettingsDep):
    try:
        mailing_list = archive.public_list(session, list_name)
    except NotFoundError as exc:
        return not_found(request, str(exc))
    zone = ZoneInfo(mailing_list.timezone)
    digests = [{"id": d.id, "date": format_date(d.created_at, zone),
                "subject": archive.neutral(d.subject, base_url=settings.base_url, list_name=mailing_list.name)}
               for d in archive.archived_digests(session, mailing_list)]
    return page(request, "archive.html", {**blog_context(session, mailing_list), "digests": digests})


@router.get("/archive/{list_name}/{digest_id}", response_class=HTMLResponse)
def archived_digest(request: Request, list_name: str, digest_id: str, session: SessionDep, settings: SettingsDep):
    try:
        mailing_list = archive.public_list(session, list_name)
        if not (digest_id.isascii() and digest_id.isdigit() and len(digest_id) < 19):  # a mangled link: a page
            raise NotFoundError(f"{mailing_list.name!r} has no digest {digest_id!r} in its archive")
        digest = archive.archived_digest(session, mailing_list, int(digest_id))
    except NotFoundError as exc:
        return not_found(request, str(exc))
    html = archive.web_version(digest.html, base_url=settings.base_url, list_name=mailing_list.name)
    return HTMLResponse(html, headers=_NO_SCRIPT)


def not_found(request: Request, message: str) -> HTMLResponse:
    return page(request, "error.html", {"title": "Not found", "message": message, "home_link": True}, status=404)
