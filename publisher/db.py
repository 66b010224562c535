"""Engine and sessions. SQLite runs in WAL mode with a busy timeout so web, worker and CLI can share it.

Only `publisher init` (services.database.upgrade_database) creates a SQLite file, and it creates it readable by
its owner alone; every other command opens an existing file and, when there is none, says where it looked
instead of leaving an empty database behind (a command run from the wrong folder)."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from publisher.config import get_settings
from publisher.errors import ConfigError

# What users paste from their provider, and what SQLAlchemy needs for the driver we ship (psycopg 3).
_POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+psycopg2://")


def make_engine(database_url: str, *, create: bool = True, pooled: bool = True,
                connect_timeout: float | None = None) -> Engine:
    """The engine for a URL. With create=False a missing SQLite file is an error, not a new empty database.
    pooled=False opens a connection per use (a thread that beats across forks must not share a pool);
    connect_timeout bounds how long reaching PostgreSQL may take (readiness checks must not hang)."""
    url = driver_url(database_url)
    options: dict = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            if create:
                create_sqlite_file(path)
            else:
                # mode=rw: SQLite opens the file if it is there and never creates it.
                url = f"sqlite:///file:{quote(str(path))}?mode=rw&uri=true"
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": max(1, round(connect_timeout))} if connect_timeout else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)


def driver_url(database_url: str) -> str:
    """postgres:// and postgresql:// (as providers print them) become the psycopg 3 URL; others are checked."""
    for scheme in _POSTGRES_SCHEMES:
        if database_url.startswith(scheme):
            return "postgresql+psycopg://" + database_url.removeprefix(scheme)
    try:
        make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"PUBLISHER_DATABASE_URL {mask_url(database_url)!r} is not a database URL: use "
                          "sqlite:///path/to/publisher.db or postgresql://user:password@host:5432/name") from None
    return database_url


def sqlite_path(database_url: str) -> Path | None:
    """The absolute path of a SQLite file URL; None for an in-memory database."""
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def create_sqlite_file(path: Path) -> None:
    """Create the database file, readable and writable by its owner only (created so, never chmod'ed after:
    there is no moment at which others can open it). SQLite gives its WAL and shared-memory files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def mask_url(url: str) -> str:
    """A URL safe to print: its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextlib.contextmanager
def record_connection(engine: Engine) -> Iterator[Connection]:
    """A connection held for a batch's per-message records (a settled delivery), so each costs no pool
    checkout. PostgreSQL: in autocommit, each record is one statement that sets synchronous_commit off for
    its own transaction (a killed worker cannot lose it; only a crash of the database server itself may
    lose the last fraction of a second). SQLite: WAL with synchronous=NORMAL never waits for the disk."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@functools.cache
def _engine_for(database_url: str) -> Engine:
    return make_engine(database_url, create=False)


def get_engine() -> Engine:
    return _engine_for(get_settings().database_url)


@functools.cache
def _sessionmaker_for(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(_engine_for(database_url), expire_on_commit=False)


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    session = _sessionmaker_for(get_settings().database_url)()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    else:
        # Not rolled back if it fails: in process (the embedded CLI) a task queued by this commit runs inside it,
        # after the rows are committed, and its error is the one to report. close() ends any transaction left.
        session.commit()
    finally:
        session.close()


def describe_database_error(exc: Exception, database_url: str) -> str:
    """What a database error means for the person at the keyboard, and what to do about it."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    url = make_url(driver_url(database_url))
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    lowered = text.lower()
    if url.drivername.startswith("sqlite"):
        path = sqlite_path(database_url)
        if path is not None and not path.exists():
            return (f"no database at {path}: run `publisher init` in your publisher's folder, or point "
                    "PUBLISHER_DATABASE_URL (or PUBLISHER_HOME) at it")
        if "no such table" in lowered:
            return f"the database at {path} is not initialised: run `publisher init`"
        return f"database error ({path}): {first}"
    if f'database "{url.database}" does not exist' in text:
        return (f"PostgreSQL at {where} has no database {url.database!r}: create it (`createdb -h {url.host} "
                f"-U {url.username or 'postgres'} {url.database}`) or fix PUBLISHER_DATABASE_URL, then run "
                "`publisher init`")
    if "role" in lowered and "does not exist" in lowered:
        return (f"PostgreSQL at {where} has no role {url.username!r}: create it (`createuser -h {url.host} "
                f"{url.username}`) or fix the user in PUBLISHER_DATABASE_URL")
    if "password authentication failed" in lowered:
        return f"PostgreSQL at {where} refused the password of {url.username!r}: fix PUBLISHER_DATABASE_URL"
    if any(sign in lowered for sign in ("connection refused", "could not connect", "timeout expired",
                                        "could not translate host name", "name or service not known")):
        return f"cannot reach PostgreSQL at {where}: is it running? (PUBLISHER_DATABASE_URL={mask_url(database_url)})"
    if "relation" in lowered and "does not exist" in lowered or "undefinedtable" in lowered:
        return f"the database {url.database!r} at {where} is not initialised: run `publisher init`"
    return f"database error ({where}): {first}"
import publisher.queue  # noqa: E402,F401 - registers enqueue-after-commit on every Session
