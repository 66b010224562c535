"""`publisher editors`: the accounts that may use the editor and the API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.output import console, fail, print_json, when
from publisher.db import session_scope
from publisher.services import editors as editor_service

app = typer.Typer(help="Editor accounts: who may log in to the editor and use the API.", no_args_is_help=True)


@app.command("add")
def add(
    email: str,
    admin: Annotated[bool, typer.Option("--admin", help="May manage editors, settings and wipes.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Add an editor; prompts for the password twice (at least 10 characters)."""
    password = _read_password(password_stdin)
    with session_scope() as session:
        editor = editor_service.add_editor(session, email=email, password=password, is_admin=admin)
        console.print(f"Added {editor.role} {editor.email}", markup=False, highlight=False)


@app.command("password")
def password(
    email: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Set a new password for an editor; their browser sessions end."""
    new = _read_password(password_stdin)
    with session_scope() as session:
        editor_service.set_password(session, email=email, password=new)
    console.print(f"New password set for {email.strip()}; logged out everywhere", markup=False, highlight=False)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show every editor and their role."""
    with session_scope() as session:
        rows = [{"email": e.email, "role": e.role, "created_at": e.created_at}
                for e in editor_service.list_editors(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No editors yet: add one with `publisher editors add EMAIL --admin`", markup=False)
        return
    table = Table("email", "role", "created")
    for row in rows:
        table.add_row(row["email"], row["role"], when(row["created_at"]))
    console.print(table)


@app.command("remove")
def remove(email: str) -> None:
    """Remove an editor: their sessions and API tokens stop working at once (their audit entries stay)."""
    with session_scope() as session:
        editor_service.remove_editor(session, email=email)
    console.print(f"Removed {email.strip()}", markup=False, highlight=False)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: stdin is empty")
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
