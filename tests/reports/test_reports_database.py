"""REPORTS_DATABASE_URL: reports and search read a second database (a read replica), opened read-only,
while everything else keeps using the primary. The replica here is a copy of the primary taken before one
more complaint was recorded, so what each page counts shows which database it read."""
from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, exc, make_url, text, update

from engine.db import UnitOfWork, open_database
from engine.models import User
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from tests.lifecycle import start
from web import create_app


def _copy(system, database_url, tmp_path):
    """A second database holding what the primary holds now: (its URL, a function removing it)."""
    if database_url.startswith("sqlite"):
        target = tmp_path / "replica.db"
        with sqlite3.connect(database_url.split("///", 1)[1]) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return f"sqlite:///{target}", lambda: None
    primary = make_url(database_url)
    replica = f"{primary.database}_replica"
    system.db.engine.dispose()  # a template database must have no other sessions while it is copied
    admin = create_engine(primary.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # Nor the session that resets the database between tests (tests/postgres_reuse.py opens it again).
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                     {"name": primary.database})
        conn.execute(text(f'CREATE DATABASE "{replica}" TEMPLATE "{primary.database}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{replica}" WITH (FORCE)'))
        admin.dispose()

    return primary.set(database=replica).render_as_string(hide_password=False), drop


@pytest.fixture
def replica(system, database_url, tmp_path):
    for _ in range(2):
        start(system)
    url, drop = _copy(system, database_url, tmp_path)
    start(system)  # on the primary only
    yield url
    drop()


def _bearer(system, username):
    with UnitOfWork(system.db) as uow:
        return {"Authorization": f"Bearer {api_tokens.create_token(uow, SYSTEM, username, 'tests')[1]}"}


def test_reports_and_search_read_the_reports_database(system, replica):
    on_replica = create_app(replace(system.settings, reports_database_url=replica), system.db).test_client()
    on_primary = create_app(system.settings, system.db).test_client()
    headers = _bearer(system, "cs_manager")  # tokens, sign-in and complaints stay on the primary
    assert on_replica.get("/api/v1/complaints", headers=headers).json["total"] == 2
    assert on_primary.get("/api/v1/complaints", headers=headers).json["total"] == 3
    report = on_replica.get("/api/v1/reports/month", headers=headers).json
    assert report["total"]["current"] == 2
    assert on_primary.get("/api/v1/reports/month", headers=headers).json["total"]["current"] == 3
    newest = on_primary.get("/api/v1/complaints", headers=headers).json["items"][0]["id"]
    assert on_replica.get(f"/api/v1/complaints/{newest}", headers=headers).status_code == 200  # the primary's


def test_the_reports_database_is_opened_read_only(system, replica):
    reports_db = open_database(replica, read_only=True)
    try:
        with UnitOfWork(reports_db, write=False) as uow:
            assert uow.session.get(User, 1) is not None
        with UnitOfWork(reports_db) as uow, pytest.raises(exc.DBAPIError):
            uow.session.execute(update(User).values(display_name="changed on a replica"))
            uow.commit()
    finally:
        reports_db.dispose()
