"""Workers and a durable queue (issue 17): who claimed each build and job, the worker processes, leases

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 08:30:00

Builds and jobs already were rows with a status; a worker process now claims them (`claimed_by`),
so the API only records them. A build or job that was under way before this revision was run by
the process that started it: it is marked claimed, so that recovery ends it if that process is gone; a job still waiting is left to the workers.
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BEFORE = 'the process that started it (before workers)'


def upgrade() -> None:
    for table in ('extract', 'job'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
    op.execute(sa.text("UPDATE extract SET claimed_by = :by WHERE status = 'building'").bindparams(by=BEFORE))
    op.execute(sa.text("UPDATE job SET claimed_by = :by WHERE status = 'running'").bindparams(by=BEFORE))
    op.create_table(
        'worker_process',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('slots', sa.Integer(), nullable=False),
        sa.Column('started_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_at', bastide.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_process')),
        sa.UniqueConstraint('name', name=op.f('uq_worker_process_name')),
    )
    op.create_table(
        'lease',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('expires_at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_lease')),
    )


def downgrade() -> None:
    op.drop_table('lease')
    op.drop_table('worker_process')
    for table in ('extract', 'job'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('claimed_by')
