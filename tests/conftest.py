"""Shared fixtures: a fresh real database per test (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), with the schema migrated, workflows/ deployed and demo users created."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from engine import clock
from engine.bootstrap import init_system
from engine.complaints.services import actor_by_username
from engine.config import load_settings
from engine.db import Database, UnitOfWork, open_database

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def postgres_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL of an empty database of each configured backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'complaints.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class System:
    db: Database
    settings: object

    def actor(self, username: str):
        with UnitOfWork(self.db, write=False) as uow:
            return actor_by_username(uow, username)


@pytest.fixture
def frozen_clock():
    clock.set_now(START)
    yield clock
    clock.set_now(None)


@pytest.fixture
def system(database_url, frozen_clock, tmp_path):
    settings = replace(load_settings({}), database_url=database_url, instance_dir=tmp_path)
    db = open_database(database_url)
    init_system(db, settings, demo=True)
    yield System(db=db, settings=settings)
    db.dispose()
