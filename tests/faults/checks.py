"""What the kill tests check once the killing is over, against the database: the due timers drained, no row
left locked and no session left behind, every acknowledged operation stored exactly once and nothing else, the
audit trail matching the stored state, no timer fired twice or lost; and the figures they print (`-s`)."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select, text

from engine.complaints import stored_failures
from engine.complaints import timers as timers_module
from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, IdempotencyRecord, Penalty, Timer, User, WorkTask
from engine.workflow import runtime, store
from engine.workflow.functions import is_no_deadline
from engine.workflow.versions import load_version
from tests.faults.cluster import POLL, Cluster
from tests.faults.staff import Ledger
from web.api.complaints import SCOPE as CREATE_SCOPE


def scalar(system, query):
    """One value read from the test's database."""
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(query)


def fired(system) -> int:
    """How many timers have fired."""
    return scalar(system, select(func.count()).select_from(Timer).where(Timer.status == "fired"))


def drain(system, cluster: Cluster, clock_now: datetime, limit: float = 90) -> None:
    """Let the surviving timer workers fire every timer that is due on their clock."""
    due = select(func.count()).select_from(Timer).where(Timer.status == "waiting", Timer.due_at <= clock_now)
    deadline = time.monotonic() + limit
    while scalar(system, due):
        cluster.check_alive()
        assert time.monotonic() < deadline, "due timers were not fired"
        time.sleep(POLL)


def check_no_locks(system, cluster: Cluster) -> None:
    """With the servers still up and idle: every complaint row can be locked at once, and no server
    session sits in an open transaction or waits for a lock."""
    with system.db.engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '2s'"))
        total = conn.scalar(select(func.count()).select_from(Complaint))
        locked = conn.scalar(select(func.count()).select_from(
            select(Complaint.id).with_for_update(nowait=True).subquery()))
        assert locked == total, f"{total - locked} complaint row(s) are locked"
        conn.rollback()
        stuck = conn.execute(text(
            "SELECT application_name, state, query FROM pg_stat_activity WHERE application_name LIKE :prefix "
            "AND (state LIKE 'idle in transaction%' OR wait_event_type = 'Lock') "
            "AND state_change < now() - interval '5 seconds'"), {"prefix": cluster.application_name + "%"}).all()
        assert not stuck, f"server sessions stuck in a transaction: {stuck}"


