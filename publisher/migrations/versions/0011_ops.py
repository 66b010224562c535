"""ops: heartbeats, periodic runs, shared counters, delivery events by kind and time (the audit log is 0012's)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('heartbeats',
    sa.Column('id', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('queues', sa.JSON(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('interval_seconds', sa.Float(), nullable=False),
    sa.Column('started_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('beat_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('current_tasks', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeats'))
    )
    op.create_index(op.f('ix_heartbeats_beat_at'), 'heartbeats', ['beat_at'], unique=False)
    op.create_table('periodic_runs',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_runs'))
    )
    op.create_table('ops_counters',
    sa.Column('metric', sa.String(length=100), nullable=False),
    sa.Column('labels', sa.String(length=300), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('metric', 'labels', name=op.f('pk_ops_counters'))
    )
    op.create_index('ix_delivery_events_status_at', 'delivery_events', ['status', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_delivery_events_status_at', table_name='delivery_events')
    op.drop_table('ops_counters')
    op.drop_table('periodic_runs')
    op.drop_index(op.f('ix_heartbeats_beat_at'), table_name='heartbeats')
    op.drop_table('heartbeats')
