"""Engine and sessions. SQLite runs in WAL mode with a busy timeout so web, worker and CLI can share it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
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
