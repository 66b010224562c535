"""the blog's identity on a list: title, site URL, description, accent colour, logo; public or not

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.add_column(sa.Column("title", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("site_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("accent_color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("logo_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        for column in ("public", "logo_url", "accent_color", "description", "site_url", "title"):
            batch.drop_column(column)
