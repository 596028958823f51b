"""Database engine, sessions and the unit of work.

On SQLite a write unit of work starts with `BEGIN IMMEDIATE`: writers queue on the database lock
instead of failing later with a stale WAL snapshot, which would turn unrelated concurrent writes
into spurious conflicts. Read units of work use a plain deferred `BEGIN`.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from engine.config import PROJECT_ROOT

log = logging.getLogger(__name__)


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
    engine = create_engine(url, pool_size=pool_size, max_overflow=10)
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle longer than this is pinged before use (docs/ARCHITECTURE.md, "Connections").
PING_AFTER_IDLE = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection on checkout only when it sat in the pool longer than `PING_AFTER_IDLE` seconds.

    A ping on every checkout (`pool_pre_ping`) was 15 % of a busy server's samples; a connection checked in
    moments ago had a live server then (docs/ARCHITECTURE.md, "Connections").
    """
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["checkin"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        checked_in = record.info.get("checkin")  # none on a new connection
        if checked_in is None or time.monotonic() - checked_in <= PING_AFTER_IDLE:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except engine.dialect.loaded_dbapi.Error as err:
            # A dead connection usually means the server restarted, so every older pooled connection is dead
            # too: the pool drops them all and checks out a new connection instead (up to three times).
            raise exc.InvalidatePoolError() from err
        finally:
            cursor.close()


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


def open_database(url: str, pool_size: int = 5, read_only: bool = False) -> Database:
    """Connect to `url` without touching the schema (see `upgrade_schema`). `read_only`: every connection
    refuses to write (a read replica for reports and search: `REPORTS_DATABASE_URL`)."""
    engine = make_engine(url, pool_size)
    if read_only:
        _refuse_writes(engine)
    write_bind = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    return Database(
        engine=engine,
        read_sessions=sessionmaker(bind=engine, expire_on_commit=False),
        write_sessions=sessionmaker(bind=write_bind, expire_on_commit=False),
    )


def _refuse_writes(engine: Engine) -> None:
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON" if sqlite
                       else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()


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
    """One transaction: `with UnitOfWork(db) as uow: ...`. Leaving without a commit rolls back.

    A use case (`@use_case`) commits it once when it returns; use cases called from inside another one
    join its transaction and the outermost commits the whole. What cannot be undone by a rollback
    (files) registers `after_commit` / `after_rollback` actions: they run once the transaction's fate
    is known, so a file is moved into place only when the rows naming it were committed.
    """

    def __init__(self, db: Database, write: bool = True):
        self.db = db
        self.write = write
        self.session: Session
        self._depth = 0
        self._on_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self.session = (self.db.write_sessions if self.write else self.db.read_sessions)()
        event.listen(self.session, "after_commit", self._mark_committed)
        event.listen(self.session, "after_transaction_end", self._ended)
        return self

    def __exit__(self, *exc) -> None:
        # close() rolls back whatever was not committed, and leaves loaded objects readable.
        self.session.close()

    def commit(self) -> None:
        """Commit now. Inside a use case this is refused: the outermost use case commits when it returns."""
        if self._depth:
            raise RuntimeError("a use case commits when it returns; it must not commit half-way")
        self.session.commit()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction has committed (dropped if it rolls back)."""
        self._on_commit.append(action)

    def after_rollback(self, action: Callable[[], None]) -> None:
        """Run `action` if this transaction rolls back or is abandoned (dropped once it commits)."""
        self._on_rollback.append(action)

    def _mark_committed(self, session: Session) -> None:
        # Releasing a savepoint fires after_commit too; only the outermost transaction's commit counts.
        if not session.in_nested_transaction():
            self._committed = True

    def _ended(self, _session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:  # a savepoint: the outer transaction decides
            return
        committed, actions = self._committed, self._on_commit if self._committed else self._on_rollback
        self._on_commit, self._on_rollback, self._committed = [], [], False
        _run_all(actions, "after commit" if committed else "after rollback")


def _run_all(actions: list[Callable[[], None]], when: str) -> None:
    # The transaction's outcome is final: a failing action is logged, never reported as the use case failing.
    for action in actions:
        try:
            action()
        except Exception:  # noqa: BLE001
            log.exception("action %s failed", when)


P = ParamSpec("P")
R = TypeVar("R")


def use_case(function: Callable[Concatenate[UnitOfWork, P], R]) -> Callable[Concatenate[UnitOfWork, P], R]:
    """Make `function(uow, ...)` one use case: it commits `uow` once, when it returns.

    Called from inside another use case it joins that transaction, and the outermost use case commits
    everything together. Raising commits nothing.
    """
    @functools.wraps(function)
    def run(uow: UnitOfWork, *args: P.args, **kwargs: P.kwargs) -> R:
        uow._depth += 1
        try:
            result = function(uow, *args, **kwargs)
        finally:
            uow._depth -= 1
        if not uow._depth:
            uow.commit()
        return result

    return run


#: Errors meaning "the database cannot serve us right now" (down, restarting, unreachable, pool exhausted,
#: SQLite busy), as opposed to a bug: callers answer 503 and nothing was written.
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def is_unavailable(err: BaseException) -> bool:
    """Did `err` come from the database being unreachable (not from a mistake in the request or code)?"""
    return isinstance(err, UNAVAILABLE) or (isinstance(err, exc.DBAPIError) and err.connection_invalidated)
