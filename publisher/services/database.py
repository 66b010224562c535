"""Create or upgrade the database schema with Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from publisher.db import get_engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "publisher:migrations")
    return config


def upgrade_database() -> str:
    """Bring the schema to the newest revision; returns that revision."""
    config = _alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision() -> str | None:
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date() -> bool:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return current_revision() == head
