"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from publisher.config import get_settings
from publisher.db import make_engine
from publisher.models import Base
from publisher.services.database import is_up_to_date, upgrade_database


def _upgrade_and_diff(monkeypatch, url: str) -> list:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        upgrade_database()
        assert is_up_to_date()
        upgrade_database()  # a second `publisher init` is a no-op, not an error
        engine = make_engine(url)
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        get_settings.cache_clear()


def test_sqlite_schema_matches_models(monkeypatch, tmp_path):
    assert _upgrade_and_diff(monkeypatch, f"sqlite:///{tmp_path / 'p.db'}") == []


@pytest.mark.postgres
def test_postgres_schema_matches_models(monkeypatch, postgres_url):
    assert _upgrade_and_diff(monkeypatch, postgres_url) == []
