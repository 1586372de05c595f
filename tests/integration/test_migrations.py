"""The migrations build exactly the schema the models declare, on both databases: a column added
to a model without its migration (or the reverse) fails here, not on a deployed platform."""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastide.db import Base, _alembic_config
import bastide.models  # noqa: F401 - every domain's tables on Base.metadata


def test_the_migrated_schema_is_the_models_schema(db_platform):
    with db_platform.db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_health_categories_become_the_codes_the_european_catalogue_knows(db_platform):
    """Migration 0024 (CAT-08): the four codes of our own become EHDS Art. 51 categories as
    HealthData@EU codes them (HRAD claims, MRMR mortality registries, EHRS records, IDHP the
    professionals); PHYSICAL_HEALTH, no category of Art. 51, is dropped. And back."""
    config = _alembic_config(db_platform.db.url)
    command.downgrade(config, "0023")
    rows = sa.table("dataset", *(sa.column(c) for c in ("name", "title", "description", "schema_source", "created_at")),
                    sa.column("keywords", sa.JSON), sa.column("health_categories", sa.JSON))
    before = {"snds": ["EHR", "PHYSICAL_HEALTH", "HEALTHCARE_PROVISION", "MORTALITY"],
              "deces": ["MORTALITY", "PHYSICAL_HEALTH", "EHR"], "cohorte": []}
    with db_platform.db.engine.begin() as connection:
        connection.execute(rows.insert(), [dict(name=n, title=n, description="", schema_source="x", keywords=[],
                                                created_at=datetime(2026, 1, 1), health_categories=codes)
                                           for n, codes in before.items()])
    db_platform.db.migrate("head")
    assert _categories(db_platform) == {"snds": ["HRAD", "MRMR", "IDHP"], "deces": ["MRMR", "EHRS"], "cohorte": []}
    command.downgrade(config, "0023")
    assert _categories(db_platform)["snds"] == before["snds"]
    db_platform.db.migrate("head")


def _categories(platform) -> dict[str, list[str]]:
    with platform.db.engine.connect() as connection:
        found = connection.execute(sa.text("SELECT name, health_categories FROM dataset")).all()
    return {name: json.loads(codes) if isinstance(codes, str) else codes for name, codes in found}
