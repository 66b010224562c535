from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.output import console
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services.bounces import handle_inbound

app = typer.Typer(help="Bounces and complaints coming back to the VERP address.", no_args_is_help=True)


def _process(rcpt_tos: list[str], data: bytes):
    with session_scope() as session:
        return handle_inbound(session, get_settings(), rcpt_tos=rcpt_tos, data=data)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Receive DSNs (RFC 3464) and complaints (ARF) by SMTP; suppress whom a signed VERP address or Message-ID
    proves they are about (anything else is counted as unverified)."""
    from publisher.deliver.intake import start_intake

    controller = start_intake(_process, host=host, port=port)
    console.print(f"Bounce intake listening on {host}:{port}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@app.command("process")
def process(
    file: Annotated[Path | None, typer.Argument(help="A saved message; default: standard input.")] = None,
    rcpt: Annotated[list[str] | None, typer.Option("--rcpt", help="Envelope recipient (the VERP address).")] = None,
) -> None:
    """Process one bounce message from a file or a pipe (e.g. from a mailbox poll or a .forward)."""
    data = file.read_bytes() if file else sys.stdin.buffer.read()
    intake = _process(list(rcpt or []), data)
    for item in intake.handled:
        if item.kind == "unsubscribe":
            console.print(f"{item.email}: unsubscribed by mail", markup=False)
            continue
        console.print(f"{item.email}: {item.kind} bounce" + (", suppressed" if item.suppressed else ""))
    for item in intake.unverified:
        console.print(f"unverified {item.kind} report, nothing done: {item.reason}", markup=False)
    if not intake.handled and not intake.unverified:
        console.print("not a bounce or complaint report: nothing done")
