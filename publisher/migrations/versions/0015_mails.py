"""transactional mail ledger: confirmations and test sends, queued and sent once

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_reply', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=32), nullable=True),
    sa.Column('lease_until', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('next_attempt_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('sent_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_mails_list_id_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_mails_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mails'))
    )
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mails_list_id'), ['list_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mails_subscriber_id'), ['subscriber_id'], unique=False)
        batch_op.create_index('ix_mails_status_next_attempt', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_index('ix_mails_status_next_attempt')
        batch_op.drop_index(batch_op.f('ix_mails_subscriber_id'))
        batch_op.drop_index(batch_op.f('ix_mails_list_id'))
    op.drop_table('mails')
