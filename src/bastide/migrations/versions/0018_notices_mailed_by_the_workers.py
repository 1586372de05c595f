"""Notices mailed by the workers (issue 18, item 9): what a person is to be told, recorded with what happened

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:00:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('created_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=True),
        sa.Column('heartbeat_at', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('sent_at', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('given_up_at', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    )


def downgrade() -> None:
    op.drop_table('notice')
