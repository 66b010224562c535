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
    """Add a feed (or a blog's address: its feed is found) and fetch it once: its existing posts are the
    baseline, not news."""
    with session_scope() as session:
        result = feed_service.add_feed(session, get_settings(), url=url, name=name, backfill=backfill)
        feed = session.get(Feed, result.feed_id)
        print_moved(url, feed.url, result=result)
        console.print(f"Added feed [bold]{escape(feed.display_name)}[/] ({escape(feed.url)}): {len(result.new)} "
                      f"existing posts taken as the baseline"
                      + (f", {backfill} of them backfilled as news" if backfill else ""))


def print_moved(asked: str, stored: str, done: str = "stored", result=None) -> None:
    """Say which feed a blog's page led to, or that the URL asked for redirected permanently and the feed is
    known by its final URL."""
    if result is not None and result.discovery is not None:
        print_discovery(result.discovery)
        asked = result.discovery.feed_url
    if stored != asked:
        console.print(f"{asked} moved permanently: {done} its new URL {stored}", markup=False, highlight=False)


def print_discovery(found) -> None:
    console.print(f"{found.page_url} is a web page: using its feed {found.picked.describe()}", markup=False,
                  highlight=False)
    if found.others:
        console.print("Other feeds it names (give one to `feeds add` to use it instead):", markup=False)
        for other in found.others:
            console.print(f"  {other.describe()}", markup=False, highlight=False)


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


@app.command("check")
def check(
    url_or_file: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fetch, parse and sanitize a feed (a blog's address: the feed it names), or a local file, and print the
    posts the watcher sees. Writes nothing."""
    parsed, posts, found = feed_service.check_feed_or_page(url_or_file, get_settings())
    if as_json:
        print_json({"feed": {"title": parsed.title, "link": parsed.link, "hub": parsed.hub_url,
                             "warning": parsed.warning},
                    "discovered": None if found is None else {
                        "page": found.page_url, "feed": found.feed_url, "kind": found.picked.kind,
                        "others": [{"url": o.url, "kind": o.kind, "title": o.title} for o in found.others]},
                    "posts": [post.as_json() for post in posts]})
        return
    if found is not None:
        print_discovery(found)
    console.print(f"[bold]{escape(parsed.title or '')}[/] {escape(parsed.link or '')}: {len(posts)} posts")
    if parsed.warning:
        console.print(f"[yellow]warning:[/] {escape(parsed.warning)}", markup=True)
    table = Table("published", "title", "link")
    for post in posts:
        table.add_row(when(post.published), escape(post.title), escape(post.link or ""))
    console.print(table)


@app.command("pause")
def pause(url: str) -> None:
    """Stop polling a feed (its posts stay; lists send nothing new from it until it is resumed)."""
    with session_scope() as session:
        feed = watched_feeds.pause_feed(session, url)
        console.print(f"Paused {feed.url}: `publisher feeds resume {feed.url}` polls it again", markup=False,
                      highlight=False)


@app.command("resume")
def resume(url: str) -> None:
    """Poll a paused (or retired) feed again from the next tick."""
    with session_scope() as session:
        feed = watched_feeds.resume_feed(session, url)
        console.print(f"Resumed {feed.url}: polled at the next tick", markup=False, highlight=False)


@app.command("remove")
def remove(
    url: str,
    force: Annotated[bool, typer.Option("--force", help="Remove it even from the lists that use it.")] = False,
) -> None:
    """Delete a feed and the posts stored from it."""
    with session_scope() as session:
        left = watched_feeds.remove_feed(session, url, force=force)
    console.print(f"Removed {url}" + (f" (taken off {', '.join(left)})" if left else ""), markup=False,
                  highlight=False)
