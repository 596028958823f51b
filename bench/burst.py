"""A sales-festival burst (双十一): how late does every warning and deadline fire?

Complaints are recorded through the intake use case at a festival rate (default 35 per second) on
PostgreSQL while two real `complaints worker` processes run on the real clock. Each complaint gets a time
of receipt in the past, chosen so that all first-response warnings fall due within one minute after the
intake ends and all deadlines within one minute two minutes later (level `major`: 10-minute limit,
warning at 80 %) — thousands of timers in the same minute, as after a festival.

A watcher polls the timer table every 50 ms; a timer counts as fired when its firing is committed and
visible, and its lateness is that moment minus its due time (so it includes the batch's commit and up to
one poll interval); when the intake falls behind the asked rate, a timer due before its complaint was
recorded is late from the recording. The run stops by itself when every timer has fired, or two minutes after the last
one was due (the rest count as lost). Doubled: warnings or breaches recorded twice for the same task.

    python -m bench burst [--complaints=10000] [--rate=35] [--workers=2]

Last line: `burst: N timers, p50 X.XX s, p99 X.XX s, max X.XX s late, doubled D, lost L`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.timers import CLI, database_base, drop_schema, fresh_schema
from engine.bootstrap import init_system
from engine.complaints import intake
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import AuditEvent, Complaint, Timer
from engine.people.users import actor_by_username
from tests.lifecycle import INTAKE

LEVEL = "major"
#: The first-response limit of that level and when its warning comes (policy.dmn: 10 minutes, 80 %).
LIMIT, WARNING = timedelta(minutes=10), timedelta(minutes=8)
#: Between the end of the intake and the first warning falling due.
MARGIN = timedelta(seconds=20)
#: How long the warnings (and, two minutes later, the deadlines) take to fall due.
WINDOW = timedelta(seconds=60)
#: How long after the last due time the run waits before it counts what has not fired as lost.
GRACE = timedelta(minutes=2)
POLL = 0.05


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench burst")
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=35.0, help="complaints recorded per second")
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_known_args(argv)[0]


class _Watcher(threading.Thread):
    """Notes when each timer's firing became visible, polling every `POLL` seconds."""

    def __init__(self, db):
        super().__init__(name="burst-watcher", daemon=True)
        self.db, self.seen, self.stop = db, {}, threading.Event()
        self.overdue_at_intake = 0

    def run(self) -> None:
        watermark = datetime(2000, 1, 1, tzinfo=UTC)
        while not self.stop.is_set():
            looked = time.time()
            with UnitOfWork(self.db, write=False) as uow:
                rows = uow.session.execute(
                    select(Timer.id, Timer.due_at, Timer.fired_at, Complaint.created_at)
                    .join(Complaint, Complaint.id == Timer.complaint_id)
                    .where(Timer.status == "fired", Timer.fired_at >= watermark)).all()
            for timer_id, due_at, fired_at, recorded_at in rows:
                if timer_id not in self.seen:
                    # A timer cannot fire before it exists: one recorded after its due time (the intake fell
                    # behind the planned rate) is late from its recording.
                    self.seen[timer_id] = looked - max(due_at, recorded_at).timestamp()
                    self.overdue_at_intake += recorded_at > due_at
                # Batches commit in any order: look back well past the longest one.
                watermark = max(watermark, fired_at - timedelta(seconds=60))
            self.stop.wait(POLL)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(argv: list[str] | None = None) -> dict:
    """Record a festival's complaints, fire their timers with real workers, report how late they fired."""
    options = _options(sys.argv[1:] if argv is None else argv)
    count, rate = options.complaints, options.rate
    admin, schema, url = fresh_schema(database_base())
    procs = []
    watcher = None
    try:
        db = open_database(url)
        settings = replace(load_settings({}), database_url=url)
        init_system(db, settings, demo=True)
        with UnitOfWork(db, write=False) as uow:
            agent = actor_by_username(uow, "agent1")
        env = dict(os.environ, DATABASE_URL=url)
        env.pop("COMPLAINTS_NOW", None)
        procs = [subprocess.Popen([CLI, "worker", "--poll", "1"], env=env, stdout=subprocess.DEVNULL)
                 for _ in range(options.workers)]
        watcher = _Watcher(db)
        watcher.start()
        started = datetime.now(UTC)
        first_warning = started + timedelta(seconds=count / rate) + MARGIN
        for i in range(count):
            time.sleep(max(0.0, started.timestamp() + i / rate - time.time()))
            warning_due = first_warning + WINDOW * (i / count)
            data = dict(INTAKE, level=LEVEL, received_at=(warning_due - WARNING).isoformat())
            with UnitOfWork(db) as uow:
                intake.record_complaint(uow, settings, agent, data, "bench-secret")
        intake_seconds = (datetime.now(UTC) - started).total_seconds()
        last_due = first_warning + WINDOW + (LIMIT - WARNING)
        with UnitOfWork(db, write=False) as uow:
            total = uow.session.scalar(select(func.count()).select_from(Timer).where(Timer.due_at <= last_due))
        while len(watcher.seen) < total and datetime.now(UTC) < last_due + GRACE:
            time.sleep(0.5)
        time.sleep(2 * POLL)
        watcher.stop.set()
        watcher.join()
        with UnitOfWork(db, write=False) as uow:
            lost = uow.session.scalar(select(func.count()).select_from(Timer).where(
                Timer.status != "fired", Timer.due_at <= last_due))
            per_task = (select(func.count().label("n")).where(
                AuditEvent.kind.in_(("deadline_warning", "deadline_breached")))
                .group_by(AuditEvent.task_id, AuditEvent.kind).subquery())
            doubled = uow.session.scalar(select(func.coalesce(func.sum(per_task.c.n - 1), 0)))
        db.dispose()
    finally:
        if watcher is not None:
            watcher.stop.set()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        drop_schema(admin, schema)
    late = list(watcher.seen.values())
    result = {"timers": total, "p50": _percentile(late, 0.50), "p99": _percentile(late, 0.99),
              "max": max(late, default=0.0), "doubled": int(doubled), "lost": lost}
    print(f"\nburst on PostgreSQL: {count:,} complaints recorded through the intake use case in "
          f"{intake_seconds:.0f} s ({count / intake_seconds:.1f}/s, asked {rate:g}/s), level {LEVEL}; "
          f"their {total:,} warnings and deadlines due within two one-minute windows; "
          f"{options.workers} real workers on the real clock; {watcher.overdue_at_intake} timers were due before "
          f"their complaint was recorded (late counted from the recording); load average {os.getloadavg()[0]:.1f}")
    print(f"burst: {total} timers, p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s, "
          f"max {result['max']:.2f} s late, doubled {result['doubled']}, lost {result['lost']}")
    return result
