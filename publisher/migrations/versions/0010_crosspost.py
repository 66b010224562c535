"""cross-posting: targets, the cross-post ledger and its events

Revision ID: 0010
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('crosspost_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('handle', sa.String(length=300), nullable=True),
    sa.Column('credentials', sa.Text(), nullable=True),
    sa.Column('session_state', sa.Text(), nullable=True),
    sa.Column('on_edit', sa.String(length=10), nullable=False),
    sa.Column('max_age_hours', sa.Float(), nullable=True),
    sa.Column('hashtags', sa.Boolean(), nullable=False),
    sa.Column('limits', sa.JSON(), nullable=True),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosspost_targets')),
    sa.UniqueConstraint('name', name=op.f('uq_crosspost_targets_name'))
    )
    op.create_table('crosspost_target_feeds',
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_crosspost_target_feeds_feed_id_feeds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['crosspost_targets.id'], name=op.f('fk_crosspost_target_feeds_target_id_crosspost_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('target_id', 'feed_id', name=op.f('pk_crosspost_target_feeds'))
    )
    op.create_table('crossposts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('remote_key', sa.String(length=100), nullable=False),
    sa.Column('remote_id', sa.String(length=500), nullable=True),
    sa.Column('remote_url', sa.String(length=2048), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('posted_hash', sa.String(length=64), nullable=True),
    sa.Column('pending_since', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('claimed_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('first_claimed_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('next_attempt_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('posted_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_crossposts_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['crosspost_targets.id'], name=op.f('fk_crossposts_target_id_crosspost_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crossposts')),
    sa.UniqueConstraint('post_id', 'target_id', name=op.f('uq_crossposts_post_id_target_id'))
    )
    with op.batch_alter_table('crossposts', schema=None) as batch_op:
        batch_op.create_index('ix_crossposts_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('crosspost_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crosspost_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['crosspost_id'], ['crossposts.id'], name=op.f('fk_crosspost_events_crosspost_id_crossposts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosspost_events'))
    )
    with op.batch_alter_table('crosspost_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crosspost_events_crosspost_id'), ['crosspost_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('crosspost_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crosspost_events_crosspost_id'))

    op.drop_table('crosspost_events')
    with op.batch_alter_table('crossposts', schema=None) as batch_op:
        batch_op.drop_index('ix_crossposts_status_next')

    op.drop_table('crossposts')
    op.drop_table('crosspost_target_feeds')
    op.drop_table('crosspost_targets')