def wait_sessions_gone(system, cluster: Cluster, limit: float = 20) -> None:
    """Once the processes are gone, so are their database sessions (a killed one holds nothing)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :prefix")
    deadline = time.monotonic() + limit
    while True:
        with system.db.engine.connect() as conn:
            left = conn.scalar(query, {"prefix": cluster.application_name + "%"})
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} database session(s) outlived their process"
        time.sleep(POLL)


def check_acknowledged(system, ledger: Ledger, recorded_before: frozenset[int] = frozenset()) -> None:
    """Each acknowledged creation exists exactly once; each acknowledged completion is stored with its audit
    event; nothing was stored that no client was told about (besides the complaints `recorded_before`)."""
    with UnitOfWork(system.db, write=False) as uow:
        session = uow.session
        complaint_ids = set(session.scalars(select(Complaint.id))) - recorded_before
        users = dict(session.execute(select(User.username, User.id)).all())
        records = {(r.user_id, r.key): r for r in session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == CREATE_SCOPE))}
        completed = set(session.scalars(select(WorkTask.id).where(WorkTask.status == "completed")))
        completion_events = Counter(session.scalars(select(AuditEvent.task_id).where(
            AuditEvent.kind == "task_completed")))
    told = {complaint_id for complaint_id, _user in ledger.created.values()}
    assert len(told) == len(ledger.created), "two keys were answered with the same complaint"
    assert complaint_ids == told, (f"stored but never acknowledged: {sorted(complaint_ids - told)}; "
                                   f"acknowledged but missing: {sorted(told - complaint_ids)}")
    for key, (complaint_id, username) in ledger.created.items():
        record = records.pop((users[username], key), None)
        assert record is not None, f"no idempotency record for {key}"
        assert record.result["result"]["complaint_id"] == complaint_id
    assert not records, f"idempotency records of unacknowledged requests: {list(records)}"
    reported = ledger.acknowledged | ledger.confirmed
    assert reported <= completed, f"acknowledged but not stored: {sorted(reported - completed)}"
    assert completed <= reported, f"stored but never acknowledged: {sorted(completed - reported)}"
    assert all(completion_events[task_id] == 1 for task_id in completed)
    assert sum(completion_events.values()) == len(completed)


def check_audit_matches_state(system, clock_now: datetime) -> Counter:
    """Task table, timer table, penalty ledger and audit trail agree with each other and with every stored
    workflow; no timer fired twice or was lost. Returns the timers by status and kind."""
    with UnitOfWork(system.db, write=False) as uow:
        session = uow.session
        complaints = list(session.scalars(select(Complaint)))
        tasks = list(session.scalars(select(WorkTask)))
        timers = list(session.scalars(select(Timer)))
        penalties = Counter(session.scalars(select(Penalty.timer_id)))
        events = session.execute(select(AuditEvent.kind, AuditEvent.complaint_id, AuditEvent.task_id)
                                 .where(AuditEvent.complaint_id.is_not(None))).all()
        ready: dict[int, set[str]] = {}
        waiting: dict[int, set[str]] = {}
        for complaint in complaints:
            version = load_version(session, complaint.version_id)
            workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs,
                                        runtime.script_engine())
            ready[complaint.id] = {str(t.id) for t in runtime.ready_user_tasks(workflow)}
            # A limit that does not apply waits for `no_deadline()` and has no row.
            waiting[complaint.id] = {t.task_id for t in runtime.waiting_timers(workflow)
                                     if not is_no_deadline(t.due_at)}
    by_task = Counter((kind, task_id) for kind, _complaint, task_id in events)
    by_complaint = Counter((kind, complaint_id) for kind, complaint_id, _task in events)
    assert {task_id for _kind, _c, task_id in events if task_id} <= {t.id for t in tasks}, "events of no task"

    for complaint in complaints:
        assert by_complaint[("complaint_started", complaint.id)] == 1, complaint.id
        assert by_complaint[("complaint_closed", complaint.id)] == (complaint.status == "closed"), complaint.id
        open_rows = {t.id for t in tasks if t.complaint_id == complaint.id and t.status == "open"}
        assert open_rows == ready[complaint.id], f"complaint {complaint.id}: task table ≠ workflow"
        waiting_rows = {t.id for t in timers if t.complaint_id == complaint.id and t.status == "waiting"}
        assert waiting_rows == waiting[complaint.id], f"complaint {complaint.id}: timer table ≠ workflow"
    for task in tasks:
        assert by_task[("task_opened", task.id)] == 1, task.id
        assert by_task[("task_completed", task.id)] == (task.status == "completed"), task.id
        assert by_task[("task_cancelled", task.id)] == (task.status == "cancelled"), task.id
        assert by_task[("task_escalated", task.id)] == (task.escalated_to is not None), task.id

    fired = [t for t in timers if t.status == "fired"]
    # A task may carry two limits of one kind (analyse_and_propose: the first phone contact and the agreement,
    # docs/data-dictionary.md), so "fired twice" is one boundary event of one task fired twice, not two
    # deadlines of one task; each fired deadline or warning still has exactly one effect on its task.
    fired_per_element = Counter((t.work_task_id, t.name) for t in fired)
    fired_deadlines = Counter(t.work_task_id for t in fired if t.kind == "deadline")
    fired_warnings = Counter(t.work_task_id for t in fired if t.kind == "warning")
    assert set(penalties) == {t.id for t in fired if t.kind == "deadline"}, "penalties ≠ breached deadlines"
    assert max(penalties.values(), default=0) <= 1, "a deadline was penalised twice"
    twice = [key for key, n in fired_per_element.items() if n > 1]
    assert not twice, f"timers fired twice (task, element): {twice}"
    for task in tasks:  # each firing has its one effect, never two
        assert by_task[("deadline_breached", task.id)] == fired_deadlines[task.id], task.id
        assert by_task[("deadline_warning", task.id)] == fired_warnings[task.id], task.id
    lost = [t.id for t in timers if t.status == "waiting" and t.due_at <= clock_now]
    assert not lost, f"due timers never fired: {lost}"
    # The worker counts each attempt before it fires (engine/complaints/timers.py), so a fired timer has
    # attempts ≥ 1, and a kill mid-firing leaves its note (TIMER_CRASHED) on a timer that a later attempt fires
    # (which clears it) or that the staff's completion cancels. A failure is any other note, or an incident.
    crashed = {n: stored_failures.crashed_text(n, timers_module.MAX_ATTEMPTS)
               for n in range(1, timers_module.MAX_ATTEMPTS + 1)}
    failed = [(t.id, t.status, t.last_error) for t in timers
              if t.status == "incident" or (t.last_error and t.last_error != crashed.get(t.attempts))]
    assert not failed, f"timer firings failed: {failed}"
    assert not [t.id for t in fired if t.last_error], "a fired timer kept its attempt's note"
    assert not any(kind == "timer_incident" for kind, _c, _t in events)
    return Counter(f"timers {t.status} ({t.kind})" for t in timers) + Counter(
        f"timers fired at attempt {t.attempts}" for t in fired)


def report(title: str, kills: Counter, ledger: Ledger, timers: Counter, fired_under_load: int,
           total_fired: int, seconds: dict[str, float], backlog: int = 0) -> None:
    """Print what happened (run with `-s` to see it); `seconds`: how long each phase took."""
    figures = {
        **{f"kills: {kind}": n for kind, n in sorted(kills.items())},
        **({"complaints recorded before the load (timer backlog)": backlog} if backlog else {}),
        "complaints acknowledged": len(ledger.created),
        "completions acknowledged (200)": len(ledger.acknowledged),
        "completions confirmed by reading again (answer lost)": len(ledger.confirmed),
        **dict(sorted(ledger.counts.items())),
        "timers fired under load": fired_under_load,
        "timers fired after the load (drain)": total_fired - fired_under_load,
        **dict(sorted(timers.items())),
        **{f"seconds: {phase}": round(took, 1) for phase, took in seconds.items()},
    }
    print(f"\n{title}:\n" + "\n".join(f"  {name}: {value}" for name, value in figures.items()))
