"""editors: accounts, sessions, API tokens, login throttle, audit log

Revision ID: 0012
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('editors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_editors')),
    sa.UniqueConstraint('email', name=op.f('uq_editors_email'))
    )
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_allowed_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('updated_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', publisher.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['editors.id'], name=op.f('fk_api_tokens_editor_id_editors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_editor_id'), ['editor_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['editors.id'], name=op.f('fk_audit_log_actor_id_editors'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('editor_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['editors.id'], name=op.f('fk_editor_sessions_editor_id_editors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_editor_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_editor_sessions_token_hash'))
    )
    with op.batch_alter_table('editor_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_editor_sessions_editor_id'), ['editor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('editor_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_editor_sessions_editor_id'))

    op.drop_table('editor_sessions')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_editor_id'))

    op.drop_table('api_tokens')
    op.drop_table('login_throttle')
    op.drop_table('editors')
