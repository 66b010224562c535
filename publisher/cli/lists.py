from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.output import console, print_json
from publisher.db import session_scope
from publisher.models import Cadence
from publisher.services import lists as list_service
from publisher.services.subscribers import subscriber_counts

app = typer.Typer(help="Mailing lists: which feeds, how often, to whom.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    feed: Annotated[list[str], typer.Option("--feed", help="Feed URL (repeat for several).")],
    cadence: Annotated[Cadence, typer.Option(help="How often a digest goes out.")] = Cadence.DAILY,
    at: Annotated[str, typer.Option("--at", help="Send time, HH:MM in --tz.")] = "08:00",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. Europe/Paris.")] = "UTC",
    sender: Annotated[str | None, typer.Option("--from", help="Sender, default PUBLISHER_FROM.")] = None,
) -> None:
    """Create a list over one or more feeds (added first with `publisher feeds add`)."""
    with session_scope() as session:
        mailing_list = list_service.create_list(session, name=name, feed_urls=feed, cadence=cadence.value,
                                                send_at=at, timezone=tz, sender=sender)
        when = "as posts arrive" if mailing_list.cadence == "immediate" else f"{cadence.value} at {at} {tz}"
        console.print(f"Created list [bold]{name}[/]: {len(feed)} feed(s), {when}")


@app.command("list")
def list_lists(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Lists with their schedule and subscriber counts."""
    with session_scope() as session:
        rows = []
        for ml in list_service.all_lists(session):
            rows.append({"name": ml.name, "cadence": ml.cadence, "at": ml.send_at, "tz": ml.timezone,
                         "paused": ml.paused, "feeds": [f.url for f in ml.feeds],
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
