"""Queries kept by name in a workspace (issue 18, item 8)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 15:20:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'saved_query',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('sql', sa.Text(), nullable=False),
        sa.Column('created_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_saved_query_workspace_id_workspace')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_query')),
        sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_saved_query_workspace_id_name')),
    )
    op.create_index(op.f('ix_saved_query_workspace_id'), 'saved_query', ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_saved_query_workspace_id'), table_name='saved_query')
    op.drop_table('saved_query')
