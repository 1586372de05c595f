"""Each variable's completeness in the catalogue (issue 18, item 1): the rows that fill it, counted
from the empty values of each folder as written (kept with the folder, for a release that reuses
it). Releases published before are left unknown.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 16:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshot_source') as batch:
        batch.add_column(sa.Column('nulls', sa.JSON(), nullable=True))
    with op.batch_alter_table('variable') as batch:
        batch.add_column(sa.Column('filled', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('variable') as batch:
        batch.drop_column('filled')
    with op.batch_alter_table('snapshot_source') as batch:
        batch.drop_column('nulls')
