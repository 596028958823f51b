"""The stored history at scale: on a PostgreSQL database seeded with `python -m bench.seed URL 1000000`, time the
general manager's monthly report and the timer workers' claim, and print what each table and its indexes take.

`python -m bench.scale URL` (the task list and complaint page under load: `BENCH_SEEDED=1
BENCH_DATABASE_URL=URL python -m bench load`). Figures in docs/PERFORMANCE.md, "1,000,000 complaints".
"""
from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from bench.timers import claim_plan
from engine import clock
from engine.complaints import reports
from engine.db import UnitOfWork, open_database
from engine.models import Complaint, Timer
from engine.people.users import actor_by_username

TZ = ZoneInfo("Asia/Shanghai")
TABLES = ("complaints", "work_tasks", "timers", "audit_events")
#: As `python -m bench timers`: past the first-response deadlines of the complaints open now.
CLAIM_AHEAD = timedelta(minutes=31)


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def monthly_report(db) -> None:
    """The GM's report of last month, three times (the first with a cold cache)."""
    with UnitOfWork(db, write=False) as uow:
        gm = actor_by_username(uow, "gm")
    day = (clock.now().astimezone(TZ).replace(day=1) - timedelta(days=1)).date()
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        with UnitOfWork(db, write=False) as uow:
            report = reports.build_report(uow, gm, "month", day, TZ)
        timings.append(time.perf_counter() - began)
    print(f"scale: GM monthly report of {day:%Y-%m} ({report.total.current:,} complaints in the month): "
          f"{min(timings) * 1000:.0f} ms (first run {timings[0] * 1000:.0f} ms; target < 1 s; {_load()})")


def claim(db) -> None:
    """The worker's claim of a batch (fresh timers, then retried ones): median of 20 from Python, rolled back,
    and PostgreSQL's plan with its execution time."""
    now = clock.now() + CLAIM_AHEAD
    with UnitOfWork(db, write=False) as uow:
        due = uow.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.status == "waiting", Timer.next_attempt_at <= now))
        waiting = uow.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "waiting"))
    for retry in (False, True):
        median, claimed, plan = claim_plan(db, now, retry=retry, explain="ANALYZE, BUFFERS")
        print(f"scale: {'retry' if retry else 'batch'} claim ({claimed} of {due:,} due, {waiting:,} waiting): "
              f"{median:.2f} ms from Python (median of 20; target < 5 ms; {_load()}); plan:\n    "
              + "\n    ".join(plan))


def sizes(db) -> None:
    """Rows, heap (with TOAST), index and total size of each big table, and of the whole database."""
    print(f"scale: {'table':13} {'rows':>12} {'table MB':>9} {'indexes MB':>10} {'total MB':>9}")
    with db.engine.connect() as conn:
        for table in TABLES:
            rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
            index, total = conn.execute(text("SELECT pg_indexes_size(:t), pg_total_relation_size(:t)"),
                                        {"t": table}).one()
            print(f"scale: {table:13} {rows:>12,} {(total - index) / 2**20:>9,.0f} {index / 2**20:>10,.0f} "
                  f"{total / 2**20:>9,.0f}")
        for name, size in conn.execute(text(
                "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
                "WHERE relname = ANY(:t) ORDER BY 2 DESC"), {"t": list(TABLES)}):
            print(f"scale:   index {name:40} {size / 2**20:>9,.0f} MB")
        database = conn.scalar(text("SELECT pg_database_size(current_database())"))
        complaints = conn.scalar(select(func.count()).select_from(Complaint))
    print(f"scale: database {database / 2**30:.1f} GiB for {complaints:,} complaints")


def main(argv: list[str]) -> None:
    db = open_database(argv[0])
    try:
        sizes(db)
        monthly_report(db)
        claim(db)
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
