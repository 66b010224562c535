from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.output import console, errors, print_json, when
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import audit, gdpr, importer, mails, members
from publisher.services import subscribers as subscriber_service
from publisher.services.lists import get_list

app = typer.Typer(help="People on lists.", no_args_is_help=True)


@app.command("add")
def add(
    email: str,
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    name: Annotated[str | None, typer.Option(help="The subscriber's name.")] = None,
    confirmed: Annotated[bool, typer.Option(help="Consent already obtained: skip double opt-in.")] = False,
) -> None:
    """Add a subscriber to a list. Without --confirmed they are pending and get the confirmation mail now."""
    with session_scope() as session:
        added = members.add_member(session, get_settings(), get_list(session, list_name), email=email, name=name,
                                   confirmed=confirmed)
        address, status = added.subscription.subscriber.email, added.subscription.status
    console.print(f"{address} on {list_name}: {status}", markup=False, highlight=False)
    confirmation = added.confirmation
    if confirmation is None:
        return
    if confirmation.mail_id is None:
        errors.print(f"note: {confirmation.note}", markup=False, highlight=False)
        return
    with session_scope() as session:  # embedded: the worker ran in this process when the mail was queued
        state = mails.state(session, confirmation.mail_id)
    if state == "sent":
        console.print(f"Sent the confirmation mail to {address}: they are on the list once they follow its link",
                      markup=False, highlight=False)
    elif state == "pending":
        console.print(f"Queued the confirmation mail to {address} (a worker sends it): they are on the list once "
                      "they follow its link", markup=False, highlight=False)
    else:
        errors.print(f"note: the confirmation mail could not be sent yet: {state}; it is retried (see `publisher "
                     f"status`). Meanwhile {confirmation.how_else}", markup=False, highlight=False)


@app.command("list")
def list_members(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    status: Annotated[str | None, typer.Option(help="Only pending, confirmed or unsubscribed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The people on a list, in the order they joined."""
    with session_scope() as session:
        rows = members.members(session, get_list(session, list_name), status=status)
    if as_json:
        print_json([asdict(row) for row in rows])
        return
    table = Table("email", "name", "status", "since", "source", "cadence")
    for row in rows:
        since = row.unsubscribed_at or row.confirmed_at or row.subscribed_at
        table.add_row(row.email, row.name or "", row.status, when(since), row.source or "", row.cadence or "list's")
    console.print(table)
    console.print(f"{len(rows)} subscriber(s)", markup=False)


@app.command("confirm")
def confirm(
    email: str,
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    consent: Annotated[bool, typer.Option(help="They unsubscribed and asked to come back: bring them back.")
                       ] = False,
) -> None:
    """Confirm a pending subscriber whose consent you have (e.g. they asked in person)."""
    with session_scope() as session:
        subscription = members.confirm_member(session, get_list(session, list_name), email=email, consent=consent)
        address = subscription.subscriber.email
    console.print(f"{address} on {list_name}: confirmed", markup=False, highlight=False)


@app.command("remove")
def remove(
    email: str,
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
) -> None:
    """Take someone off a list, as if they had unsubscribed (`wipe` erases everything held on them)."""
    with session_scope() as session:
        subscription = members.remove_member(session, get_list(session, list_name), email=email)
        address = subscription.subscriber.email
    console.print(f"{address} removed from {list_name}: no more mail from it, and no import brings them back",
                  markup=False, highlight=False)


@app.command("import")
def import_(
    file: Path,
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    confirmed: Annotated[bool, typer.Option(help="Rows without a status (or pending) have consented already.")] = False,
) -> None:
    """Import a CSV: generic (email,name,status,subscribed_at,ip,source), FeedBurner or follow.it exports.
    Every bad row is reported with its line number; the rest are imported. Re-importing changes nothing."""
    with session_scope() as session:
        report = importer.import_csv(session, get_list(session, list_name), file, confirmed=confirmed)
        audit.record(session, None, "imported", list_name, {"added": report.added, "rejected": len(report.errors)})
    for line in report.errors:
        errors.print(line, markup=False)
    for line in report.suppressed:
        errors.print(f"{line} (skipped)", markup=False)
    console.print(f"Imported {report.added}, unchanged {report.unchanged}, suppressed {len(report.suppressed)}, "
                  f"rejected {len(report.errors)} ({report.format} format, read as {report.encoding})")
    if report.errors:
        raise typer.Exit(1)


@app.command("export")
def export(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Every subscriber of the list as CSV, in the generic import format (consent provenance included)."""
    with session_scope() as session:
        mailing_list = get_list(session, list_name)
        if out is None:
            subscriber_service.export_csv(session, mailing_list, sys.stdout)
            return
        with out.open("w", newline="", encoding="utf-8") as handle:
            count = subscriber_service.export_csv(session, mailing_list, handle)
    console.print(f"Wrote {count} subscriber(s) of {list_name} to {out}")


@app.command("export-data")
def export_data(email: str) -> None:
    """GDPR: everything we hold on one person, as JSON."""
    with session_scope() as session:
        print_json(gdpr.export_data(session, email))


@app.command("wipe")
def wipe(
    email: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """GDPR: delete every personal row of one person; only a hash stays, so they are never re-added."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Erase everything we hold on {email}?", abort=True)
    with session_scope() as session:
        counts = gdpr.wipe(session, email)
        audit.record(session, None, "wiped", "a person (address not kept)", counts)
    console.print(f"Wiped {email}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                  + "; a hashed suppression entry remains")
