"""`publisher digest send|pause|resume|cancel`: a send, and an editor's hand on it."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from publisher.cli.digest import app
from publisher.cli.output import console, errors
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import DigestStatus
from publisher import queue
from publisher.services import audit, controls, mails, sending
from publisher.services.lists import get_list
from publisher.services.subscribers import subscriber_counts

ListOption = Annotated[str | None, typer.Option("--list", help="The list's latest send.")]


@app.command("send")
def send(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    wait: Annotated[bool, typer.Option(help="Show progress until every delivery is settled.")] = False,
) -> None:
    """Compose what is new since the list's last digest and deliver it to every confirmed subscriber."""
    in_process = queue_runs_in_process()  # embedded CLI: nobody else will send it, this process does
    started: list[threading.Thread] = []
    failure: list[BaseException] = []
    with session_scope() as session:
        if in_process:  # the send runs in a thread once composed and committed, while we show its progress
            queue.dispatch_with(session, queue.in_thread(started, failure))
        digest = sending.send_now(session, get_settings(), list_name=list_name)
        counts = subscriber_counts(session, get_list(session, list_name).id)
        if digest is not None:
            audit.record(session, None, "sent", f"digest #{digest.id}", {"list": list_name})
    if digest is None and not counts["confirmed"]:
        console.print(_nobody_to_send_to(list_name, counts["pending"]), markup=False, highlight=False)
        return
    if digest is None:
        console.print(f"Nothing new for [bold]{escape(list_name)}[/] since its last digest: nothing sent.")
        return
    console.print(f"Digest #{digest.id}: {digest.post_count} post(s) to {digest.recipient_count} subscriber(s)")
    if digest.status == DigestStatus.FAILED:  # it could not be rendered: nothing to send, say why
        with session_scope() as session:
            _report(controls.progress(session, digest.id))
    if digest.recipient_count == 0:
        return
    if not wait and not in_process:
        console.print(f"Queued; follow it with `publisher status` (pause with `publisher digest pause {digest.id}`).")
        return
    runner = started[0] if started else None
    final = _follow(digest.id, runner, show=wait, in_process=in_process)
    if failure and final.status != DigestStatus.PAUSED:
        raise failure[0]
    _report(final)


def queue_runs_in_process() -> bool:
    from workers.celery_app import app as celery  # late: importing Celery costs a few hundred ms

    return bool(celery.conf.task_always_eager)


@app.command("test")
def test(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    to: Annotated[str, typer.Option("--to", help="The address to send the test to (yours).")],
) -> None:
    """Send the list's next digest, as `digest preview` shows it, to one address, marked [Test]. It goes by the
    same path as every mail (queued, signed, retried); nothing of the list changes."""
    with session_scope() as session:
        result = sending.test_send(session, get_settings(), list_name=list_name, to=to)
        audit.record(session, None, "test_sent", list_name, {"to": result.to})
    with session_scope() as session:  # embedded CLI: the worker ran in this process at commit
        state = mails.state(session, result.mail_id)
    console.print(f"Subject: {result.subject}", markup=False, highlight=False)
    console.print(f"Test mail #{result.mail_id} to {result.to}: {state}", markup=False, highlight=False)


def _nobody_to_send_to(list_name: str, pending: int) -> str:
    waiting = (f" ({pending} pending: each gets digests once they follow the link in their confirmation mail;"
               f" see `publisher subscribers list --list {list_name}`)") if pending else ""
    return (f"{list_name} has no confirmed subscribers{waiting}: nothing sent. Add readers with `publisher "
            f"subscribers add EMAIL --list {list_name}` or the sign-up form (`publisher lists snippet {list_name}`).")



def _follow(digest_id: int, runner: threading.Thread | None, *, show: bool, in_process: bool) -> controls.Progress:
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
            if state.status != DigestStatus.SENDING or (in_process and (runner is None or not runner.is_alive())):
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


@app.command("pause")
def pause(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Pause a send: workers finish the message in hand and claim no more."""
    with session_scope() as session:
        state = sending.pause(session, sending.target_digest(session, digest_id=digest_id, list_name=list_name))
        audit.record(session, None, "paused", f"digest #{state.digest_id}")
    console.print(f"Digest #{state.digest_id} paused.")


@app.command("resume")
def resume(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Resume a paused send."""
    with session_scope() as session:
        state = sending.resume(session, sending.target_digest(session, digest_id=digest_id, list_name=list_name))
        audit.record(session, None, "resumed", f"digest #{state.digest_id}")
    console.print(f"Digest #{state.digest_id} resumed.")


@app.command("cancel")
def cancel(digest_id: Annotated[int | None, typer.Argument()] = None, list_name: ListOption = None) -> None:
    """Cancel a send for good: recipients not yet attempted get nothing."""
    with session_scope() as session:
        cancelled, state = sending.cancel(session, sending.target_digest(session, digest_id=digest_id,
                                                                         list_name=list_name))
        audit.record(session, None, "cancelled", f"digest #{state.digest_id}", {"cancelled_recipients": cancelled})
    console.print(f"Digest #{state.digest_id} cancelled: {cancelled} recipient(s) will not get it.")
