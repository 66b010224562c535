from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from publisher.cli.output import console, print_json, when
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Feed, HubSubscription
from publisher.services import feeds as feed_service

app = typer.Typer(help="Feeds the watcher follows.", no_args_is_help=True)


@app.command("add")
def add(
    url: str,
    name: Annotated[str | None, typer.Option(help="A short name shown in digests.")] = None,
    backfill: Annotated[int, typer.Option(help="Treat the N newest existing posts as news.")] = 0,
) -> None:
    """Add a feed and fetch it once: its existing posts are the baseline, not news."""
    with session_scope() as session:
        result = feed_service.add_feed(session, get_settings(), url=url, name=name, backfill=backfill)
        feed = session.get(Feed, result.feed_id)
        print_moved(url, feed.url)
        console.print(f"Added feed [bold]{escape(feed.display_name)}[/] ({escape(feed.url)}): {len(result.new)} "
                      f"existing posts taken as the baseline"
                      + (f", {backfill} of them backfilled as news" if backfill else ""))


def print_moved(asked: str, stored: str, done: str = "stored") -> None:
    """Say so when the URL asked for redirected permanently and the feed is known by its final URL."""
    if stored != asked:
        console.print(f"{asked} moved permanently: {done} its new URL {stored}", markup=False, highlight=False)


@app.command("list")
def list_feeds(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Feeds with their health, failing ones first."""
    with session_scope() as session:
        rows = list(session.scalars(select(Feed)))
        rows.sort(key=lambda f: (-f.consecutive_failures, f.id))
        hubs = {s.feed_id: s for s in session.scalars(select(HubSubscription))}
        if as_json:
            print_json([_feed_json(f, hubs.get(f.id)) for f in rows])
            return
        table = Table("name", "url", "status", "last success", "failures", "last error", "next poll", "push")
        for f in rows:
            table.add_row(f.display_name, f.url, f.status, when(f.last_success_at), str(f.consecutive_failures),
                          f.last_error or "", when(f.next_poll_at), _hub_state(f, hubs.get(f.id)))
        console.print(table)


def _hub_state(feed: Feed, sub: HubSubscription | None) -> str:
    if not feed.hub_url:
        return "no hub"
    return sub.state if sub else "not subscribed"


def _feed_json(feed: Feed, sub: HubSubscription | None) -> dict:
    return {
        "id": feed.id, "url": feed.url, "name": feed.name, "title": feed.title, "site_url": feed.site_url,
        "status": feed.status, "hub_url": feed.hub_url, "last_attempt_at": feed.last_attempt_at,
        "last_success_at": feed.last_success_at, "last_http_status": feed.last_http_status,
        "last_error": feed.last_error, "consecutive_failures": feed.consecutive_failures,
        "next_poll_at": feed.next_poll_at, "poll_interval_minutes": feed.poll_interval_minutes,
        "hub_state": _hub_state(feed, sub), "hub_expires_at": sub.expires_at if sub else None,
        "hub_error": sub.last_error if sub else None,
    }


@app.command("check")
def check(
    url_or_file: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fetch, parse and sanitize a feed (or a local file) and print the posts the watcher sees. Writes nothing."""
    parsed, posts = feed_service.check_feed(url_or_file, get_settings())
    if as_json:
        print_json({"feed": {"title": parsed.title, "link": parsed.link, "hub": parsed.hub_url,
                             "warning": parsed.warning},
                    "posts": [post.as_json() for post in posts]})
        return
    console.print(f"[bold]{parsed.title}[/] {parsed.link or ''}: {len(posts)} posts")
    if parsed.warning:
        console.print(f"[yellow]warning:[/] {parsed.warning}", markup=True)
    table = Table("published", "title", "link")
    for post in posts:
        table.add_row(when(post.published), post.title, post.link or "")
    console.print(table)
