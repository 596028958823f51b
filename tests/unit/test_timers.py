"""Time limits, warnings, breaches, escalation, penalties and deferrals — time moves by the program's clock."""
from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.complaints import casework, deadlines, deferrals, incidents, tasks, timer_worker, timers
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import AuditEvent, Notification, Penalty, Timer, WorkTask
from engine.workflow import runtime
from tests.lifecycle import ANSWERS, open_task, start, step

LIMITS = {  # level: first-response minutes, penalty, escalation target of the agent's task
    "dissatisfied": (30, 20, "cs_manager"),
    "very_dissatisfied": (20, 30, "cs_manager"),
    "major": (10, 50, "cs_manager"),
    "crisis": (10, 80, "general_manager"),
}


def count(system, model, **where):
    with UnitOfWork(system.db, write=False) as uow:
        query = select(func.count()).select_from(model).filter_by(**where)
        return uow.session.scalar(query)


def timer_rows(system, complaint_id):
    with UnitOfWork(system.db, write=False) as uow:
        return {t.name: t for t in uow.session.scalars(select(Timer).where(Timer.complaint_id == complaint_id))}


@pytest.mark.parametrize("level", list(LIMITS))
def test_first_response_breach_escalates_and_records_the_penalty(system, level):
    minutes, penalty, superior = LIMITS[level]
    cid = start(system, level=level).complaint_id
    row = open_task(system, cid)
    assert row.due_at == clock.now() + timedelta(minutes=minutes)
    clock.advance(timedelta(minutes=minutes - 1))
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) == 0
    clock.advance(timedelta(minutes=1, seconds=1))
    result = timers.run_due(system.db)
    assert result.fired >= 1
    with UnitOfWork(system.db, write=False) as uow:
        breach = uow.session.scalars(select(Penalty).where(Penalty.complaint_id == cid)).one()
        task = uow.session.get(WorkTask, row.id)
    assert (breach.amount, breach.level, breach.task_name) == (penalty, level, "judge_validity")
    assert breach.person_id == system.actor("agent1").id
    assert task.status == "open" and task.escalated_to == superior
    assert count(system, Notification, complaint_id=cid, kind="breach") >= 1
    # The superior can now finish the task; the work is not lost.
    with UnitOfWork(system.db) as uow:
        tasks.complete_task(uow, system.actor("gm" if superior == "general_manager" else "cs_manager"),
                               row.id, ANSWERS["judge_validity"])
    assert open_task(system, cid).name == "hand_over"
    with UnitOfWork(system.db, write=False) as uow:
        shown = casework.complaint_details(uow, system.actor("gm"), cid)["breaches"]
    # The hand-over is due 10 minutes after receipt (DOMAIN §4): it opened after that, a timeout at once.
    assert [(b["task"], b["amount"], b["person"]) for b in shown] == [
        ("judge_validity", penalty, "agent1"), ("hand_over", penalty, "agent1")]


def test_a_new_round_counts_its_contact_and_result_from_the_round_start(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, cid, task)
    clock.advance(timedelta(days=1))
    round_two = clock.now()
    step(system, cid, "follow_up", satisfied=False)  # not satisfied: round 2 starts now
    with UnitOfWork(system.db, write=False) as uow:
        contact = uow.session.scalars(select(Timer.due_at).where(
            Timer.complaint_id == cid, Timer.name == "analyse_and_propose_contact_deadline",
            Timer.status == "waiting")).one()
    assert contact == round_two + timedelta(minutes=20)
    assert open_task(system, cid).due_at == round_two + timedelta(minutes=10)  # the agreement, the earlier
    clock.advance(timedelta(minutes=5))
    step(system, cid, "analyse_and_propose")
    step(system, cid, "approve_solution")
    assert open_task(system, cid).due_at == round_two + timedelta(hours=12)


def test_a_timeout_is_recorded_against_the_holder_or_the_one_person_of_the_role(system):
    # Recorded by the CS manager, the first response waits in the agents' shared queue: no one agent is
    # responsible (docs/data-dictionary.md §15); the department's task has its one head.
    pooled = start(system, user="cs_manager").complaint_id
    department = start(system).complaint_id
    step(system, department, "judge_validity")
    step(system, department, "hand_over")
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        ledger = {(p.complaint_id, p.task_name, p.person_id, p.role, p.department) for p in uow.session.scalars(
            select(Penalty).where(Penalty.task_name.in_(("judge_validity", "analyse_and_propose"))))}
    head = system.actor("head_logistics").id
    assert ledger == {(pooled, "judge_validity", None, "agent", None),
                      (department, "analyse_and_propose", head, "department_head", "logistics")}


