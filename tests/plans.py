"""PostgreSQL's query plans at scale in tests: many rows made in the database itself, and a statement's plan."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.lifecycle import start


def many_rows(system, insert: str, analyze: str) -> int:
    """A complaint, then `insert` (its rows from generate_series, the complaint's id as :cid), then `analyze`
    outside a transaction (VACUUM cannot run in one), so the planner sees the new rows; the complaint's id.
    Skips the test on another database: plans are PostgreSQL's."""
    if system.db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    cid = start(system).complaint_id
    with system.db.engine.begin() as conn:
        conn.execute(text(insert), {"cid": cid})
    with system.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(analyze))
    return cid


def plan(conn, statement: str, params) -> str:
    """PostgreSQL's plan of `statement` (as the driver gets it, with `params`), one line a node."""
    return "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", params).scalars())
