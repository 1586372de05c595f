"""Signed audit checkpoints, and an append-only audit trail enforced by the database (issue 14)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 18:00:00

Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of audit events and checkpoints,
whoever runs them; on PostgreSQL the rights are also revoked from PUBLIC, so a runtime role that
does not own the tables (the production set-up, docs/security.md) cannot drop the triggers either.
"""

from alembic import op
import sqlalchemy as sa

import bastide.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TABLES = ('audit_event', 'audit_checkpoint')
MESSAGE = 'the audit trail is append-only'


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('at', bastide.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('signature', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
        sa.UniqueConstraint('events', name=op.f('uq_audit_checkpoint_events')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE FUNCTION bastide_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION bastide_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION bastide_append_only()")
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    else:
        for table in TABLES:
            for verb in ('UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bastide_append_only()")
    else:
        for table in TABLES:
            for verb in ('update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.drop_table('audit_checkpoint')
