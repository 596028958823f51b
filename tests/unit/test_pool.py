"""The pool pings a PostgreSQL connection before use only when it sat idle longer than `PING_AFTER_IDLE`
(docs/ARCHITECTURE.md, "Connections"): a connection whose server session ended while it was idle that long is
replaced without the unit of work noticing; one checked in moments ago is used unpinged."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, text

from engine import db as engine_db
from engine.db import UnitOfWork, is_unavailable, open_database

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite has no server session to end")


def _backend(db) -> int:
    with UnitOfWork(db, write=False) as uow:
        return uow.session.scalar(text("SELECT pg_backend_pid()"))


def _terminate(database_url: str, pid: int) -> None:
    """End server session `pid` (as a server restart or an administrator would) and wait until it is gone."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            while conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                time.sleep(0.01)
    finally:
        admin.dispose()


@pytest.fixture
def pool(database_url):
    db = open_database(database_url, pool_size=1)
    yield db
    db.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_connection_ended_while_idle_is_replaced_on_the_next_unit_of_work(pool, database_url, monkeypatch):
    monkeypatch.setattr(engine_db, "PING_AFTER_IDLE", 0.2)
    ended = _backend(pool)
    _terminate(database_url, ended)
    time.sleep(0.3)
    for write in (False, True):
        with UnitOfWork(pool, write=write) as uow:
            assert uow.session.scalar(text("SELECT pg_backend_pid()")) not in (ended, None)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_connection_used_moments_ago_is_not_pinged(pool, database_url, monkeypatch):
    # The price of not pinging: a session ended within the threshold fails one unit of work as "unavailable"
    # (a 503, nothing written); that failure drops the pool's older connections, so the next one works.
    monkeypatch.setattr(engine_db, "PING_AFTER_IDLE", 60.0)
    ended = _backend(pool)
    _terminate(database_url, ended)
    with UnitOfWork(pool, write=False) as uow, pytest.raises(Exception) as failed:
        uow.session.scalar(text("SELECT 1"))
    assert is_unavailable(failed.value)
    assert _backend(pool) != ended
