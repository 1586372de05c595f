"""Files brought into a workspace, handed over by the airlock once approved (issue 18, item 12:
workspaces no longer read the airlock's import requests). The imports approved before this
revision are handed over here, pointing at the same sealed objects.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 15:50:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'brought_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('key', sa.String(length=500), nullable=False),
        sa.Column('key_id', sa.String(length=40), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=50), nullable=False),
        sa.Column('created_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['key_id'], ['data_key.id'], name=op.f('fk_brought_file_key_id_data_key')),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_brought_file_workspace_id_workspace')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_brought_file')),
    )
    op.create_index(op.f('ix_brought_file_workspace_id'), 'brought_file', ['workspace_id'], unique=False)
    # what the import lane approved before: the same sealed objects, in the order they were asked for
    bind = op.get_bind()
    approved = bind.execute(sa.text(
        "SELECT id, workspace_id, name, key, key_id, sha256, size, decided_at, created_at FROM import_request "
        "WHERE status = 'approved' ORDER BY id")).mappings().all()
    for row in approved:
        bind.execute(sa.text(
            "INSERT INTO brought_file (workspace_id, name, key, key_id, sha256, size, source, created_at) "
            "VALUES (:workspace_id, :name, :key, :key_id, :sha256, :size, :source, :created_at)"),
            {**{k: row[k] for k in ("workspace_id", "name", "key", "key_id", "sha256", "size")},
             "source": f"IMP-{row['id']:06d}", "created_at": row["decided_at"] or row["created_at"]})


def downgrade() -> None:
    op.drop_index(op.f('ix_brought_file_workspace_id'), table_name='brought_file')
    op.drop_table('brought_file')
