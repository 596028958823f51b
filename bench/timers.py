"""Timer throughput: 10,000 due timers fired by 1 and by 2 worker processes on PostgreSQL.

Each complaint waits on two timers (first-response warning and deadline), so 5,000 complaints give
10,000 timers. The complaints are recorded once through the intake use case; the database is copied
aside and put back before each run, so both runs fire the same timers. The workers are real
`complaints worker` processes with the clock set past the deadlines; the rate counts from the first firing
seen, and the CPU seconds of the workers and of their PostgreSQL backends give timers per CPU second, which
a machine busy with other work hardly changes. Also measured: how long the claim query takes and what plan
PostgreSQL chooses for it, with every timer due.

    python -m bench timers [--timers=10000]

Last line: `timers: 1 worker N/s, 2 workers M/s`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from engine import clock
from engine.bootstrap import init_system
from engine.complaints import intake, timers
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import Timer
from engine.people.users import actor_by_username
from tests.lifecycle import INTAKE

TIMERS = 10_000
CLI = str(Path(sys.executable).parent / "complaints")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def database_base() -> str:
    """The PostgreSQL server the benchmarks make their schemas on."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL


def fresh_schema(base: str):
    """A new empty schema: (admin engine, schema name, URL whose search_path is that schema)."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return admin, schema, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def drop_schema(admin, schema: str) -> None:
    """Remove a schema made by `fresh_schema`."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench timers")
    parser.add_argument("--timers", type=int, default=TIMERS, help="due timers (two per complaint)")
    return parser.parse_known_args(argv)[0]


def _seed(url: str, count: int):
    db = open_database(url)
    settings = replace(load_settings({}), database_url=url)
    init_system(db, settings, demo=True)
    with UnitOfWork(db, write=False) as uow:
        agent = actor_by_username(uow, "agent1")
    for _ in range(count // 2):
        with UnitOfWork(db) as uow:
            intake.record_complaint(uow, settings, agent, dict(INTAKE), "bench-secret")
    return db


def _tables(conn, schema: str) -> list[str]:
    return list(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename "
                                  "NOT LIKE 'snap\\_%' AND tablename <> 'alembic_version'"), {"s": schema}).scalars())


def _snapshot(admin, schema: str) -> None:
    with admin.connect() as conn:
        for table in _tables(conn, schema):
            conn.execute(text(f'CREATE TABLE "{schema}"."snap_{table}" AS TABLE "{schema}"."{table}"'))


