"""Held timers stay held whatever else moves the workflow: a deadline whose deferral request waits for the
general manager, and a timer that became an incident, never fire as a side effect of another timer, a
message or a task (SpiffWorkflow re-checks every waiting timer whenever the engine moves)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine import clock
from engine.complaints import deferrals, progress, timers
from engine.db import UnitOfWork
from engine.models import Complaint, Penalty, Timer
from engine.workflow import runtime
from engine.workflow.versions import load_version
from tests.lifecycle import open_task, start


def _timers(system, cid) -> dict[str, Timer]:
    with UnitOfWork(system.db, write=False) as uow:
        return {t.name: t for t in uow.session.scalars(select(Timer).where(Timer.complaint_id == cid))}


def _penalties(system, cid) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Penalty).where(Penalty.complaint_id == cid))


def _workflow(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get_one(Complaint, cid)
        return progress.load_workflow(complaint, load_version(uow.session, complaint.version_id))


def test_a_held_deadline_does_not_fire_with_a_timer_fired_beside_it(system):
    cid = start(system).complaint_id
    rows = _timers(system, cid)
    warning, deadline = rows["judge_validity_warning"], rows["judge_validity_deadline"]
    clock.advance(timedelta(minutes=31))  # both due
    workflow = _workflow(system, cid)
    stored_due = runtime.find_task(workflow, deadline.id)._get_internal_data("event_value")
    runtime.fire_due_timers(workflow, hold={deadline.id})
    assert runtime.task_state(workflow, warning.id) == "COMPLETED"
    assert runtime.task_state(workflow, deadline.id) == "WAITING"
    assert runtime.find_task(workflow, deadline.id)._get_internal_data("event_value") == stored_due


def test_a_pending_deferral_holds_the_deadline_through_another_step(system):
    cid = start(system).complaint_id
    row = open_task(system, cid)
    with UnitOfWork(system.db) as uow:
        deferrals.request_deferral(uow, system.actor("agent1"), row.id, "顾客电话关机",
                                   clock.now() + timedelta(hours=2))
    clock.advance(timedelta(minutes=31))  # the deadline is due while the request waits
    with UnitOfWork(system.db) as uow:
        # what every step does after its own change: run the engine to its next wait
        with progress.locked_case(uow.session, cid, clock.now()) as case:
            runtime.advance(case.workflow)
        uow.commit()
    assert _penalties(system, cid) == 0, "the step fired the held deadline"
    assert _timers(system, cid)["judge_validity_deadline"].status == "waiting"
    assert runtime.task_state(_workflow(system, cid), row.id) == "READY"


def test_a_timer_incident_is_not_fired_by_another_step(system):
    cid = start(system).complaint_id
    deadline = _timers(system, cid)["judge_validity_deadline"]
    with UnitOfWork(system.db) as uow:
        uow.session.get_one(Timer, deadline.id).status = "incident"
        uow.commit()
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)  # fires the warning only
    assert _timers(system, cid)["judge_validity_warning"].status == "fired"
    assert _timers(system, cid)["judge_validity_deadline"].status == "incident"
    assert _penalties(system, cid) == 0
