"""Report speed: 100,000 complaints over two years (bulk-inserted into a temporary SQLite database,
penalties for a few per cent, surveys for a fifth), then the general manager's monthly report, timed.

`generate` is also the data set the report tests check figures against: it is deterministic per seed.
"""
from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from engine import clock
from engine.bootstrap import init_system
from engine.complaints import reports
from engine.config import load_settings
from engine.db import Database, UnitOfWork, open_database
from engine.models import Complaint, Penalty, ProcessVersion, Survey, User
from engine.people.users import actor_by_username

COMPLAINTS = 100_000
TARGET_SECONDS = 1.0
TZ = ZoneInfo("Asia/Shanghai")

CATEGORIES = {  # category: (weight, responsible department, as routing.dmn decides)
    "product_quality": (30, "quality"), "logistics": (25, "logistics"),
    "service_attitude": (10, "customer_service"), "return_exchange": (12, "after_sales"),
    "transaction_dispute": (8, "sales"), "invoice": (5, "sales"), "counterfeit": (4, "quality"),
    "review": (6, "customer_service"),
}
LEVELS = {"dissatisfied": 60, "very_dissatisfied": 28, "major": 10, "crisis": 2}
PENALTY = {"dissatisfied": 20, "very_dissatisfied": 30, "major": 50, "crisis": 80}
CHANNELS = {"phone": 40, "web": 25, "platform": 15, "on_site": 8, "return_visit": 7, "suggestion_box": 5}
CAUSES = [f"原因{i:02d}" for i in range(30)]
PRODUCTS = [f"商品{i:03d}" for i in range(200)]
SOLUTIONS = ["return", "exchange", "repair", "discount", "compensation", "apology", "gift"]


@dataclass
class DataSet:
    complaints: list[dict] = field(default_factory=list)
    penalties: list[dict] = field(default_factory=list)
    surveys: list[dict] = field(default_factory=list)


def _pick(rng: random.Random, weights: dict) -> str:
    values = [w[0] if isinstance(w, tuple) else w for w in weights.values()]
    return rng.choices(list(weights), weights=values)[0]


def generate(count: int, start: datetime, end: datetime, version_id: int, staff: list[tuple[int, str | None]],
             seed: int = 7, first_id: int = 1) -> DataSet:
    """`count` complaints created between `start` and `end`, with penalties and survey answers.

    `staff` is (user id, department) of the people penalties are recorded against.
    """
    rng = random.Random(seed)
    data = DataSet()
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # the columns keep UTC (SQLite drops zones)
    span = (end - start).total_seconds()
    contacts = max(10, int(count * 0.6))  # so that some customers complain more than once
    for offset in range(count):
        cid = first_id + offset
        created = start + timedelta(seconds=rng.random() * span)
        category = _pick(rng, CATEGORIES)
        level = _pick(rng, LEVELS)
        valid = rng.random() < 0.85
        department = CATEGORIES[category][1] if valid else None
        responded = created + timedelta(minutes=rng.lognormvariate(2.5, 0.7)) if rng.random() < 0.93 else None
        closed = rng.random() < 0.8 and responded is not None
        rounds = (rng.choices([1, 2, 3], weights=[80, 15, 5])[0] if valid else None) if closed else None
        satisfied = (rng.random() < 0.85 if valid else None) if closed else None
        closed_at = created + timedelta(hours=rng.uniform(1, 24 * 10)) if closed else None
        contact = f"1380{rng.randrange(contacts):07d}"
        data.complaints.append({
            "id": cid, "reference": f"TS{created:%Y%m%d}-{cid:06d}", "version_id": version_id,
            "status": "closed" if closed else "open",
            "outcome": ("end_archived" if valid else "end_not_valid") if closed else None,
            "customer_name": f"顾客{contact[-4:]}", "customer_contact": contact,
            "channel": _pick(rng, CHANNELS),
            "product": rng.choice(PRODUCTS) if rng.random() < 0.9 else None,
            "description": "generated", "demand": "generated", "category": category, "level": level,
            "department": department, "round": rounds, "valid": valid if responded else None,
            "satisfied": satisfied, "cause": rng.choice(CAUSES) if valid and responded else None,
            "solution_type": rng.choice(SOLUTIONS) if valid and responded else None,
            "received_at": created, "created_at": created, "updated_at": closed_at or responded or created,
            "first_response_at": responded, "closed_at": closed_at, "variables": {}, "state": "",
            "lock_version": 1,
        })
        if rng.random() < 0.04:
            person, person_department = rng.choice(staff)
            data.penalties.append({
                "complaint_id": cid, "timer_id": f"bench-{cid}", "work_task_id": None,
                "task_name": "judge_validity",
                "deadline": created + timedelta(minutes=30), "person_id": person, "role": "agent",
                "department": person_department, "level": level, "amount": PENALTY[level],
                "recorded_at": created + timedelta(minutes=30),
            })
        if closed and valid and rng.random() < 0.25:
            data.surveys.append({
                "complaint_id": cid, "round": rounds, "satisfied": bool(satisfied),
                "rating": rng.randint(1, 5), "comment": None,
                "submitted_at": closed_at - timedelta(minutes=5), "applied": rng.random() < 0.7,
            })
    return data


def insert_data(db: Database, data: DataSet, batch: int = 5000) -> None:
    """Bulk-insert a data set (executemany in batches, one transaction)."""
    with UnitOfWork(db) as uow:
        for model, rows in ((Complaint, data.complaints), (Penalty, data.penalties), (Survey, data.surveys)):
            for i in range(0, len(rows), batch):
                uow.session.execute(insert(model), rows[i:i + batch])
        uow.commit()


def staff_of(db: Database) -> list[tuple[int, str | None]]:
    with UnitOfWork(db, write=False) as uow:
        return [(u.id, u.department) for u in uow.session.scalars(
            select(User).where(User.role.in_(("agent", "department_head"))))]


def current_version_id(db: Database) -> int:
    with UnitOfWork(db, write=False) as uow:
        return uow.session.scalar(select(ProcessVersion.id).where(ProcessVersion.is_current.is_(True)))


def run() -> float:
    """Build the data set, time the monthly report for the general manager, print and return seconds."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'reports.db'}"
        settings = replace(load_settings({}), database_url=url, instance_dir=Path(folder))
        db = open_database(url)
        init_system(db, settings, demo=True)
        clock.set_now(now)
        try:
            began = time.perf_counter()
            data = generate(COMPLAINTS, now - timedelta(days=730), now, current_version_id(db), staff_of(db))
            insert_data(db, data)
            loaded = time.perf_counter() - began
            with UnitOfWork(db, write=False) as uow:
                gm = actor_by_username(uow, "gm")
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                with UnitOfWork(db, write=False) as uow:
                    report = reports.build_report(uow, gm, "month", (now - timedelta(days=30)).date(), TZ)
                timings.append(time.perf_counter() - began)
        finally:
            clock.set_now(None)
            db.dispose()
    best = min(timings)
    print(f"reports: {COMPLAINTS:,} complaints, {len(data.penalties):,} penalties, "
          f"{len(data.surveys):,} surveys loaded in {loaded:.1f} s")
    print(f"reports: GM monthly report ({report.total.current:,} complaints in the month): "
          f"{best * 1000:.0f} ms (first run {timings[0] * 1000:.0f} ms; target < {TARGET_SECONDS:.0f} s)")
    return best


if __name__ == "__main__":
    run()
