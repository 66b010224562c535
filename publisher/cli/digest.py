from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from publisher.cli.output import console, errors
from publisher.compose.message import Recipient, build_message
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import Digest, DigestStatus
from publisher.services import digests as digest_service
from publisher.services.lists import get_list
from publisher.store import deliveries

app = typer.Typer(help="Compose, preview and send digests.", no_args_is_help=True)


@app.command("preview")
def preview(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    fmt: Annotated[str, typer.Option("--format", help="html, text or eml.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Render the next digest without sending or recording anything."""
    if fmt not in ("html", "text", "eml"):
        raise typer.BadParameter("must be html, text or eml", param_hint="--format")
    settings = get_settings()
    with session_scope() as session:
        mailing_list = get_list(session, list_name)
        result = digest_service.preview_digest(session, settings, mailing_list)
        sender = mailing_list.sender or settings.sender
    if result.only_old_posts:
        errors.print(f"note: nothing new for {list_name}; previewing its {result.post_count} latest posts")
    sample = Recipient(email="preview@example.com", name="Preview", unsubscribe_url=f"{settings.base_url}/unsubscribe/preview",
                       unsubscribe_mailto="mailto:unsubscribe@example.com", preferences_url=f"{settings.base_url}/preferences/preview",
                       message_id="<preview@publisher.invalid>")
    if fmt == "eml":
        data = build_message(result.rendered, sample, sender=sender, list_id=f"{list_name}.preview")
    else:
        from publisher.compose.message import personalize

        personal = personalize(result.rendered, sample)
        data = (personal.html if fmt == "html" else personal.text).encode()
    if out:
        out.write_bytes(data)
        console.print(f"Wrote {fmt} preview of {result.post_count} posts to {out}")
    else:
        typer.echo(data.decode("utf-8", "replace"))


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
    if digest.recipient_count == 0:
        return
    eager = bool(send_digest.app.conf.task_always_eager)
    if not wait and not eager:
        send_digest.delay(digest.id)
        console.print("Queued; follow it with `publisher status`.")
        return
    failure: list[BaseException] = []
    runner = threading.Thread(target=_run_capturing, args=(send_digest, digest.id, failure), daemon=True)
    runner.start()
    counts = _follow(digest, runner, show=wait)
    if failure:
        raise failure[0]
    _report(digest.id, counts)


def _run_capturing(task, digest_id: int, failure: list) -> None:
    try:
        task.delay(digest_id)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
        failure.append(exc)


def _follow(digest: Digest, runner: threading.Thread, *, show: bool) -> dict[str, int]:
    """Poll the ledger (the record of truth) until the send settles, or the in-process run ends."""
    columns = (TextColumn("[bold]sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not show) as progress:
        bar = progress.add_task("send", total=digest.recipient_count, detail="")
        while True:
            with session_scope() as session:
                counts = deliveries.progress(session, digest.id)
                status = session.get(Digest, digest.id).status
            done = counts["sent"] + counts["hard_failed"] + counts["unknown"]
            progress.update(bar, completed=done, detail=f"failed {counts['hard_failed'] + counts['unknown']}, "
                                                         f"retrying {counts['soft_failed']}")
            # In-process (embedded CLI) nobody retries soft failures later in this run: stop when it ends.
            if status != DigestStatus.SENDING or (not runner.is_alive() and _eager_done(runner)):
                return counts
            time.sleep(0.3)


def _eager_done(runner: threading.Thread) -> bool:
    from workers.celery_app import app as celery_app

    return bool(celery_app.conf.task_always_eager)


def _report(digest_id: int, counts: dict[str, int]) -> None:
    console.print(f"Digest #{digest_id}: sent {counts['sent']}, failed {counts['hard_failed']}, "
                  f"unknown {counts['unknown']}, retrying later {counts['soft_failed']}")
    if counts["hard_failed"] or counts["unknown"]:
        raise typer.Exit(1)
