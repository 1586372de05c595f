"""Comments between a release request's researchers and its checkers (issue 18, item 7)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 15:10:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'release_comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('file', sa.String(length=255), nullable=True),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['release_request.id'],
                                name=op.f('fk_release_comment_request_id_release_request')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_release_comment')),
    )
    op.create_index(op.f('ix_release_comment_request_id'), 'release_comment', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_release_comment_request_id'), table_name='release_comment')
    op.drop_table('release_comment')
