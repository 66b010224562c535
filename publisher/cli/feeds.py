from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from publisher.cli.output import console, print_json, when
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Feed
from publisher.services import feeds as feed_service
from publisher.services import watched_feeds

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
        rows = watched_feeds.feed_health(session)
    if as_json:
        print_json([_feed_json(f) for f in rows])
        return
    table = Table("name", "url", "status", "last success", "failures", "last error", "next poll", "push")
    for f in rows:
        table.add_row(f.display_name, f.url, f.status, when(f.last_success_at), str(f.consecutive_failures),
                      f.last_error or "", when(f.next_poll_at), f.hub_state)
    console.print(table)


def _feed_json(feed: watched_feeds.FeedHealth) -> dict:
    data = asdict(feed)
    data.pop("display_name")
    return data


@app.command("pause")
def pause(url: str) -> None:
    """Stop polling a feed until it is resumed (its lists keep it)."""
    with session_scope() as session:
        watched_feeds.pause_feed(session, url)
    console.print(f"Paused {url}", markup=False, highlight=False)


@app.command("resume")
def resume(url: str) -> None:
    """Poll a paused feed again."""
    with session_scope() as session:
        watched_feeds.resume_feed(session, url)
    console.print(f"Resumed {url}", markup=False, highlight=False)


@app.command("remove")
def remove(url: str) -> None:
    """Forget a feed and its posts (refused while a list uses it)."""
    with session_scope() as session:
        watched_feeds.remove_feed(session, url)
    console.print(f"Removed {url}", markup=False, highlight=False)


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
