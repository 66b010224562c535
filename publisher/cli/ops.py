"""Operating commands: init, poll, serve, worker, scheduler, status."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from publisher.cli.output import console, errors, print_json, when
from publisher.config import get_settings
from publisher.db import mask_url, session_scope
from publisher.services import feeds as feed_service
from publisher.services.database import upgrade_database


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("poll")(poll)
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
    app.command("status")(status)


def init() -> None:
    """Create or upgrade the database (and the secret key, unless PUBLISHER_SECRET_KEY is set)."""
    settings = get_settings()
    revision = upgrade_database()
    console.print(f"Database ready at schema {revision}: {mask_url(settings.database_url)}", highlight=False)
    if not settings.secret_key:
        settings.resolved_secret_key()  # made now, readable by its owner only, not by whichever command is first
        console.print(f"Secret key (signs the links in mails): {(settings.data_dir / 'secret_key').resolve()}",
                      highlight=False)


def poll(feed: Annotated[str | None, typer.Option("--feed", help="Poll only this feed URL.")] = None) -> None:
    """Poll feeds now (many at once); print new and updated posts."""
    settings = get_settings()
    with session_scope() as session:
        targets = [feed_service.get_feed(session, feed)] if feed else feed_service.due_feeds(session, _far_future())
        names = {t.url: t.display_name for t in targets}
        results = feed_service.poll_feeds(session, settings, targets)
    failed = False
    for result in sorted(results, key=lambda r: names.get(r.feed_url, r.feed_url)):
        failed |= _print_refresh(names.get(result.feed_url, result.feed_url), result)
    if failed:
        raise typer.Exit(1)


def _print_refresh(name: str, result) -> bool:
    if result.error:
        errors.print(f"error: {result.error}", markup=False)
        return True
    if result.not_modified:
        console.print(f"{name}: not modified")
    else:
        console.print(f"{name}: {len(result.new)} new, {len(result.updated)} updated"
                      + (" (baseline: not news)" if result.baseline else ""))
    for post in result.new:
        console.print(f"  [green]new[/]     {post.title}  {post.link or ''}")
    for post in result.updated:
        console.print(f"  [yellow]updated[/] {post.title}  {post.link or ''}")
    return False


def _far_future():
    from datetime import timedelta

    from publisher.models.base import utcnow

    return utcnow() + timedelta(days=36500)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    with_worker: Annotated[bool, typer.Option("--worker/--no-worker",
                                              help="Also run a worker and the scheduler.")] = True,
) -> None:
    """Web app + worker + scheduler in one process tree (embedded), or the web app alone (--no-worker)."""
    from publisher.services.runner import run_server

    upgrade_database()
    run_server(get_settings(), host=host, port=port, with_worker=with_worker)


def worker(
    concurrency: Annotated[int, typer.Option(help="Processes in this worker.")] = 2,
    beat: Annotated[bool, typer.Option("--beat", help="Also run the scheduler in this worker.")] = False,
) -> None:
    """A Celery worker (scaled mode: PUBLISHER_BROKER_URL=redis://...)."""
    from publisher.services.runner import run_worker

    run_worker(get_settings(), concurrency=concurrency, beat=beat)


def scheduler() -> None:
    """The scheduler alone (Celery beat): one per deployment."""
    from publisher.services.runner import run_scheduler

    run_scheduler(get_settings())


def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON (fields in the README).")] = False) -> None:
    """Queues, workers, the scheduler, feeds, sends in progress and failures: read from the database and the
    broker (no worker is asked)."""
    from publisher.services.status import collect_status

    with session_scope() as session:
        report = collect_status(session, get_settings())
    if as_json:
        print_json(report)
        return
    _print_status(report)


def _print_status(report: dict) -> None:
    for warning in report["warnings"]:
        console.print(f"[bold red]warning[/]: {escape(warning)}", highlight=False)
    console.print(f"mode: [bold]{report['mode']}[/]" + (
        " (tasks run in the CLI itself, or in the worker of `publisher serve`)" if report["mode"] == "embedded" else ""))
    for q in report["queues"]:
        held = "" if q["unacked"] is None else f" ({q['ready']} ready, {q['unacked']} taken by workers)"
        console.print(f"queue {q['name']}: {q['depth']} waiting{held}", highlight=False)
    for w in report["workers"]:
        tasks = ", ".join(f"{t['task']}({t['args']})" for t in w["current_tasks"]) or "idle"
        console.print(f"worker {w['id']} ×{w['concurrency']} beat {when(w['last_beat_at'])}: {tasks}",
                      highlight=False)
    if report["mode"] == "scaled" and not report["workers"]:
        console.print("workers: none alive")
    sched = report["scheduler"]
    console.print(f"scheduler: {len(sched['live'])} alive, last tick {when(sched['last_tick_at'])}", highlight=False)
    f = report["feeds"]
    console.print(f"feeds: {f['total']} ({f['failing']} failing, {f['retired']} retired)")
    for feed in f["failing_feeds"]:
        console.print(f"  [red]failing[/] {escape(feed['url'])}: {escape(feed['last_error'] or '')} "
                      f"({feed['consecutive_failures']}x, next try {when(feed['next_poll_at'])})", highlight=False)
    table = Table("digest", "list", "status", "recipients", "sent", "failed", "pending", "retrying", "rate", "eta")
    for s in report["sends"]:
        eta = f"{s['eta_seconds']:.0f}s" if s["eta_seconds"] is not None else "-"
        table.add_row(str(s["digest_id"]), s["list"], s["status"], str(s["recipients"]), str(s["sent"]),
                      str(s["failed"]), str(s["pending"]), str(s["retrying"]), f"{s['rate_per_second']}/s", eta)
    console.print(table if report["sends"] else "sends in progress: none")
    for s in report["sends"]:  # a reason is a sentence: on its own line, not squeezed into a table cell
        if s["reason"]:
            colour = "red" if s["status"] == "failed" else "yellow"
            console.print(f"  [{colour}]digest #{s['digest_id']} {s['status']}[/]: {escape(s['reason'])}",
                          highlight=False, soft_wrap=True)
    failed = report["failures"]["deliveries"]
    if any(failed.values()):
        console.print("deliveries failed: " + ", ".join(f"{n} {k}" for k, n in failed.items()), highlight=False)
    b = report["bounces"]
    if b["unverified"]:
        console.print(f"bounce reports not believed (no signed VERP address or Message-ID): {b['unverified']}"
                      f" ({b['unverified_last_24h']} in the last 24 h)")
