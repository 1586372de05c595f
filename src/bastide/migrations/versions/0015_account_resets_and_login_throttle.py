"""Account resets that do not hand an account over, and login back-off per account and source (issue 13)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:00:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('activation_kind', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('reset_requested_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('reset_requested_at', bastide.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('blocked_until', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle')),
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('reset_requested_at')
        batch.drop_column('reset_requested_by')
        batch.drop_column('activation_kind')
