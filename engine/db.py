"""Database engine, sessions and the unit of work.

On SQLite a write unit of work starts with `BEGIN IMMEDIATE`: writers queue on the database lock
instead of failing later with a stale WAL snapshot, which would turn unrelated concurrent writes
into spurious conflicts. Read units of work use a plain deferred `BEGIN`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from engine.config import PROJECT_ROOT


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """Create the SQLAlchemy engine for `url` (SQLite file or PostgreSQL via psycopg 3)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Hand transaction control to the "begin" hook below (pysqlite's own is unreliable).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Database:
    """The engine plus session factories for read and write units of work."""

    engine: Engine
    read_sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, pool_size: int = 5) -> Database:
    """Connect to `url` without touching the schema (see `upgrade_schema`)."""
    engine = make_engine(url, pool_size)
    write_bind = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    return Database(
        engine=engine,
        read_sessions=sessionmaker(bind=engine, expire_on_commit=False),
        write_sessions=sessionmaker(bind=write_bind, expire_on_commit=False),
    )


def upgrade_schema(db: Database) -> None:
    """Create or upgrade the schema to the newest Alembic migration."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "engine" / "migrations"))
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class UnitOfWork:
    """One transaction: `with UnitOfWork(db) as uow: ...; uow.commit()`. Leaving without commit rolls back."""

    def __init__(self, db: Database, write: bool = True):
        self.db = db
        self.write = write
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = (self.db.write_sessions if self.write else self.db.read_sessions)()
        return self

    def __exit__(self, *exc) -> None:
        # close() rolls back whatever was not committed, and leaves loaded objects readable.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


#: Errors meaning "the database cannot serve us right now" (down, restarting, unreachable, pool exhausted,
#: SQLite busy), as opposed to a bug: callers answer 503 and nothing was written.
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def is_unavailable(err: BaseException) -> bool:
    """Did `err` come from the database being unreachable (not from a mistake in the request or code)?"""
    return isinstance(err, UNAVAILABLE) or (isinstance(err, exc.DBAPIError) and err.connection_invalidated)
