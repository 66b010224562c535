from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from publisher.cli.feeds import print_moved
from publisher.cli.output import console, print_json, when
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Cadence
from publisher.services import list_settings
from publisher.services import lists as list_service
from publisher.services.identity import identity_of
from publisher.services.subscribers import subscriber_counts

app = typer.Typer(help="Mailing lists: which feeds, how often, to whom.", no_args_is_help=True)



@app.command("create")
def create(
    name: str,
    feed: Annotated[list[str], typer.Option("--feed", help="Feed URL (repeat for several).")],
    cadence: Annotated[Cadence, typer.Option(help="Default cadence; each subscriber may choose another.")] = Cadence.DAILY,
    at: Annotated[str, typer.Option("--at", help="Send time, HH:MM in --tz.")] = "08:00",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. Europe/Paris.")] = "UTC",
    day: Annotated[str, typer.Option("--day", help="Weekly editions go out on this day.")] = "monday",
    sender: Annotated[str | None, typer.Option("--from", help="Sender, default PUBLISHER_FROM.")] = None,
    content: Annotated[str, typer.Option("--content", help="Posts in full, or an excerpt and a Read more link.")
                       ] = "full",
    template: Annotated[str, typer.Option("--template", help="Email template folder under templates/email/.")
                        ] = "digest",
    title: Annotated[str | None, typer.Option("--title", help="The blog's name as readers see it "
                                              "(default: the feed's title).")] = None,
    site_url: Annotated[str | None, typer.Option("--site-url", help="The blog's address (default: the feed's "
                                                 "site link).")] = None,
    description: Annotated[str | None, typer.Option("--description", help="One line about the blog, shown on "
                                                    "its public pages.")] = None,
    accent: Annotated[str | None, typer.Option("--accent", help="Accent colour, e.g. '#b5651d'.")] = None,
    logo: Annotated[str | None, typer.Option("--logo", help="Logo image URL (https) for the mail header and "
                                             "pages.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Leave the list off the public home page and "
                                          "archive (its subscribe page still works).")] = False,
) -> None:
    """Create a list over one or more feeds (added first with `publisher feeds add`)."""
    with session_scope() as session:
        created = list_service.create_list(session, get_settings(), name=name, feed_urls=feed, cadence=cadence.value,
                                           send_at=at, timezone=tz, day=day, sender=sender, content_mode=content,
                                           template=template, title=title, site_url=site_url,
                                           description=description, accent=accent, logo=logo, public=not private)
        for used in created.feeds:
            print_moved(used.asked, used.url, "using", result=used.added)  # lists name a feed by its final URL
            if used.baseline is not None:
                console.print(f"Added feed {used.url}: {used.baseline} existing posts taken as the baseline",
                              markup=False, highlight=False)
        ml = created.mailing_list
        when = {"immediate": "as posts arrive", "weekly": f"weekly on {day.lower()} at {at} {tz}",
                "monthly": f"monthly on the 1st at {at} {tz}"}.get(ml.cadence, f"{cadence.value} at {at} {tz}")
        console.print(f"Created list [bold]{name}[/]: {len(feed)} feed(s), {when}")
        blog = identity_of(session, ml)
        console.print(f"Readers see it as {blog.title!r}" + (f" from {blog.site_url}" if blog.site_url else "")
                      + " (change with --title / --site-url)", markup=False, highlight=False)


