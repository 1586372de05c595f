"""Each variable's values in the catalogue (issue 18, item 1), as aggregates only: the codes of
its nomenclature it uses, a date's span to the month and its « no date » placeholders; each
folder keeps its dates' spans and codes used, for a release that reuses it. Releases published
before are left unknown.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 19:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshot_source') as batch:
        batch.add_column(sa.Column('profile', sa.JSON(), nullable=True))
    with op.batch_alter_table('variable') as batch:
        batch.add_column(sa.Column('codes_used', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('codes_capped', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('first_month', sa.String(length=7), nullable=True))
        batch.add_column(sa.Column('last_month', sa.String(length=7), nullable=True))
        batch.add_column(sa.Column('placeholder_dates', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('variable') as batch:
        for column in ('placeholder_dates', 'last_month', 'first_month', 'codes_capped', 'codes_used'):
            batch.drop_column(column)
    with op.batch_alter_table('snapshot_source') as batch:
        batch.drop_column('profile')
