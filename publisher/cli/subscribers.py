from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.output import console, errors
from publisher.db import session_scope
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
    """Add a subscriber to a list (pending until confirmed, unless --confirmed)."""
    with session_scope() as session:
        subscription = subscriber_service.subscribe(session, get_list(session, list_name), email=email, name=name,
                                                    confirmed=confirmed)
        console.print(f"{subscription.subscriber.email} on [bold]{list_name}[/]: {subscription.status}")


@app.command("import")
def import_(
    file: Path,
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    confirmed: Annotated[bool, typer.Option(help="Every row has consented already.")] = False,
) -> None:
    """Import a CSV with an `email` column (and optionally `name`, `status`). Bad rows are reported."""
    with session_scope() as session:
        report = subscriber_service.import_csv(session, get_list(session, list_name), file, confirmed=confirmed)
    for line in report.errors:
        errors.print(line, markup=False)
    console.print(f"Imported {report.added}, unchanged {report.unchanged}, rejected {len(report.errors)}")
    if report.errors:
        raise typer.Exit(1)
