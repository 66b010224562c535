"""Alembic environment: runs with the engine the caller hands over (see publisher.services.database)."""

from alembic import context

from publisher.db import make_engine
from publisher.models import Base

config = context.config
connection = config.attributes.get("connection")


def run() -> None:
    if connection is not None:
        _migrate(connection)
        return
    with make_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _migrate(conn)
        conn.commit()


def _migrate(conn) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so Alembic rebuilds tables there.
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
