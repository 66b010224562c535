"""delivery engine: an event per ledger state change; paused sends with a reason

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import publisher.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("at", publisher.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"],
                                name=op.f("fk_delivery_events_delivery_id_deliveries"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_events")),
    )
    with op.batch_alter_table("delivery_events") as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_events_delivery_id"), ["delivery_id"], unique=False)
    with op.batch_alter_table("digests") as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch_op:
        batch_op.drop_column("status_reason")
    with op.batch_alter_table("delivery_events") as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_events_delivery_id"))
    op.drop_table("delivery_events")
