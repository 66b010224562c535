"""delivery claims: a lease renewed by the live worker holding them (claimed_by, lease_until)

Revision ID: 0009
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import publisher.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", publisher.models.base.UTCDateTime(), nullable=True))
    # Rows claimed before leases existed: their lease ended when they were claimed (the sweeper hands them
    # back at once, as it would have after the old timeout).
    op.execute("UPDATE deliveries SET lease_until = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
