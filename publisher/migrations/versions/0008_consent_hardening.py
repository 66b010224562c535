"""consent hardening: bounce and complaint reports that named nobody we trust them about are counted

Revision ID: 0008
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import publisher.models.base

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unverified_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("rcpt", sa.String(length=320), nullable=True),
        sa.Column("at", publisher.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unverified_reports")),
    )
    with op.batch_alter_table("unverified_reports") as batch_op:
        batch_op.create_index(batch_op.f("ix_unverified_reports_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unverified_reports") as batch_op:
        batch_op.drop_index(batch_op.f("ix_unverified_reports_at"))
    op.drop_table("unverified_reports")
