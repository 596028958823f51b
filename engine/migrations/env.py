"""Alembic environment: runs on the connection handed over by `engine.db.upgrade_schema`,
or on DATABASE_URL when invoked as `alembic -c engine/migrations/alembic.ini`."""
from alembic import context

from engine.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from engine.config import load_settings
    from engine.db import make_engine

    with make_engine(load_settings().database_url).begin() as conn:
        _run(conn)
