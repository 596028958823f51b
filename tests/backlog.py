"""Many complaints as `tests.lifecycle.start` records them, for the tests that need a backlog of due timers.

Recording one costs 0.05–0.1 s (the intake's scripts in the sandbox, several statements, a commit); the timer and
kill tests recorded 5,000 of them per run. Here one complaint is recorded through the engine and the others are
its clones (bench/seed.py: workflow state, tasks, timers and audit trail with fresh UUIDs, and its
classification), inserted in one transaction: to a timer worker they are complaints like any other, and the
tests' checks (exactly once, audit trail against stored state) read them as such.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, text

from bench.seed import clone, load_templates
from engine.db import UnitOfWork
from engine.models import AuditEvent, Classification, Complaint, Timer, WorkTask
from tests.lifecycle import start


def start_many(system, count: int) -> list[int]:
    """Record `count` complaints (the default intake, by agent1, at the frozen clock); their ids."""
    first = start(system).complaint_id
    template = load_templates(system.db, [first])[0]
    ids = list(range(first + 1, first + count))
    rows: dict[type, list[dict]] = {Complaint: [], WorkTask: [], Timer: [], AuditEvent: [], Classification: []}
    with UnitOfWork(system.db) as uow:
        classification = uow.session.scalar(select(Classification).where(Classification.complaint_id == first))
        for cid in ids:
            complaint, tasks, timers, events = clone(template, cid, timedelta(0))
            rows[Complaint].append(complaint)
            rows[WorkTask] += tasks
            rows[Timer] += timers
            rows[AuditEvent] += events
            if classification is not None:
                rows[Classification].append({c.key: getattr(classification, c.key)
                                             for c in Classification.__table__.columns if c.key != "id"}
                                            | {"complaint_id": cid})
        for model, batch in rows.items():
            if batch:
                uow.session.execute(insert(model.__table__), batch)
        if not system.db.is_sqlite:  # explicit ids leave the serial behind
            uow.session.execute(text("SELECT setval(pg_get_serial_sequence('complaints', 'id'), "
                                     "(SELECT max(id) FROM complaints))"))
        uow.commit()
    return [first, *ids]
