"""Timer workers as real processes, firing in batches: two workers fire 1,000 due timers exactly once;
workers killed with SIGKILL in the middle of batches lose nothing and double nothing; a timer whose firing
kills the worker every time counts its attempts, backs off and becomes an incident instead of a crash loop."""
from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine import clock
from engine.complaints import incidents, progress, stored_failures, timers
from engine.db import UnitOfWork
from engine.errors import Code
from engine.models import AuditEvent, Complaint, Penalty, Timer
from engine.workflow import runtime
from engine.workflow.functions import is_no_deadline
from engine.workflow.versions import load_version
from tests.backlog import start_many
from tests.lifecycle import start
from tests.plans import many_rows, plan
from tests.workers import prestarted

COMPLAINTS = 500  # two timers each (warning + deadline of the first response) = 1,000 timers

pytestmark = pytest.mark.slow  # real worker processes

#: Makes a worker's firing of one complaint (customer "POISON") kill its own process, as a segfaulting script
#: would: the fault is injected here, the worker code under test is the real one. The workers are started as
#: forks of a process that has imported their code (tests/workers/prestarted.py): a start costs no imports.
POISON = """
import os, signal
from engine.workflow import runtime
fire = runtime.fire_due_timers
def poisoned(workflow, hold=frozenset()):
    if runtime.current_data(workflow).get("customer_name") == "POISON":
        os.kill(os.getpid(), signal.SIGKILL)
    return fire(workflow, hold)
runtime.fire_due_timers = poisoned
"""


def _seed(system, count=COMPLAINTS):
    start_many(system, count)
    return _after_every_due(system).isoformat()


def _after_every_due(system):
    """A worker clock just past every waiting timer's due time."""
    with UnitOfWork(system.db, write=False) as uow:
        latest = uow.session.scalar(select(func.max(Timer.due_at)).where(Timer.status == "waiting"))
    return latest + timedelta(seconds=1)


def _later(now: str, hours: int) -> str:
    return (datetime.fromisoformat(now) + timedelta(hours=hours)).isoformat()


def _env(database_url, now):
    return dict(os.environ, DATABASE_URL=database_url, COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now)


def _worker(database_url, now, logs: Path) -> prestarted.Command:
    log = logs / f"worker{len(list(logs.glob('worker*.log')))}.log"
    log.touch()
    return prestarted.Command(["worker", "--poll", "0.1"], _env(database_url, now), log)


def _output(proc: prestarted.Command) -> str:
    return proc.log.read_text(errors="replace")


def _poisoned_worker(database_url, now: str, log: Path) -> tuple[int, str]:
    """`complaints worker --once` with the poison injected: its exit status and output."""
    return prestarted.run(["worker", "--once"], _env(database_url, now), log, prelude=POISON)


def _count(system, query):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(query)


def _fired(system):
    return _count(system, select(func.count()).select_from(Timer).where(Timer.status == "fired"))


def _waiting(system):
    return _count(system, select(func.count()).select_from(Timer).where(Timer.status == "waiting"))


def _wait_until_all_fired(system, procs, total, limit=300):
    deadline = time.monotonic() + limit
    while _fired(system) < total:
        assert time.monotonic() < deadline, f"only {_fired(system)} fired"
        for p in procs:
            assert p.poll() is None, _output(p)
        time.sleep(0.05)


def _stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


def _check_exactly_once(system, total):
    def kind(name):
        return _count(system, select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == name))

    assert _fired(system) == total
    assert _count(system, select(func.count()).select_from(Timer).where(Timer.status != "fired")) == 0
    assert _count(system, select(func.count()).select_from(Penalty)) == COMPLAINTS
    assert kind("deadline_warning") == COMPLAINTS
    assert kind("deadline_breached") == COMPLAINTS
    assert kind("task_escalated") == COMPLAINTS
    assert kind("timer_incident") == 0
    # The batch writes its complaints' workflow states apart from their rows (one executemany): every stored
    # state has fired what the rows say fired, so no timer that can fire waits in it any more (a limit that
    # does not apply waits for `no_deadline()`, and has no row).
    with UnitOfWork(system.db, write=False) as uow:
        for complaint in uow.session.scalars(select(Complaint)):
            version = load_version(uow.session, complaint.version_id)
            waiting = runtime.waiting_timers(progress.load_workflow(complaint, version))
            assert [t for t in waiting if not is_no_deadline(t.due_at)] == [], complaint.id
    if system.db.engine.dialect.name == "postgresql":  # no complaint row is left locked
        with system.db.engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))
            locked = conn.execute(select(func.count()).select_from(
                select(Complaint.id).with_for_update(nowait=True).subquery())).scalar()
            assert locked == COMPLAINTS


