"""feed watcher: adaptive poll interval, WebSub hub subscriptions

Revision ID: 0003
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poll_interval_minutes", sa.Float(), nullable=True))
    op.create_table(
        "hub_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("hub_url", sa.String(length=2048), nullable=False),
        sa.Column("topic_url", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.Column("requested_at", publisher.models.base.UTCDateTime(), nullable=True),
        sa.Column("verified_at", publisher.models.base.UTCDateTime(), nullable=True),
        sa.Column("expires_at", publisher.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_push_at", publisher.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", publisher.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name=op.f("fk_hub_subscriptions_feed_id_feeds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_subscriptions")),
        sa.UniqueConstraint("feed_id", name=op.f("uq_hub_subscriptions_feed_id")),
    )


def downgrade() -> None:
    op.drop_table("hub_subscriptions")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("poll_interval_minutes")
