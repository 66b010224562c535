"""Create or upgrade the database schema with Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from publisher.config import get_settings
from publisher.db import create_sqlite_file, get_engine, sqlite_path


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "publisher:migrations")
    return config


def upgrade_database() -> str:
    """Create the database (a SQLite file, owner-only) if it is not there yet, and bring its schema to the
    newest revision; returns that revision. This is the one place a database is created."""
    path = sqlite_path(get_settings().database_url) if get_settings().is_sqlite else None
    if path is not None:
        create_sqlite_file(path)
    config = _alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        # "heads": work developed on parallel branches of the schema upgrades together.
        command.upgrade(config, "heads")
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def current_revisions() -> set[str]:
    with get_engine().connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def expected_heads() -> set[str]:
    return set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def is_up_to_date() -> bool:
    return current_revisions() == expected_heads()
