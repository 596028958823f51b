"""Timer throughput: 10,000 due timers fired by 1 and by 2 worker processes on PostgreSQL.

Each complaint waits on two timers (first-response warning and deadline), so 5,000 complaints give
10,000 timers. The workers are real `complaints worker` processes with the clock set past the deadlines.
"""
from __future__ import annotations

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
from engine.complaints import intake
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import Timer
from engine.people.users import actor_by_username
from tests.lifecycle import INTAKE

TIMERS = 10_000
CLI = str(Path(sys.executable).parent / "complaints")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _fresh_schema(base: str):
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return admin, schema, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def _seed(url: str) -> tuple:
    db = open_database(url)
    settings = replace(load_settings({}), database_url=url)
    init_system(db, settings, demo=True)
    with UnitOfWork(db, write=False) as uow:
        agent = actor_by_username(uow, "agent1")
    for _ in range(TIMERS // 2):
        with UnitOfWork(db) as uow:
            intake.record_complaint(uow, settings, agent, dict(INTAKE), "bench-secret")
    return db


def _fired(db) -> int:
    with UnitOfWork(db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired"))


def _run_workers(db, url: str, workers: int, now: str) -> float:
    env = dict(os.environ, DATABASE_URL=url, COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now)
    started = time.perf_counter()
    procs = [subprocess.Popen([CLI, "worker", "--poll", "0.05"], env=env, stdout=subprocess.DEVNULL)
             for _ in range(workers)]
    try:
        while _fired(db) < TIMERS:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited early")
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def run() -> list[dict]:
    """Measure and print timers per second for 1 and 2 workers."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL
    rows = []
    clock.set_now(clock.now())
    now = (clock.now() + timedelta(minutes=31)).isoformat()
    for workers in (1, 2):
        admin, schema, url = _fresh_schema(base)
        try:
            seeded = time.perf_counter()
            db = _seed(url)
            seed_seconds = time.perf_counter() - seeded
            seconds = _run_workers(db, url, workers, now)
            rows.append({"workers": workers, "seconds": seconds, "per_second": TIMERS / seconds,
                         "seed_seconds": seed_seconds})
            db.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    clock.set_now(None)
    print(f"\n{TIMERS:,} due timers on PostgreSQL ({TIMERS // 2:,} complaints, warning + deadline each)")
    print(f"{'workers':>7} {'seconds':>8} {'timers/s':>9}  (setup: complaints started through the engine)")
    for r in rows:
        print(f"{r['workers']:>7} {r['seconds']:>8.1f} {r['per_second']:>9.0f}  (setup {r['seed_seconds']:.0f} s)")
    print(f"2 workers / 1 worker: {rows[1]['per_second'] / rows[0]['per_second']:.2f}x (2 cores on this machine)")
    return rows
