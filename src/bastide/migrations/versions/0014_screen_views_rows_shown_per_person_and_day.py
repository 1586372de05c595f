"""Screen views: rows of microdata shown per person, workspace and day (the daily quota of issue 13)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'screen_view',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=320), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_screen_view_workspace_id_workspace')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_view')),
        sa.UniqueConstraint('workspace_id', 'person', 'day', name=op.f('uq_screen_view_workspace_id_person_day')),
    )


def downgrade() -> None:
    op.drop_table('screen_view')
