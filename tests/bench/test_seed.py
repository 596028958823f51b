"""The load test's seeding tool makes complaints the engine can work like any other, on both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench.seed import DEMO_HEADS, add_staff, bench_staff, load_templates, make_templates, seed_complaints
from engine.complaints import tasks
from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, Timer, WorkTask
from tests.lifecycle import ANSWERS, WORKER, start

CLONES = 300

pytestmark = pytest.mark.slow  # the load benchmark's tools, seeding hundreds of complaints


def _count(system, query) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(query)


def test_clones_are_complaints_the_engine_can_work(system):
    add_staff(system.db, bench_staff())
    templates = load_templates(system.db, make_templates(system.db, system.settings))
    first = _count(system, select(func.max(Complaint.id))) + 1
    totals = seed_complaints(system.db, templates, CLONES, open_share=0.2, batch=64)

    assert totals["complaints"] == CLONES and totals["open"] == 60
    clones = Complaint.id >= first
    assert _count(system, select(func.count()).select_from(Complaint).where(clones)) == CLONES
    assert _count(system, select(func.count()).select_from(Complaint).where(clones, Complaint.status == "open")) == 60
    # Each open clone has its one open task and the waiting timers of its step, like its template.
    assert _count(system, select(func.count()).select_from(WorkTask).where(
        WorkTask.complaint_id >= first, WorkTask.status == "open")) == 60
    assert _count(system, select(func.count()).select_from(Timer).where(
        Timer.complaint_id >= first, Timer.status == "waiting")) > 0
    assert totals["events"] == _count(system, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.complaint_id >= first))
    # Closed clones lie in the past, oldest first: ids grow with time.
    with UnitOfWork(system.db, write=False) as uow:
        created = list(uow.session.scalars(select(Complaint.created_at).where(clones, Complaint.status == "closed")
                                           .order_by(Complaint.id)))
    assert created == sorted(created)

    # Every kind of open step among the clones is worked through the engine by its role.
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(WorkTask).where(WorkTask.complaint_id >= first,
                                                               WorkTask.status == "open")))
    one_per_step = {row.name: row for row in rows}
    assert len(one_per_step) >= 5
    for name, row in one_per_step.items():
        user = DEMO_HEADS[row.department] if row.role == "department_head" else WORKER[name]
        with UnitOfWork(system.db) as uow:
            result = tasks.complete_task(uow, system.actor(user), row.id, ANSWERS[name])
        assert result.status == "closed" or result.open_tasks[0]["task"] != name

    # A complaint recorded afterwards gets the next id (PostgreSQL's sequence was moved past the clones).
    assert start(system).complaint_id == first + CLONES