@app.command("list")
def list_lists(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Lists with their schedule and subscriber counts."""
    with session_scope() as session:
        rows = [{"name": ml.name, "cadence": ml.cadence, "at": ml.send_at, "tz": ml.timezone, "day": ml.day,
                 "paused": ml.paused, "feeds": ml.feeds, "subscribers": ml.subscribers}
                for ml in list_service.list_summaries(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "cadence", "at", "feeds", "confirmed", "pending", "unsubscribed")
    for r in rows:
        counts = r["subscribers"]
        table.add_row(r["name"], r["cadence"], f"{r['at']} {r['tz']}", "\n".join(r["feeds"]),
                      str(counts["confirmed"]), str(counts["pending"]), str(counts["unsubscribed"]))
    console.print(table)


@app.command("snippet")
def snippet(name: str) -> None:
    """HTML to paste into a Blogger "HTML/JavaScript" gadget (or any page): a plain form, no script."""
    from publisher.web.snippet import subscribe_snippet

    with session_scope() as session:
        mailing_list = list_service.get_list(session, name)
        typer.echo(subscribe_snippet(get_settings().base_url, mailing_list.name))


@app.command("show")
def show(name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """One list: its schedule, sender, template, feeds, subscriber counts and latest digest."""
    with session_scope() as session:
        details = list_settings.describe_list(session, list_service.get_list(session, name))
    if as_json:
        print_json(details)
        return
    counts, last = details["subscribers"], details["last_digest"]
    lines = [
        ("schedule", f"{details['cadence']} at {details['at']} {details['tz']}"
                     + (f", on {details['day']}s" if details["cadence"] == "weekly" else "")
                     + (" (paused)" if details["paused"] else "")),
        ("from", details["sender"] or f"{get_settings().sender} (PUBLISHER_FROM)"),
        ("template", f"{details['template']}, posts {details['content']}"),
        ("subscribers", ", ".join(f"{v} {k}" for k, v in counts.items())),
        ("last digest", "none yet" if last is None else
         f"#{last['id']} {last['status']} {when(last['created_at'])}: {last['posts']} posts to "
         f"{last['recipients']} ({last['subject']})"),
    ] + [("feed", f"{f['url']} ({f['status']})" + (f" {f['title']}" if f["title"] else ""))
         for f in details["feeds"]]
    table = Table(show_header=False, box=None, title=escape(details["name"]), title_justify="left")
    for label, value in lines:
        table.add_row(label, escape(value))
    console.print(table)


@app.command("edit")
def edit(
    name: str,
    add_feed: Annotated[list[str] | None, typer.Option("--add-feed", help="Feed URL to add (repeat for several).")
                        ] = None,
    remove_feed: Annotated[list[str] | None, typer.Option("--remove-feed", help="Feed URL to take off.")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender; '' for PUBLISHER_FROM.")] = None,
    cadence: Annotated[Cadence | None, typer.Option(help="Default cadence.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Send time, HH:MM in the list's zone.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone, e.g. Europe/Paris.")] = None,
    day: Annotated[str | None, typer.Option("--day", help="Weekly editions go out on this day.")] = None,
    content: Annotated[str | None, typer.Option("--content", help="full or excerpt.")] = None,
    template: Annotated[str | None, typer.Option("--template", help="Template folder under templates/email/.")
                        ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The blog's name as readers see it; '' for the "
                                              "feed's title.")] = None,
    site_url: Annotated[str | None, typer.Option("--site-url", help="The blog's address; '' for the feed's link.")
                        ] = None,
    description: Annotated[str | None, typer.Option("--description", help="One line about the blog.")] = None,
    accent: Annotated[str | None, typer.Option("--accent", help="Accent colour, e.g. '#b5651d'; '' for the "
                                               "default.")] = None,
    logo: Annotated[str | None, typer.Option("--logo", help="Logo image URL (https); '' for none.")] = None,
    public: Annotated[bool | None, typer.Option("--public/--private", help="On the public home page and archive, "
                                                "or not.")] = None,
) -> None:
    """Change a list's feeds, sender, schedule, template, content mode or the blog's identity; what is not
    given stays."""
    changes = list_settings.ListChanges(
        add_feeds=add_feed or [], remove_feeds=remove_feed or [], sender=sender,
        cadence=cadence.value if cadence else None, send_at=at, timezone=tz, day=day, template=template,
        content_mode=content, title=title, site_url=site_url, description=description, accent=accent, logo=logo,
        public=public)
    with session_scope() as session:
        mailing_list = list_service.get_list(session, name)
        done = list_settings.edit_list(session, get_settings(), mailing_list, changes)
    for line in done or ["nothing to change"]:
        console.print(f"{name}: {line}", markup=False, highlight=False)


@app.command("delete")
def delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a list, its subscriptions and its digests (subscribers, feeds and suppressions stay)."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete the list {name} with its subscriptions and digests?", abort=True)
    with session_scope() as session:
        mailing_list = list_service.get_list(session, name)
        counts = subscriber_counts(session, mailing_list.id)
        list_settings.delete_list(session, mailing_list)
    console.print(f"Deleted {name} ({counts['confirmed']} confirmed, {counts['pending']} pending subscriptions "
                  "ended)", markup=False, highlight=False)
