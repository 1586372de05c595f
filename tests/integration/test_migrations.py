"""The migrations build exactly the schema the models declare, on both databases: a column added
to a model without its migration (or the reverse) fails here, not on a deployed platform."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastide.db import Base
import bastide.models  # noqa: F401 - every domain's tables on Base.metadata


def test_the_migrated_schema_is_the_models_schema(db_platform):
    with db_platform.db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
