"""Extract build progress (the step a build is at, shown while the workspace provisions)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('extract') as batch:
        batch.add_column(sa.Column('progress', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('extract') as batch:
        batch.drop_column('progress')
