"""The Alembic migrations build exactly the schema the models describe, on each backend."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import open_database, upgrade_schema
from engine.models import Base


def test_migrations_match_the_models(empty_database_url):
    db = open_database(empty_database_url)
    try:
        upgrade_schema(db)
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.dispose()
    assert differences == []
