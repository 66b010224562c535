"""`publisher` command line. Every error is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from publisher.cli import bounces, crosspost, digest, dkim, feeds, lists, ops, sending, subscribers  # noqa: F401 - sending adds to digest
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
ops.register(app)


def main() -> None:
    try:
        app()
    except PublisherError as exc:
        fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig) if exc.orig else str(exc)
        if "no such table" in text or "does not exist" in text:
            fail("the database is not initialised: run `publisher init` first")
        fail(f"database error: {text.splitlines()[0]}")
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback for a user
        if os.environ.get("PUBLISHER_DEBUG"):
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (set PUBLISHER_DEBUG=1 for the traceback)")


if __name__ == "__main__":
    sys.exit(main())
