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
        # "heads": work developed on parallel branches of the schema upgrades together.
        command.upgrade(config, "heads")
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def current_revisions() -> set[str]:
    with get_engine().connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_up_to_date() -> bool:
    return current_revisions() == set(ScriptDirectory.from_config(_alembic_config()).get_heads())