def test_two_workers_fire_each_timer_exactly_once(system, database_url, tmp_path):
    now = _seed(system)
    total = _waiting(system)
    procs = [_worker(database_url, now, tmp_path) for _ in range(2)]
    try:
        _wait_until_all_fired(system, procs, total)
    finally:
        _stop(procs)
    _check_exactly_once(system, total)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(system, database_url, tmp_path):
    now = _seed(system)
    total = _waiting(system)
    victim = _worker(database_url, now, tmp_path)
    while _fired(system) < 100:
        assert victim.poll() is None, _output(victim)
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert _fired(system) < total, "the kill came too late to be mid-batch"
    survivor = _worker(database_url, _later(now, hours=1), tmp_path)  # restarted a while later, as time goes on
    try:
        _wait_until_all_fired(system, [survivor], total)
    finally:
        _stop([survivor])
    _check_exactly_once(system, total)


@pytest.mark.faults
def test_workers_killed_again_and_again_while_others_fire_lose_and_double_nothing(system, database_url, tmp_path):
    """Two workers share the queue; one of them is killed with SIGKILL at five moments and restarted each time."""
    now = _seed(system)
    total = _waiting(system)
    steady = _worker(database_url, now, tmp_path)
    victim = _worker(database_url, now, tmp_path)
    kills = 0
    try:
        for share in (0.1, 0.25, 0.4, 0.55, 0.7):
            while _fired(system) < total * share:
                assert steady.poll() is None, _output(steady)
                time.sleep(0.01)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            kills += 1
            # Restarted later each time: a timer whose retry was cut short waits out its backoff first.
            victim = _worker(database_url, _later(now, hours=kills), tmp_path)
        _wait_until_all_fired(system, [steady, victim], total)
    finally:
        _stop([steady, victim])
    assert kills == 5
    _check_exactly_once(system, total)
    # Each kill cost the timers it cut short an attempt, never all of them (none became an incident).
    assert _count(system, select(func.max(Timer.attempts))) < timers.MAX_ATTEMPTS


@pytest.mark.faults
def test_a_timer_that_kills_its_worker_becomes_an_incident_instead_of_a_crash_loop(system, database_url, tmp_path):
    poison = start(system, customer_name="POISON").complaint_id
    good = [start(system).complaint_id for _ in range(20)]
    good_timers = _count(system, select(func.count()).select_from(Timer).where(
        Timer.status == "waiting", Timer.complaint_id.in_(good)))
    due = _after_every_due(system)
    crashes = 0
    # Each round is a worker restarted (as systemd would) a little later than the last one's backoff.
    for round_ in range(1, 12):
        now = (due + timedelta(hours=round_)).isoformat()
        code, output = _poisoned_worker(database_url, now, tmp_path / f"round{round_}.log")
        if code == -signal.SIGKILL:
            crashes += 1
            continue
        assert code == 0, output
        if _waiting(system) == 0:
            break
    assert crashes == timers.MAX_ATTEMPTS, "each attempt was counted before it ran, so the loop ends"
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(Timer).where(Timer.complaint_id == poison,
                                                           Timer.status != "cancelled")))
        failed = incidents.incidents(uow, system.actor("admin"))
    assert {r.status for r in rows} == {"incident"}
    assert {r.attempts for r in rows} == {timers.MAX_ATTEMPTS}
    assert {stored_failures.read_failure(r.last_error).code for r in rows} == {Code.TIMER_CRASHED}
    assert {i.complaint_id for i in failed} == {poison}
    assert all(i.failed_at is not None and i.element for i in failed)
    # The good complaints were fired, once each, despite sharing the first batch with the poisoned one.
    assert _count(system, select(func.count()).select_from(Timer).where(
        Timer.complaint_id.in_(good), Timer.status == "fired")) == good_timers
    assert _count(system, select(func.count()).select_from(Penalty)) == len(good)
    # A worker started now fires nothing, crashes on nothing and stays up.
    code, output = _poisoned_worker(database_url, (due + timedelta(days=1)).isoformat(), tmp_path / "after.log")
    assert code == 0 and "fired 0 timer(s)" in output


def test_the_claim_reads_an_index_range_at_scale(system):
    """200,000 timer rows, 50 due: the claim walks an index in due order and stops (PostgreSQL's plan)."""
    many_rows(system, "INSERT INTO timers (id, complaint_id, name, kind, due_at, next_attempt_at, status, attempts) "
              "SELECT 'bulk-' || g, :cid, 'judge_validity_deadline', 'deadline', now() - interval '1 year', "
              "now() - interval '1 year', CASE WHEN g % 4000 = 0 THEN 'waiting' ELSE 'fired' END, "
              "CASE WHEN g % 8000 = 0 THEN 1 ELSE 0 END FROM generate_series(1, 200000) g", "ANALYZE timers")
    clock.advance(timedelta(days=1))
    for retry in (False, True):
        compiled = timers._claim_query(clock.now(), timers.BATCH, retry, postgres=True).compile(system.db.engine)
        with system.db.engine.connect() as conn:
            shown = plan(conn, str(compiled), compiled.params)
        assert "Seq Scan on timers" not in shown, shown
        assert ("ix_timers_retry" if retry else "ix_timers_due") in shown, shown
