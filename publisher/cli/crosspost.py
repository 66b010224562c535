"""`publisher crosspost`: preview summaries, manage targets, follow the ledger. Secrets go in, never out."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.output import console, print_json, when
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import crosspost_status, crosspost_targets

app = typer.Typer(help="Cross-post new posts to Mastodon, Bluesky and webhooks.", no_args_is_help=True)
targets = typer.Typer(help="Where posts are cross-posted.", no_args_is_help=True)
add = typer.Typer(help="Add a target (nothing is posted; `targets test NAME` checks it).", no_args_is_help=True)
app.add_typer(targets, name="targets")
targets.add_typer(add, name="add")

Feeds = Annotated[list[str] | None, typer.Option("--feed", help="Only posts of this feed URL (repeatable; "
                                                               "default: every feed).")]
OnEdit = Annotated[str, typer.Option("--on-edit", help="An edited post: skip (no new post), or edit the "
                                                       "existing status.")]
MaxAge = Annotated[float | None, typer.Option("--max-age-hours", help="Posts published longer ago are not "
                                                                      "cross-posted (default: "
                                                                      "PUBLISHER_CROSSPOST_MAX_AGE_HOURS).")]
Hashtags = Annotated[bool, typer.Option("--hashtags/--no-hashtags", help="Categories as hashtags.")]


@app.command("preview")
def preview(
    post: Annotated[str, typer.Argument(help="The post's id or link.")],
    platform: Annotated[str | None, typer.Option(help="mastodon, bluesky or webhook (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The text each platform would get for a post, counted as the platform counts. Posts nothing."""
    with session_scope() as session:
        summaries = crosspost_status.preview(session, get_settings(), post, platform)
    if as_json:
        print_json([s.as_json() for s in summaries])
        return
    for summary in summaries:
        console.print(f"[bold]{summary.platform}[/] ({summary.length}/{summary.limit})")
        console.print(summary.text, markup=False, highlight=False)
        console.print()


def _add(platform: str, name: str, url: str | None, secret: str | None, feeds, on_edit, max_age, hashtags,
         handle: str | None = None) -> None:
    with session_scope() as session:
        target = crosspost_targets.add_target(session, get_settings(), platform=platform, name=name, url=url,
                                              secret=secret, handle=handle, feeds=feeds or [], on_edit=on_edit,
                                              max_age_hours=max_age, hashtags=hashtags)
        console.print(f"Added {platform} target [bold]{target.name}[/] ({target.url}); check it with "
                      f"`publisher crosspost targets test {target.name}`")


@add.command("mastodon")
def add_mastodon(
    name: str,
    instance: Annotated[str, typer.Option(help="The instance, e.g. https://mastodon.social.")],
    token: Annotated[str, typer.Option(help="An access token with write:statuses and read:accounts.")],
    feed: Feeds = None, on_edit: OnEdit = "skip", max_age_hours: MaxAge = None, hashtags: Hashtags = True,
) -> None:
    """A Mastodon account."""
    _add("mastodon", name, instance, token, feed, on_edit, max_age_hours, hashtags)


@add.command("bluesky")
def add_bluesky(
    name: str,
    handle: Annotated[str, typer.Option(help="The account's handle, e.g. you.bsky.social.")],
    app_password: Annotated[str, typer.Option("--app-password", help="An app password (Settings > App passwords).")],
    service: Annotated[str, typer.Option(help="The account's PDS.")] = crosspost_targets.BLUESKY_SERVICE,
    feed: Feeds = None, on_edit: OnEdit = "skip", max_age_hours: MaxAge = None, hashtags: Hashtags = True,
) -> None:
    """A Bluesky account."""
    _add("bluesky", name, service, app_password, feed, on_edit, max_age_hours, hashtags, handle=handle)


@add.command("webhook")
def add_webhook(
    name: str,
    url: Annotated[str, typer.Option(help="Where the JSON is POSTed.")],
    secret: Annotated[str | None, typer.Option(help="Signs each body: X-Publisher-Signature: sha256=HMAC.")] = None,
    feed: Feeds = None, on_edit: OnEdit = "skip", max_age_hours: MaxAge = None, hashtags: Hashtags = True,
) -> None:
    """A webhook receiving the whole post as JSON."""
    _add("webhook", name, url, secret, feed, on_edit, max_age_hours, hashtags)


@targets.command("list")
def list_targets(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Targets and the feeds they follow (secrets are never shown)."""
    with session_scope() as session:
        rows = crosspost_targets.list_targets(session)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "platform", "url", "handle", "feeds", "on edit", "max age (h)")
    for t in rows:
        feeds = t["feeds"] if isinstance(t["feeds"], str) else "\n".join(t["feeds"])
        table.add_row(t["name"], t["platform"], t["url"], t["handle"] or "", feeds, t["on_edit"],
                      str(t["max_age_hours"] or "default"))
    console.print(table if rows else "no cross-post targets (add one with `publisher crosspost targets add`)")


@targets.command("test")
def test_target(name: str) -> None:
    """Check a target's credentials without posting anything."""
    with session_scope() as session:
        console.print(f"[green]ok[/] {name}: {crosspost_targets.check_target(session, get_settings(), name)}")


@targets.command("remove")
def remove_target(name: str) -> None:
    """Forget a target and its ledger (what was posted stays posted)."""
    with session_scope() as session:
        crosspost_targets.remove_target(session, name)
    console.print(f"Removed target {name}")


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each post x target: state, attempts, where it was posted, the last error."""
    with session_scope() as session:
        report = crosspost_status.status(session)
    if as_json:
        print_json(report)
        return
    console.print("  ".join(f"{state}: {count}" for state, count in report["counts"].items()))
    table = Table("post", "target", "state", "attempts", "remote URL", "last error", "next attempt")
    for r in report["crossposts"]:
        table.add_row(r["post"] or r["link"] or str(r["post_id"]), r["target"], r["state"], str(r["attempts"]),
                      r["remote_url"] or "", r["last_error"] or "", when(r["next_attempt_at"]))
    console.print(table if report["crossposts"] else "no cross-posts yet")
