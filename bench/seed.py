"""Seeding a benchmark database with many complaints whose workflows are real.

A few dozen *templates* are driven through the engine (its use cases), one per department and per step of the
happy path; then each seeded complaint is a clone of one template: its workflow state, task rows, timer rows
and audit trail copied with fresh UUIDs, a new id and reference, and (for closed complaints) its dates moved
into the past. A clone is therefore indistinguishable from a complaint that went through the engine: it can
be opened, its open task worked and completed, its timers fired.

Run on its own: `python -m bench.seed DATABASE_URL [COUNT]` (migrates, deploys workflows/, adds the bench
staff, then seeds).
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import JSON, func, insert, select, text

from engine.bootstrap import init_system
from engine.complaints import intake, tasks
from engine.config import load_settings
from engine.db import Database, UnitOfWork, open_database
from engine.models import AuditEvent, Complaint, Timer, User, WorkTask
from engine.people import users
from tests.lifecycle import ANSWERS, INTAKE, WORKER

STAFF_PASSWORD = "bench-pass-2026"
#: category → the department routing.dmn sends it to (one category per department is enough here).
DEPARTMENTS = {"logistics": "logistics", "product_quality": "quality", "service_attitude": "customer_service",
               "transaction_dispute": "sales", "return_exchange": "after_sales"}
#: The demo department heads (`engine.bootstrap.DEMO_USERS`) who work the templates' department tasks.
DEMO_HEADS = {d: f"head_{'cs' if d == 'customer_service' else d}" for d in DEPARTMENTS.values()}
HAPPY_PATH = ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution",
              "follow_up", "cs_sign_off", "gm_review")
UUID_RE = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
YEARS_OF_HISTORY = 2


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    department: str | None

#: Signs the customers' links of the complaints recorded here.
LINK_SECRET = "bench-secret"


def bench_staff(agents: int = 16, heads_per_department: int = 2, managers: int = 3,
                general_managers: int = 3) -> list[Staff]:
    """The people the load generator signs in as (32 with the defaults)."""
    people = [Staff(f"agent{n:02d}", "agent", None) for n in range(1, agents + 1)]
    people += [Staff(f"head_{d}_{n}", "department_head", d)
               for d in DEPARTMENTS.values() for n in range(1, heads_per_department + 1)]
    people += [Staff(f"csm{n}", "cs_manager", None) for n in range(1, managers + 1)]
    people += [Staff(f"gm{n}", "general_manager", None) for n in range(1, general_managers + 1)]
    return people


def add_staff(db: Database, people: list[Staff]) -> None:
    """Create the staff accounts that do not exist yet (one password hash shared: hashing is slow on purpose)."""
    from werkzeug.security import generate_password_hash

    hashed = generate_password_hash(STAFF_PASSWORD)
    with UnitOfWork(db) as uow:
        existing = set(uow.session.scalars(select(User.username)))
        for person in people:
            if person.username not in existing:
                users.add_user(uow, person.username, person.role, STAFF_PASSWORD, department=person.department,
                                  display_name=person.username, password_hash=hashed)
        uow.commit()


def _actor(db: Database, username: str):
    with UnitOfWork(db, write=False) as uow:
        return users.actor_by_username(uow, username)


def make_templates(db: Database, settings) -> list[int]:
    """Drive one complaint per department to each point of the happy path; return their ids.

    Uses the demo users (`init_system(..., demo=True)`), so department heads are the demo ones.
    """
    ids = []
    for category, department in DEPARTMENTS.items():
        for done in range(len(HAPPY_PATH) + 1):
            with UnitOfWork(db) as uow:
                result = intake.record_complaint(uow, settings, _actor(db, "agent1"), dict(INTAKE, category=category),
                                                 LINK_SECRET).result
            for name in HAPPY_PATH[:done]:
                worker = DEMO_HEADS[department] if WORKER[name] == "head_logistics" else WORKER[name]
                answers = dict(ANSWERS[name], **({"department": department} if name == "hand_over" else {}))
                with UnitOfWork(db) as uow:
                    result = tasks.complete_task(uow, _actor(db, worker), result.open_tasks[0]["id"], answers)
            ids.append(result.complaint_id)
    return ids


@dataclass(frozen=True)
class Row:
    """A template row's values (its own id and foreign keys left to the clone), and which hold dates and UUIDs."""

    values: dict
    dates: tuple[str, ...]
    ids: tuple[str, ...]


