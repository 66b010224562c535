from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.feeds import print_moved
from publisher.cli.output import console, print_json
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Cadence
from publisher.services import feeds as feed_service
from publisher.services import lists as list_service
from publisher.services.subscribers import subscriber_counts

app = typer.Typer(help="Mailing lists: which feeds, how often, to whom.", no_args_is_help=True)

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


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
) -> None:
    """Create a list over one or more feeds (added first with `publisher feeds add`)."""
    if content not in ("full", "excerpt"):
        raise typer.BadParameter("must be full or excerpt", param_hint="--content")
    if not (get_settings().resolved_templates_dir() / "email" / template / "body.html").is_file():
        raise typer.BadParameter(f"no template folder templates/email/{template}/", param_hint="--template")
    if day.lower() not in DAYS:
        raise typer.BadParameter(f"must be one of {', '.join(DAYS)}", param_hint="--day")
    with session_scope() as session:
        list_service.validate_new_list(session, name=name, feed_urls=feed, cadence=cadence.value, send_at=at,
                                       timezone=tz, sender=sender)
        feed_urls = []
        for url in feed:  # a feed not added yet is added now, its current posts taken as the baseline
            known, added = feed_service.find_or_add_feed(session, get_settings(), url)
            print_moved(url, known.url, "using")  # lists name a feed by its final URL
            if added is not None:
                console.print(f"Added feed {known.url}: {len(added.new)} existing posts taken as the baseline",
                              markup=False, highlight=False)
            feed_urls.append(known.url)
        mailing_list = list_service.create_list(session, name=name, feed_urls=feed_urls, cadence=cadence.value,
                                                send_at=at, timezone=tz, sender=sender,
                                                weekday=DAYS.index(day.lower()))
        mailing_list.content_mode, mailing_list.template = content, template
        when = {"immediate": "as posts arrive", "weekly": f"weekly on {day.lower()} at {at} {tz}",
                "monthly": f"monthly on the 1st at {at} {tz}"}.get(mailing_list.cadence, f"{cadence.value} at {at} {tz}")
        console.print(f"Created list [bold]{name}[/]: {len(feed)} feed(s), {when}")


@app.command("list")
def list_lists(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Lists with their schedule and subscriber counts."""
    with session_scope() as session:
        rows = []
        for ml in list_service.all_lists(session):
            rows.append({"name": ml.name, "cadence": ml.cadence, "at": ml.send_at, "tz": ml.timezone,
                         "day": DAYS[ml.weekday], "paused": ml.paused, "feeds": [f.url for f in ml.feeds],
                         "subscribers": subscriber_counts(session, ml.id)})
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
