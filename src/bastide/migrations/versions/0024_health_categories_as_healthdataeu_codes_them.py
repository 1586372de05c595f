"""A dataset's health categories as HealthData@EU codes them (CAT-08): the export named four codes
of its own under the provisional namespace (EHR, PHYSICAL_HEALTH, HEALTHCARE_PROVISION,
MORTALITY), which the European catalogue does not know. Each becomes its EHDS Article 51
category where there is one (catalogue/vocabulary.py); PHYSICAL_HEALTH, which is none, is
dropped, and the SNDS gets the professionals' category it lacked.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 00:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

OLD_TO_NEW = {"EHR": "EHRS", "HEALTHCARE_PROVISION": "HRAD", "MORTALITY": "MRMR"}
SNDS_BEFORE = ["EHR", "PHYSICAL_HEALTH", "HEALTHCARE_PROVISION", "MORTALITY"]
SNDS_NOW = ["HRAD", "MRMR", "IDHP"]
dataset = sa.table('dataset', sa.column('id', sa.Integer), sa.column('health_categories', sa.JSON))


def upgrade() -> None:
    _rewrite(lambda codes: SNDS_NOW if codes == SNDS_BEFORE else
             list(dict.fromkeys(OLD_TO_NEW.get(c, c) for c in codes if c != "PHYSICAL_HEALTH")))


def downgrade() -> None:
    back = {new: old for old, new in OLD_TO_NEW.items()}
    _rewrite(lambda codes: SNDS_BEFORE if codes == SNDS_NOW else [back.get(c, c) for c in codes])


def _rewrite(change) -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(dataset.c.id, dataset.c.health_categories)).all():
        codes = list(row.health_categories or [])
        changed = change(codes)
        if changed != codes:
            bind.execute(dataset.update().where(dataset.c.id == row.id).values(health_categories=changed))
