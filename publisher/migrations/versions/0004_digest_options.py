"""digest options: lists.content_mode (full text or excerpt in the digest)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.add_column(sa.Column("content_mode", sa.String(length=20), nullable=False, server_default="full"))


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("content_mode")
