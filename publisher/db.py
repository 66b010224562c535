"""Engine and sessions. SQLite runs in WAL mode with a busy timeout so web, worker and CLI can share it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from publisher.config import get_settings


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; accept the plain URL users copy from their provider.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return create_engine(database_url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def commit_lazily(session: Session) -> None:
    """Commit without waiting for the disk, for records written once per message (a settled delivery):
    PostgreSQL sets synchronous_commit off for this transaction alone (a killed worker cannot lose it; a
    crash of the database server itself may lose the last fraction of a second); SQLite in WAL mode with
    synchronous=NORMAL never waits for the disk at commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
    session.commit()


@functools.cache
def _engine_for(database_url: str) -> Engine:
    return make_engine(database_url)


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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