@dataclass
class Template:
    """One template complaint's rows."""

    complaint: Row
    tasks: list[Row]
    timers: list[Row]
    events: list[Row]

    @property
    def closed(self) -> bool:
        return self.complaint.values["status"] == "closed"

    @cached_property
    def state_parts(self) -> list[str]:
        """The workflow state split around its UUIDs (at odd positions), so a clone only joins new ones in."""
        return UUID_RE.split(self.complaint.values["state"])


def _columns(row, skip: tuple[str, ...] = ()) -> Row:
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}
    return Row(values, dates=tuple(k for k, v in values.items() if isinstance(v, datetime)),
               ids=tuple(k for k, v in values.items() if isinstance(v, str) and UUID_RE.fullmatch(v)))


def load_templates(db: Database, ids: list[int]) -> list[Template]:
    with UnitOfWork(db, write=False) as uow:
        session = uow.session
        return [Template(
            complaint=_columns(session.get(Complaint, cid), skip=("id", "reference")),
            tasks=[_columns(r, skip=("complaint_id",))
                   for r in session.scalars(select(WorkTask).where(WorkTask.complaint_id == cid))],
            timers=[_columns(r, skip=("complaint_id",))
                    for r in session.scalars(select(Timer).where(Timer.complaint_id == cid))],
            events=[_columns(r, skip=("id", "complaint_id"))
                    for r in session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid))],
        ) for cid in ids]


class _FreshIds(dict):
    """Old UUID → a new one, made on first sight."""

    def __missing__(self, old: str) -> str:
        h = os.urandom(16).hex()  # a random UUID without uuid.uuid4's object: seeding makes tens of millions
        self[old] = new = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return new


def _shifted(row: Row, delta: timedelta, fresh: _FreshIds, **fixed) -> dict:
    """A copy of `row` with its dates moved by `delta` and its UUIDs renewed through `fresh`."""
    out = dict(row.values, **fixed)
    for key in row.dates:
        out[key] = out[key] + delta
    for key in row.ids:
        out[key] = fresh[out[key]]
    return out


def clone(template: Template, cid: int, delta: timedelta) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """Rows for complaint `cid`, a copy of `template` that happened `delta` later."""
    fresh = _FreshIds()
    complaint = _shifted(template.complaint, delta, fresh, id=cid)
    complaint["reference"] = f"TS{complaint['created_at']:%Y%m%d}-{cid:06d}"
    complaint["state"] = "".join([fresh[part] if i & 1 else part for i, part in enumerate(template.state_parts)])
    tasks = [_shifted(r, delta, fresh, complaint_id=cid) for r in template.tasks]
    timers = [_shifted(r, delta, fresh, complaint_id=cid) for r in template.timers]
    events = [_shifted(r, delta, fresh, complaint_id=cid) for r in template.events]
    return complaint, tasks, timers, events


def _insert(uow: UnitOfWork, model: type, rows: list[dict], postgres: bool) -> None:
    """Insert `rows` (all with the same keys) into `model`'s table: COPY on PostgreSQL, executemany on SQLite."""
    connection = uow.session.connection()
    if not postgres:  # Core executemany: the ORM's bulk path would insert these one by one
        connection.execute(insert(model.__table__), rows)
        return
    # COPY: rows stream in without a statement per batch of rows (docs/PERFORMANCE.md, "1,000,000 complaints").
    table = model.__table__
    keys = list(rows[0])
    as_json = {key for key in keys if isinstance(table.c[key].type, JSON)}
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[k]) if k in as_json else row[k] for k in keys])


