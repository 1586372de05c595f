"""Heartbeats of ingests, extract builds and jobs (the process running one stamps it; a silent one is recovered)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 09:20:00
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('snapshot', 'extract', 'job'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('heartbeat_at', bastide.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ('snapshot', 'extract', 'job'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('heartbeat_at')
