"""digest drafts: the intro note and subject an editor writes for a list's next digest

Revision ID: 0014
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import publisher.models.base


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_drafts',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('intro_note', sa.Text(), nullable=True),
    sa.Column('updated_at', publisher.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('list_id')
    )
    with op.batch_alter_table('digests') as batch:
        batch.add_column(sa.Column('intro_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('digests') as batch:
        batch.drop_column('intro_note')
    op.drop_table('digest_drafts')