def _insert_clones(db: Database, plan: list[tuple[Template, timedelta]], first: int, batch: int,
                   totals: dict) -> None:
    """Clone and insert the planned complaints, `batch` per transaction, counting the rows in `totals`."""
    for start in range(0, len(plan), batch):
        rows: dict[type, list[dict]] = {Complaint: [], WorkTask: [], Timer: [], AuditEvent: []}
        for offset, (template, delta) in enumerate(plan[start:start + batch], start):
            complaint, tasks, timers, events = clone(template, first + offset, delta)
            rows[Complaint].append(complaint)
            rows[WorkTask] += tasks
            rows[Timer] += timers
            rows[AuditEvent] += events
        with UnitOfWork(db) as uow:
            if not db.is_sqlite:  # the clones' keys are consistent by construction: no foreign-key trigger per row
                uow.session.execute(text("SET LOCAL session_replication_role = replica"))
            for model, batch_rows in rows.items():
                if batch_rows:
                    _insert(uow, model, batch_rows, postgres=not db.is_sqlite)
            uow.commit()
        totals["tasks"] += len(rows[WorkTask])
        totals["timers"] += len(rows[Timer])
        totals["events"] += len(rows[AuditEvent])


def seed_complaints(db: Database, templates: list[Template], count: int, open_share: float = 0.03,
                    seed: int = 7, batch: int = 2000) -> dict:
    """Insert `count` clones: the closed ones spread over the last two years, oldest first, then `open_share`
    of them open (now, like their templates), so that ids grow with time as they do in use."""
    rng = random.Random(seed)
    closed = [t for t in templates if t.closed]
    still_open = [t for t in templates if not t.closed]
    opened = round(count * open_share)
    span = timedelta(days=365 * YEARS_OF_HISTORY).total_seconds()
    ages = sorted((rng.uniform(86400, span) for _ in range(count - opened)), reverse=True)
    plan = ([(rng.choice(closed), timedelta(seconds=-age)) for age in ages]
            # an open clone keeps its template's times: its timers stay as its workflow has them
            + [(rng.choice(still_open), timedelta(0)) for _ in range(opened)])
    with UnitOfWork(db, write=False) as uow:
        first = (uow.session.scalar(select(func.max(Complaint.id))) or 0) + 1
    totals = {"complaints": count, "open": opened, "tasks": 0, "timers": 0, "events": 0}
    with _indexes_built_afterwards(db, [m.__table__.name for m in (Complaint, WorkTask, Timer, AuditEvent)]):
        _insert_clones(db, plan, first, batch, totals)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not db.is_sqlite:  # explicit ids leave the serial behind
            conn.execute(text("SELECT setval(pg_get_serial_sequence('complaints', 'id'), "
                              "(SELECT max(id) FROM complaints))"))
        # Statistics and visibility as a database in use has them from autovacuum.
        conn.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    return totals


@contextmanager
def _indexes_built_afterwards(db: Database, tables: list[str]) -> Iterator[None]:
    """On PostgreSQL, drop the tables' secondary indexes for the load and build them again at the end: one sorted
    build costs a fraction of the ~200 index insertions per complaint. Constraint indexes (keys) stay."""
    if db.is_sqlite:
        yield
        return
    with db.engine.begin() as conn:
        definitions = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(:tables) AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)"),
            {"tables": tables}).all()
        for name, _ in definitions:
            conn.execute(text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for _, definition in definitions:
                conn.execute(text(definition))


def prepare(db: Database, settings, count: int, open_share: float = 0.03) -> dict:
    """Everything a load run needs: schema, models, demo users, bench staff, templates and `count` clones."""
    init_system(db, settings, demo=True)
    add_staff(db, bench_staff())
    templates = load_templates(db, make_templates(db, settings))
    return seed_complaints(db, templates, count, open_share)


def main(argv: list[str]) -> None:
    url, count = argv[0], int(argv[1]) if len(argv) > 1 else 100_000
    settings = replace(load_settings({}), database_url=url, instance_dir=Path("instance"))
    db = open_database(url)
    started = time.perf_counter()
    totals = prepare(db, settings, count)
    print(f"seeded {totals} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