def test_warning_comes_before_the_deadline_and_fires_once(system):
    cid = start(system).complaint_id
    clock.advance(timedelta(minutes=24, seconds=1))  # 80% of 30 minutes
    timers.run_due(system.db)
    timers.run_due(system.db)
    row = open_task(system, cid)
    assert row.warned_at is not None and row.escalated_to is None
    rows = timer_rows(system, cid)
    assert rows["judge_validity_warning"].status == "fired"
    assert rows["judge_validity_deadline"].status == "waiting"
    assert count(system, AuditEvent, complaint_id=cid, kind="deadline_warning") == 1
    assert count(system, Notification, complaint_id=cid, kind="warning") == 1
    assert count(system, Penalty, complaint_id=cid) == 0
    with UnitOfWork(system.db, write=False) as uow:
        listed = tasks.task_list(uow, system.actor("agent1"), "due_soon").items
    assert [t.id for t in listed] == [row.id] and listed[0].warned


def test_timers_of_a_finished_task_are_cancelled(system):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    rows = timer_rows(system, cid)
    assert rows["judge_validity_deadline"].status == "cancelled"
    assert rows["hand_over_deadline"].status == "waiting"
    clock.advance(timedelta(hours=1))
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid, task_name="judge_validity") == 0
    assert count(system, Penalty, complaint_id=cid, task_name="hand_over") == 1


def test_progress_check_opens_for_the_agent_during_implementation(system):
    cid = start(system).complaint_id
    for name in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, name)
    clock.advance(timedelta(minutes=40, seconds=1))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        names = sorted(t.name for t in uow.session.scalars(
            select(WorkTask).where(WorkTask.complaint_id == cid, WorkTask.status == "open")))
    assert names == ["implement_solution", "progress_check"]


def _request(system, cid, hours=2):
    row = open_task(system, cid)
    with UnitOfWork(system.db) as uow:
        return row, deferrals.request_deferral(uow, system.actor("agent1"), row.id, "顾客电话关机",
                                               clock.now() + timedelta(hours=hours))


def test_approved_deferral_moves_the_deadline_and_no_breach_is_recorded(system):
    cid = start(system).complaint_id
    row, deferral_id = _request(system, cid)
    with UnitOfWork(system.db) as uow:
        deferrals.decide_deferral(uow, system.actor("gm"), deferral_id, approve=True, note="同意")
    new_deadline = clock.now() + timedelta(hours=2)
    assert timer_rows(system, cid)["judge_validity_deadline"].due_at == new_deadline
    assert open_task(system, cid).due_at == new_deadline
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) == 0
    clock.advance(timedelta(hours=2))
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) == 1  # the new deadline still counts
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        deferrals.decide_deferral(uow, system.actor("gm"), deferral_id, approve=False)


def test_rejected_deferral_leaves_the_deadline_and_a_pending_one_holds_the_breach(system):
    cid = start(system).complaint_id
    row, deferral_id = _request(system, cid)
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) == 0, "held while the request is pending"
    with UnitOfWork(system.db) as uow:
        deferrals.decide_deferral(uow, system.actor("gm"), deferral_id, approve=False, note="请继续联系")
    clock.advance(timers.HOLD_RECHECK)
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        breach = uow.session.scalars(select(Penalty).where(Penalty.complaint_id == cid)).one()
    assert breach.deadline == timer_rows(system, cid)["judge_validity_deadline"].due_at
    kinds = [k for k, in system_audit(system, cid)]
    assert kinds.index("deferral_rejected") < kinds.index("deadline_breached")


