"""consent: per-subscriber cadence and watermark, provenance, suppressions, rate events, bounces, editions

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import publisher.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = publisher.models.base.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch_op:
        batch_op.add_column(sa.Column("cadence", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("consent_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("consent_ip", sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column("seen_until", UTC(), nullable=True))
    # Existing subscribers have had everything up to their list's latest digest: never send it again.
    op.execute("UPDATE subscriptions SET seen_until = "
               "(SELECT max(created_at) FROM digests WHERE digests.list_id = subscriptions.list_id)")
    with op.batch_alter_table("digests") as batch_op:
        batch_op.add_column(sa.Column("edition", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("cutoff_at", UTC(), nullable=True))
    with op.batch_alter_table("digest_posts") as batch_op:
        batch_op.drop_constraint("uq_digest_posts_list_id_post_id", type_="unique")

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name=op.f("fk_suppressions_list_id_lists"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.create_index("ix_suppressions_hash_list", ["email_hash", "list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suppressions_email"), ["email"], unique=False)

    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    with op.batch_alter_table("rate_events") as batch_op:
        batch_op.create_index("ix_rate_events_kind_key_at", ["kind", "key", "at"], unique=False)

    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=True),
        sa.Column("at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"],
                                name=op.f("fk_bounce_events_subscriber_id_subscribers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
    )
    with op.batch_alter_table("bounce_events") as batch_op:
        batch_op.create_index(batch_op.f("ix_bounce_events_subscriber_id"), ["subscriber_id"], unique=False)

    op.create_table(
        "edition_slots",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("last_slot_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name=op.f("fk_edition_slots_list_id_lists"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "cadence", "timezone", name=op.f("pk_edition_slots")),
    )


def downgrade() -> None:
    op.drop_table("edition_slots")
    with op.batch_alter_table("bounce_events") as batch_op:
        batch_op.drop_index(batch_op.f("ix_bounce_events_subscriber_id"))
    op.drop_table("bounce_events")
    with op.batch_alter_table("rate_events") as batch_op:
        batch_op.drop_index("ix_rate_events_kind_key_at")
    op.drop_table("rate_events")
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppressions_email"))
        batch_op.drop_index("ix_suppressions_hash_list")
    op.drop_table("suppressions")
    with op.batch_alter_table("digest_posts") as batch_op:
        batch_op.create_unique_constraint("uq_digest_posts_list_id_post_id", ["list_id", "post_id"])
    with op.batch_alter_table("digests") as batch_op:
        batch_op.drop_column("cutoff_at")
        batch_op.drop_column("edition")
    with op.batch_alter_table("subscriptions") as batch_op:
        for column in ("seen_until", "consent_ip", "consent_at", "timezone", "cadence"):
            batch_op.drop_column(column)
