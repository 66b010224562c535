"""`publisher` command line. Every error is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError

from publisher.cli import bounces, crosspost, digest, dkim, editors, feeds, lists, ops, sending, subscribers  # noqa: F401 - sending adds to digest
from publisher.cli.output import fail
from publisher.errors import PublisherError

app = typer.Typer(
    help="Self-hosted newsletter publisher: blog feeds in, email digests out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(feeds.app, name="feeds")
app.add_typer(lists.app, name="lists")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(digest.app, name="digest")
app.add_typer(bounces.app, name="bounces")
app.add_typer(dkim.app, name="dkim")
app.add_typer(crosspost.app, name="crosspost")
app.add_typer(editors.app, name="editors")
ops.register(app)


def main() -> None:
    try:
        _configure_logging()
        app()
    except PublisherError as exc:
        fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        from publisher.config import get_settings
        from publisher.db import describe_database_error

        fail(describe_database_error(exc, get_settings().database_url))
    except ValidationError as exc:
        fail(settings_error(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback for a user
        if os.environ.get("PUBLISHER_DEBUG"):
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (set PUBLISHER_DEBUG=1 for the traceback)")


def _configure_logging() -> None:
    """Warnings and errors of the libraries and our services, in the deployment's format, redacted. (Workers
    and the scheduler exec Celery, which sets its own level through workers/signals.py.)"""
    import logging

    from publisher.config import get_settings
    from publisher.logs import configure_logging

    try:
        settings = get_settings()
    except ValidationError:
        return  # the command (or --help) runs on and reports the bad setting in its own words
    configure_logging(settings, logging.WARNING)


def settings_error(exc: ValidationError) -> str:
    """A malformed setting, named as the user wrote it (PUBLISHER_X), with what is wrong; never its value, which
    may be a secret."""
    problems = []
    for error in exc.errors():
        name = "PUBLISHER_" + "_".join(str(part) for part in error["loc"][:1]).upper()
        message = error["msg"].removeprefix("Value error, ")
        problems.append(message if message.startswith("PUBLISHER_") else f"{name}: {message}")
    return "; ".join(problems)


if __name__ == "__main__":
    sys.exit(main())
