"""`publisher digest send|pause|resume|cancel`: a send, and an editor's hand on it."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from publisher.cli.digest import app
from publisher.cli.output import console, errors
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.errors import InvalidInputError
from publisher.models import DigestStatus
from publisher.services import controls
from publisher.services import digests as digest_service
from publisher.services.lists import get_list

ListOption = Annotated[str | None, typer.Option("--list", help="The list's latest send.")]


@app.command("send")
def send(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    wait: Annotated[bool, typer.Option(help="Show progress until every delivery is settled.")] = False,
) -> None:
    """Compose what is new since the list's last digest and deliver it to every confirmed subscriber."""
    from workers.tasks import send_digest  # late: importing Celery costs a few hundred ms

    settings = get_settings()
    with session_scope() as session:
        digest = digest_service.compose_digest(session, settings, get_list(session, list_name))
    if digest is None:
        console.print(f"Nothing new for [bold]{list_name}[/] since its last digest: nothing sent.")
        return
    console.print(f"Digest #{digest.id}: {digest.post_count} post(s) to {digest.recipient_count} subscriber(s)")
    if digest.status == DigestStatus.FAILED:  # it could not be rendered: nothing to send, say why
        with session_scope() as session:
            _report(controls.progress(session, digest.id))
    if digest.recipient_count == 0:
        return
    in_process = bool(send_digest.app.conf.task_always_eager)  # embedded CLI: nobody else will send it
    if not wait and not in_process:
        send_digest.delay(digest.id)
        console.print(f"Queued; follow it with `publisher status` (pause with `publisher digest pause {digest.id}`).")
        return
    failure: list[BaseException] = []
    runner = threading.Thread(target=_run_capturing, args=(send_digest, digest.id, failure), daemon=True)
    runner.start()
    final = _follow(digest.id, runner, show=wait, in_process=in_process)
    if failure and final.status != DigestStatus.PAUSED:
        raise failure[0]
    _report(final)


def _run_capturing(task, digest_id: int, failure: list) -> None:
    try:
        task.delay(digest_id)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
        failure.append(exc)


def _follow(digest_id: int, runner: threading.Thread, *, show: bool, in_process: bool) -> controls.Progress:
    """Poll the ledger (the record of truth) until the send settles or is paused, or the in-process run ends
    (in-process, nobody retries soft failures later in this run)."""
    columns = (TextColumn("[bold]sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not show) as bar:
        task = None
        while True:
            with session_scope() as session:
                state = controls.progress(session, digest_id)
            task = task if task is not None else bar.add_task("send", total=state.recipients, detail="")
            bar.update(task, completed=state.settled, detail=f"failed {state.failed}, retrying {state.retrying}, "
                                                             f"{state.rate_per_second}/s")
            if state.status != DigestStatus.SENDING or (in_process and not runner.is_alive()):
                return state
            time.sleep(0.3)


def _report(state: controls.Progress) -> None:
    console.print(f"Digest #{state.digest_id}: sent {state.sent}, failed {state.failed}, "
                  f"retrying later {state.retrying}, pending {state.pending}"
                  + (f" ({state.reason})" if state.reason else ""))
    if state.status == DigestStatus.PAUSED:
        errors.print(f"error: the send is {state.reason or 'paused'}; fix it, then `publisher digest resume "
                     f"{state.digest_id}`", markup=False)
        raise typer.Exit(1)
    if state.status == DigestStatus.FAILED:
        errors.print(f"error: digest #{state.digest_id} failed: {state.reason}; fix the cause, then `publisher "
                     f"digest resume {state.digest_id}` (or `publisher digest cancel {state.digest_id}`)",
                     markup=False)
        raise typer.Exit(1)
    if state.failed:
        raise typer.Exit(1)


def _target(session, digest_id: int | None, list_name: str | None) -> int:
    if digest_id is not None:
        return digest_id
    if list_name:
        return controls.latest_digest(session, get_list(session, list_name)).id
    raise InvalidInputError("name the send: a DIGEST_ID or --list NAME")


@app.command("pause")
def pause(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Pause a send: workers finish the message in hand and claim no more."""
    with session_scope() as session:
        digest = controls.pause_send(session, _target(session, digest_id, list_name))
    console.print(f"Digest #{digest.id} paused.")


@app.command("resume")
def resume(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Resume a paused send."""
    from workers.tasks import send_digest

    with session_scope() as session:
        digest = controls.resume_send(session, _target(session, digest_id, list_name))
    console.print(f"Digest #{digest.id} resumed.")
    send_digest.delay(digest.id)


@app.command("cancel")
def cancel(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Cancel a send for good: recipients not yet attempted get nothing."""
    with session_scope() as session:
        target = _target(session, digest_id, list_name)
        cancelled = controls.cancel_send(session, target)
    console.print(f"Digest #{target} cancelled: {cancelled} recipient(s) will not get it.")