def system_audit(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.execute(select(AuditEvent.kind).where(AuditEvent.complaint_id == cid)
                                   .order_by(AuditEvent.id)).all()


def test_deferral_requests_are_checked(system):
    cid = start(system).complaint_id
    row = open_task(system, cid)
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as info:
        deferrals.request_deferral(uow, system.actor("agent1"), row.id, "", clock.now() - timedelta(hours=1))
    assert set(info.value.errors) == {"reason", "until"}
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        deferrals.request_deferral(uow, system.actor("head_quality"), row.id, "x", clock.now() + timedelta(hours=1))
    _, deferral_id = _request(system, cid)
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        deferrals.request_deferral(uow, system.actor("agent1"), row.id, "again", clock.now() + timedelta(hours=3))
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        deferrals.decide_deferral(uow, system.actor("cs_manager"), deferral_id, approve=True)
    with UnitOfWork(system.db, write=False) as uow:
        pending = deferrals.list_deferrals(uow, system.actor("gm"))
    assert [(d["reference"], d["task"], d["requested_by"]) for d in pending] == [
        (start_reference(system, cid), "judge_validity", "agent1")]


def start_reference(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return casework.get_complaint(uow, system.actor("gm"), cid).reference


def test_a_failing_firing_is_retried_then_becomes_an_incident(system, monkeypatch):
    cid = start(system).complaint_id
    clock.advance(timedelta(minutes=31))

    def broken(*args, **kwargs):
        raise RuntimeError("mail relay down")

    monkeypatch.setattr(runtime, "fire_due_timers", broken)
    for attempt in range(timers.MAX_ATTEMPTS):
        assert timers.run_due(system.db).failed == 1
        clock.advance(timers.BACKOFF * 2 ** attempt)
    rows = timer_rows(system, cid)
    assert {rows[n].status for n in ("judge_validity_warning", "judge_validity_deadline")} == {"incident"}
    assert "mail relay down" in rows["judge_validity_deadline"].last_error
    assert timers.run_due(system.db).complaints == 0
    monkeypatch.undo()
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        incidents.retry_incident(uow, system.actor("gm"), rows["judge_validity_deadline"].id)
    with UnitOfWork(system.db) as uow:
        for name in ("judge_validity_warning", "judge_validity_deadline"):
            incidents.retry_incident(uow, system.actor("admin"), rows[name].id)
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) == 1
    assert timer_rows(system, cid)["judge_validity_deadline"].status == "fired"


def _past_every_due(system):
    with UnitOfWork(system.db, write=False) as uow:
        latest = uow.session.scalar(select(func.max(Timer.due_at)).where(Timer.status == "waiting"))
    clock.set_now(latest + timedelta(seconds=1))


def test_one_failing_complaint_does_not_hold_back_its_batch(system, monkeypatch):
    good = [start(system).complaint_id for _ in range(4)]
    bad = start(system, customer_name="故障顾客").complaint_id
    good += [start(system).complaint_id for _ in range(4)]
    _past_every_due(system)
    fire = runtime.fire_due_timers

    def failing_for_one(workflow, hold=frozenset()):
        if runtime.current_data(workflow).get("customer_name") == "故障顾客":
            raise RuntimeError("model script failed")
        return fire(workflow, hold)

    monkeypatch.setattr(runtime, "fire_due_timers", failing_for_one)
    result = timers.run_due(system.db)
    assert (result.batches, result.complaints, result.failed) == (1, len(good), 1), "one transaction, one failure"
    assert all(count(system, Penalty, complaint_id=cid) == 1 for cid in good)
    failed = [t for t in timer_rows(system, bad).values() if t.status == "waiting" and t.attempts]
    assert failed and all(t.attempts == 1 and "model script failed" in t.last_error for t in failed)
    assert all(t.next_attempt_at == clock.now() + timers.BACKOFF for t in failed)
    assert timers.run_due(system.db).batches == 0, "backing off"
    monkeypatch.undo()
    clock.advance(timers.BACKOFF)
    result = timers.run_due(system.db)
    assert (result.batches, result.complaints, result.failed) == (1, 1, 0), "retried alone"
    assert count(system, Penalty, complaint_id=bad) == 1
    assert all(t.last_error is None for t in timer_rows(system, bad).values() if t.status == "fired")


def test_a_complaint_whose_recording_fails_is_isolated_and_the_batch_still_commits(system, monkeypatch):
    """The batch records every fired complaint with one flush; when that fails, the complaints are recorded
    again one at a time, so the good ones fire (once) and only the bad one counts a failed attempt."""
    good = [start(system).complaint_id for _ in range(3)]
    bad = start(system, customer_name="故障顾客").complaint_id
    good += [start(system).complaint_id for _ in range(3)]
    _past_every_due(system)
    breach = deadlines._breach

    def failing_for_one(session, complaint, timer, work, now):
        if complaint.customer_name == "故障顾客":
            raise RuntimeError("recording failed")
        return breach(session, complaint, timer, work, now)

    monkeypatch.setattr(deadlines, "_breach", failing_for_one)
    result = timers.run_due(system.db)
    assert (result.batches, result.complaints, result.failed) == (1, len(good), 1)
    assert all(count(system, Penalty, complaint_id=cid) == 1 for cid in good)
    assert all(count(system, AuditEvent, complaint_id=cid, kind="deadline_warning") == 1 for cid in good)
    assert count(system, Penalty, complaint_id=bad) == 0
    assert count(system, AuditEvent, complaint_id=bad, kind="deadline_warning") == 0, "nothing of it was kept"
    failed = [t for t in timer_rows(system, bad).values() if t.status == "waiting" and t.attempts]
    assert failed and all("recording failed" in t.last_error for t in failed)
    monkeypatch.undo()
    clock.advance(timers.BACKOFF)
    assert (timers.run_due(system.db).complaints, count(system, Penalty, complaint_id=bad)) == (1, 1)
    assert all(count(system, Penalty, complaint_id=cid) == 1 for cid in good), "fired once"


def test_a_batch_whose_writing_fails_is_recorded_again_one_at_a_time(system, monkeypatch):
    """The batch's UPDATE of its complaints went out, then the batch failed: the savepoint undoes it, and the
    complaints, read again as stored, fire once each."""
    cids = [start(system).complaint_id for _ in range(4)]
    _past_every_due(system)
    write = timers._write_rows

    def write_then_fail(session, batch, complaints):
        write(session, batch, complaints)
        raise RuntimeError("the batch failed after writing its rows")

    monkeypatch.setattr(timers, "_write_rows", write_then_fail)
    result = timers.run_due(system.db)
    assert (result.batches, result.complaints, result.fired, result.failed) == (1, 4, 8, 0)
    monkeypatch.undo()
    assert timers.run_due(system.db).batches == 0
    for cid in cids:
        assert count(system, Penalty, complaint_id=cid) == 1
        assert count(system, AuditEvent, complaint_id=cid, kind="deadline_warning") == 1
        step(system, cid, "judge_validity")  # the stored workflow and the rows agree


def test_incidents_are_listed_and_retried_by_administrators_and_process_owners(system, monkeypatch):
    cid = start(system).complaint_id
    _past_every_due(system)
    monkeypatch.setattr(runtime, "fire_due_timers", lambda *a, **k: 1 / 0)
    for attempt in range(timers.MAX_ATTEMPTS):
        timers.run_due(system.db)
        clock.advance(timers.BACKOFF * 2 ** attempt)
    monkeypatch.undo()
    for role in ("gm", "agent1", "cs_manager"):
        with UnitOfWork(system.db, write=False) as uow, pytest.raises(Forbidden):
            incidents.incidents(uow, system.actor(role))
    with UnitOfWork(system.db, write=False) as uow:
        listed = incidents.incidents(uow, system.actor("owner"))
    assert {i.complaint_id for i in listed} == {cid} and len(listed) >= 2
    assert all(i.attempts == timers.MAX_ATTEMPTS and "ZeroDivisionError" in i.error and i.failed_at for i in listed)
    assert {i.kind for i in listed} >= {"warning", "deadline"}
    with UnitOfWork(system.db) as uow:
        for incident in listed:
            incidents.retry_incident(uow, system.actor("owner"), incident.id)
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        incidents.retry_incident(uow, system.actor("admin"), listed[0].id)
    timers.run_due(system.db)
    assert count(system, Penalty, complaint_id=cid) >= 1
    assert count(system, AuditEvent, complaint_id=cid, kind="incident_retried") == len(listed)
    with UnitOfWork(system.db, write=False) as uow:
        assert incidents.incidents(uow, system.actor("admin")) == []


def test_an_idle_worker_sleeps_until_the_next_timer_is_due(system):
    assert timer_worker._idle_wait(system.db, 2.0) == 2.0, "nothing waits: the poll interval"
    start(system)
    with UnitOfWork(system.db, write=False) as uow:
        first = uow.session.scalar(select(func.min(Timer.next_attempt_at)).where(Timer.status == "waiting"))
    clock.set_now(first - timedelta(seconds=0.5))
    assert timer_worker._idle_wait(system.db, 2.0) == pytest.approx(0.5)
    clock.set_now(first - timedelta(minutes=5))
    assert timer_worker._idle_wait(system.db, 2.0) == 2.0, "never longer than the poll interval"
    clock.set_now(first + timedelta(seconds=1))
    assert timer_worker._idle_wait(system.db, 2.0) == 0.05, "due already (held by another worker): look again soon"


def test_a_worker_process_collects_a_batchs_garbage_once_when_the_batch_ends(system, monkeypatch):
    """`complaints worker` (`timer_worker.tune_collector`): the collector waits while a batch fires and
    frees the batch's workflows (cycles of tasks and their workflow) in one young collection after it; the
    batch fires as it would otherwise, and the collector runs again after a batch that failed."""
    cids = [start(system).complaint_id for _ in range(3)]
    _past_every_due(system)
    fire_batch, during, collected = timers._fire_batch, [], []

    def watched(*args):
        during.append(gc.isenabled())
        fire_batch(*args)

    def callback(phase, info):
        if phase == "stop":
            collected.append(info)

    monkeypatch.setattr(timers, "_fire_batch", watched)
    gc.callbacks.append(callback)
    try:
        result = timers.run_due(system.db, collect_per_batch=True)
    finally:
        gc.callbacks.remove(callback)
    assert (result.batches, result.complaints, result.fired) == (1, 3, 6)
    assert during == [False] and gc.isenabled()
    assert any(info["generation"] == 0 and info["collected"] > 100 for info in collected), "the workflows freed"
    assert all(count(system, Penalty, complaint_id=cid) == 1 for cid in cids)
    monkeypatch.setattr(timers, "_claim", lambda *a: (_ for _ in ()).throw(RuntimeError("database gone")))
    with pytest.raises(RuntimeError):
        timers.run_due(system.db, collect_per_batch=True)
    assert gc.isenabled()