def _restore(admin, schema: str) -> None:
    """Put every table back as `_snapshot` saw it (foreign keys are not checked while copying back)."""
    with admin.connect() as conn:  # the admin engine autocommits: a session setting, reset at the end
        tables = _tables(conn, schema)
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("TRUNCATE " + ", ".join(f'"{schema}"."{t}"' for t in tables)))
        for table in tables:
            conn.execute(text(f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{schema}"."snap_{table}"'))
        conn.execute(text("RESET session_replication_role"))
        for table in tables:
            conn.execute(text(f'VACUUM ANALYZE "{schema}"."{table}"'))


def _fired(db) -> int:
    with UnitOfWork(db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired"))


#: Names the workers' connections, so that the CPU time of their PostgreSQL backends can be found.
APPLICATION = "bench_timer_worker"


def _cpu_seconds(pid: int, children: bool = True) -> float:
    """CPU time (user + system) of a process, with its live children (the sandbox workers) when asked."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
    except OSError:
        return 0.0
    return own + sum(_cpu_seconds(int(kid)) for kid in kids)


def _backend_cpu(db) -> float:
    with db.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                            {"a": APPLICATION}).scalars().all()
    return sum(_cpu_seconds(pid, children=False) for pid in pids)


def _run_workers(db, url: str, workers: int, now: str, count: int) -> dict:
    """Run `workers` processes until every timer fired. Timed from the first firing seen (a process starting
    Python and connecting is not firing) and, for comparison, from the start; with the CPU seconds the workers
    and their PostgreSQL backends used from the first firing seen to the last."""
    env = dict(os.environ, DATABASE_URL=f"{url}&application_name={APPLICATION}",
               COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now)
    started = time.perf_counter()
    procs = [subprocess.Popen([CLI, "worker", "--poll", "0.05"], env=env, stdout=subprocess.DEVNULL)
             for _ in range(workers)]
    first, first_count, cpu, database_cpu = started, 0, 0.0, 0.0
    try:
        while (fired := _fired(db)) < count:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited early")
            if not first_count and fired:
                first, first_count = time.perf_counter(), fired
                cpu, database_cpu = -sum(_cpu_seconds(p.pid) for p in procs), -_backend_cpu(db)
            time.sleep(0.05)
        ended = time.perf_counter()
        cpu += sum(_cpu_seconds(p.pid) for p in procs)
        database_cpu += _backend_cpu(db)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    fired = count - first_count
    return {"workers": workers, "seconds": ended - started, "per_second_with_start": count / (ended - started),
            "per_second": fired / (ended - first), "per_cpu": fired / cpu, "per_cpu_both": fired / (cpu + database_cpu),
            "cpu": cpu, "database_cpu": database_cpu, "load": os.getloadavg()[0]}


def claim_plan(db, now, *, retry: bool = False, explain: str = "ANALYZE") -> tuple[float, int, list[str]]:
    """The worker's claim of a batch (`retry`: of retried timers) at `now`: its time in ms from Python (median of
    20, each rolled back), how many timers it claimed, and PostgreSQL's plan (`EXPLAIN (explain)`)."""
    query = timers._claim_query(now, timers.BATCH, retry=retry, postgres=True)
    compiled = query.compile(db.engine)
    samples = []
    with db.engine.connect() as conn:
        for _ in range(20):
            started = time.perf_counter()
            claimed = len(conn.execute(query).all())
            samples.append(time.perf_counter() - started)
            conn.rollback()
        plan = conn.exec_driver_sql(f"EXPLAIN ({explain}) {compiled}", compiled.params).scalars().all()
        conn.rollback()
    return sorted(samples)[len(samples) // 2] * 1000, claimed, list(plan)


def run(argv: list[str] | None = None) -> list[dict]:
    """Measure and print timers per second for 1 and 2 workers."""
    count = _options(sys.argv[1:] if argv is None else argv).timers
    clock.set_now(clock.now())
    now = clock.now() + timedelta(minutes=31)
    admin, schema, url = fresh_schema(database_base())
    rows = []
    try:
        seeded = time.perf_counter()
        db = _seed(url, count)
        seed_seconds = time.perf_counter() - seeded
        with UnitOfWork(db, write=False) as uow:
            due = uow.session.scalar(select(func.count()).select_from(Timer).where(
                Timer.status == "waiting", Timer.due_at <= now))
        if due != count:
            raise RuntimeError(f"{due} timers due, expected {count}: the model's first-response timers changed")
        _snapshot(admin, schema)
        _restore(admin, schema)  # statistics fresh, as the runs and a live system (autovacuum) have them
        claim_ms, _, plan = claim_plan(db, now)
        for workers in (1, 2):
            _restore(admin, schema)
            rows.append(_run_workers(db, url, workers, now.isoformat(), count))
        db.dispose()
    finally:
        drop_schema(admin, schema)
        clock.set_now(None)
    print(f"\n{count:,} due timers on PostgreSQL ({count // 2:,} complaints, warning + deadline each), "
          f"batches of {timers.BATCH} timers; setup {seed_seconds:.0f} s (complaints recorded through the engine)")
    print(f"claim with {count:,} due: {claim_ms:.2f} ms; plan:\n    " + "\n    ".join(plan))
    print("timers/s: from the first firing seen; with start: from starting the processes. CPU: seconds the worker "
          "processes (with their sandbox workers) and their PostgreSQL backends used from the first firing seen to "
          "the last; timers per CPU second hardly depend on what else the machine runs")
    print(f"{'workers':>7} {'seconds':>8} {'timers/s':>9} {'with start':>10} {'worker CPU s':>12} "
          f"{'database CPU s':>14} {'per worker CPU s':>16} {'per CPU s (both)':>16} {'load':>5}")
    for r in rows:
        print(f"{r['workers']:>7} {r['seconds']:>8.1f} {r['per_second']:>9.0f} {r['per_second_with_start']:>10.0f} "
              f"{r['cpu']:>12.2f} {r['database_cpu']:>14.2f} {r['per_cpu']:>16.0f} {r['per_cpu_both']:>16.0f} "
              f"{r['load']:>5.1f}")
    print(f"timers: 1 worker {rows[0]['per_second']:.0f}/s, 2 workers {rows[1]['per_second']:.0f}/s")
    return rows
