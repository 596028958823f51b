"""The timer worker: fires due BPMN timers in batches, each exactly once, with any number of workers.

One pass handles a *batch* of complaints in one transaction (see docs/PERFORMANCE.md, "Timers"):

1. **Claim.** Walk the due timers in due order (`ix_timers_due`, an index range scan) and lock their
   complaints with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so workers on any host share the queue and never
   wait on each other; SQLite has one writer at a time (`BEGIN IMMEDIATE`) and one worker.
2. **Count the attempt first.** Before anything runs, each claimed timer's `attempts` is raised and
   committed (PostgreSQL: on a second connection while the claim's locks stay held; SQLite: in its own
   transaction just before the firing one). A firing that kills the process (segfault, `kill -9`, out of
   memory) therefore still counts: the next worker finds the raised count, backs off, and after
   `MAX_ATTEMPTS` turns the timer into an incident instead of crashing on it for ever.
3. **Fire in memory.** The batch's complaints, all their timer rows, their open tasks and the users holding
   them are read at once; each complaint's workflow is loaded with its version's spec (deserialized once per
   process) and its due timers fired in memory. A model that fails here fails its complaint alone: nothing
   of it has been recorded, its failed attempt is noted and the rest of the batch goes on.
4. **Record together, commit once.** Every fired complaint is recorded through `progress.record` without a
   flush, inside one savepoint, and written by one flush (each table's rows in one executemany; the
   changed rows by `_write_rows`), then committed with the attempt notes and the outbox rows. Should
   recording fail, the savepoint is rolled back and the complaints are recorded again one savepoint each,
   so one bad complaint never takes the others' firings with it. A worker killed before the commit
   commits nothing but the attempt counts; the timers stay due and fire once.

Timers that were ever attempted without success are retried one complaint per transaction
(`ix_timers_retry`), so a complaint whose firing crashes the worker never takes a batch of good ones
down with it more than once.
"""
from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, text, update
from sqlalchemy.orm import Session

from engine import audit, bulk, clock
from engine.complaints import deferrals, holidays, notifications, progress, stored_failures
from engine.db import Database, UnitOfWork
from engine.models import Complaint, Timer, User, WorkTask
from engine.people.roles import SYSTEM
from engine.workflow import runtime
from engine.workflow.versions import LoadedVersion, load_version

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: The wait after the first failed attempt; it doubles with every further one.
BACKOFF = timedelta(seconds=30)
#: How long a timer held by a pending deferral request waits before it is looked at again.
HOLD_RECHECK = timedelta(minutes=1)
#: Due timers claimed per transaction (with their complaints' other due timers). Larger batches commit
#: less often but hold their complaints' rows longer.
BATCH = 100
#: Complaints one `run_due` call handles at most before it returns (the worker then sends e-mail).
PASS_LIMIT = 500


@dataclass
class RunResult:
    """What one `run_due` call did."""

    complaints: int = 0
    fired: int = 0
    failed: int = 0
    incidents: int = 0
    batches: int = 0


@dataclass
class _Plan:
    """The claimed batch: which timers of which complaints this attempt fires."""

    fire: dict[int, set[str]] = field(default_factory=dict)
    #: Timers whose every attempt ended with the worker gone: they become incidents.
    exhausted: list = field(default_factory=list)


def run_due(db: Database, limit: int = PASS_LIMIT, batch: int = BATCH,
            stop: threading.Event | None = None, collect_per_batch: bool = False) -> RunResult:
    """Fire due timers batch by batch until none is due, `limit` complaints were handled or `stop` is set.
    `collect_per_batch`: see `_collecting_once` (for a process that runs the worker alone)."""
    result = RunResult()
    while result.complaints + result.failed < limit and not (stop and stop.is_set()):
        now = clock.now()  # each batch fires what is due when it starts, and records that time
        with _collecting_once(collect_per_batch):
            # Timers attempted before without success go one complaint at a time, so that a complaint whose
            # firing crashes the worker only ever takes itself down.
            handled = _run_batch(db, now, 1, retry=True, result=result)
            if not handled:
                handled = _run_batch(db, now, batch, retry=False, result=result)
        if not handled:
            break
    return result


@contextmanager
def _collecting_once(pause: bool) -> Iterator[None]:
    """With `pause`, the cyclic garbage collector waits while a batch runs and collects its young objects once
    when it ends. A batch's workflows are cycles (tasks and their workflow) alive until it ends: collections
    during the batch walked them and freed next to nothing, ≈ 4 % of the worker's CPU; once the batch has
    ended they are all garbage, freed by one young collection (docs/PERFORMANCE.md, "Timers"). The setting
    is the process's: not for the web server's embedded worker thread."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _run_batch(db: Database, now: datetime, size: int, retry: bool, result: RunResult) -> bool:
    """Claim the complaints of up to `size` due timers, count the attempt, fire, commit. False when
    nothing was due."""
    if db.is_sqlite:
        with UnitOfWork(db) as uow:
            ids = _claim(uow.session, now, size, retry)
            if not ids:
                return False
            plan = _count_attempts(uow.session, ids, now)
            uow.commit()
        with UnitOfWork(db) as uow:
            _fire_batch(uow, ids, plan, now, result)
            uow.commit()
        return True
    with UnitOfWork(db) as uow:
        ids = _claim(uow.session, now, size, retry)
        if not ids:
            return False
        # The claim's row locks stay held in this transaction while the attempt is committed beside it.
        with Session(db.engine) as side:
            # Nothing there should wait on the claim's own locks; if something ever does, fail the batch
            # (its timers are retried) instead of waiting for ever on ourselves.
            side.execute(text("SET LOCAL lock_timeout = '10s'"))
            plan = _count_attempts(side, ids, now)
            side.commit()
        _fire_batch(uow, ids, plan, now, result)
        uow.commit()
    return True


def _claim(session: Session, now: datetime, size: int, retry: bool) -> list[int]:
    """Lock the complaints of the `size` earliest due timers, skipping complaints others hold."""
    postgres = session.get_bind().dialect.name != "sqlite"
    # A complaint with two due timers comes twice.
    return list(dict.fromkeys(session.scalars(_claim_query(now, size, retry, postgres))))


def _claim_query(now: datetime, size: int, retry: bool, postgres: bool) -> Select:
    """The claim: fresh timers (never attempted) are read from `ix_timers_due`, timers attempted before
    from the small partial index `ix_timers_retry`; either way an index range scan in due order that
    stops after `size` rows. On PostgreSQL each row's complaint is locked, or skipped when another worker
    holds it, so workers never wait on each other."""
    attempted = Timer.attempts > 0 if retry else Timer.attempts == 0
    query = (select(Complaint.id).join(Timer, Timer.complaint_id == Complaint.id)
             .where(Timer.status == "waiting", Timer.next_attempt_at <= now, attempted)
             .order_by(Timer.next_attempt_at).limit(size))
    return query.with_for_update(of=Complaint, skip_locked=True) if postgres else query


def _count_attempts(session: Session, ids: list[int], now: datetime) -> _Plan:
    """Raise and commit (by the caller) the attempt count of the claimed complaints' due timers.

    Timers whose earlier attempts all ended without a word (the worker died) become incidents here;
    timers held by a pending deferral request are put back without an attempt.
    """
    plan = _Plan(fire={i: set() for i in ids})
    due = session.execute(select(Timer.id, Timer.complaint_id, Timer.attempts, Timer.work_task_id, Timer.name,
                              Timer.task_name)
                       .where(Timer.complaint_id.in_(ids), Timer.status == "waiting",
                              Timer.next_attempt_at <= now)).all()
    held_tasks = deferrals.pending_tasks(session, {t.work_task_id for t in due if t.work_task_id})
    held = [t.id for t in due if t.work_task_id in held_tasks]
    if held:
        session.execute(update(Timer).where(Timer.id.in_(held)).values(next_attempt_at=now + HOLD_RECHECK))
    by_attempts: dict[int, list[str]] = {}
    for timer in due:
        if timer.work_task_id in held_tasks:
            continue
        if timer.attempts >= MAX_ATTEMPTS:
            plan.exhausted.append(timer)
            continue
        by_attempts.setdefault(timer.attempts, []).append(timer.id)
        plan.fire[timer.complaint_id].add(timer.id)
    for attempts, timer_ids in by_attempts.items():
        # Should this attempt kill the worker, the timer waits as long as after a failure it reported;
        # the first attempt does not wait (a killed or redeployed worker delays nothing).
        wait = BACKOFF * 2 ** (attempts - 1) if attempts else timedelta(0)
        values = {"attempts": attempts + 1, "last_error": stored_failures.crashed_text(attempts + 1, MAX_ATTEMPTS)}
        if wait:
            values["next_attempt_at"] = now + wait
        session.execute(update(Timer).where(Timer.id.in_(timer_ids)).values(**values))
    return plan


def _crashed_into_incident(session: Session, timer) -> None:
    """Every attempt of `timer` ended with the worker gone: stop trying, tell the people who fix it.

    Done in the claiming transaction, not beside it: the audit row's foreign key would wait for the
    complaint's row lock, which the claiming transaction holds."""
    message = stored_failures.crashed_text(timer.attempts, MAX_ATTEMPTS)
    session.execute(update(Timer).where(Timer.id == timer.id).values(status="incident", last_error=message))
    audit.record(session, timer.complaint_id, SYSTEM, "timer_incident", task_name=timer.task_name,
                 data={"timer": timer.name, "error": message})


@dataclass
class _Batch:
    """What firing a batch needs, read once for all its complaints."""

    complaints: list[Complaint]
    timers: dict[int, list[Timer]]
    open_tasks: dict[int, list[WorkTask]]
    #: The users holding the open tasks: kept referenced so that the session's identity map answers for them.
    holders: list[User]

    def loaded(self, complaint_id: int) -> progress.Loaded:
        return progress.Loaded(self.open_tasks[complaint_id], self.timers[complaint_id])


@dataclass
class _Fired:
    """A complaint whose due timers fired in memory, waiting to be recorded."""

    complaint: Complaint
    workflow: Any
    version: LoadedVersion
    fire: set[str]
    hold: set[str]
    #: The open tasks the firing left the workflow at.
    found: runtime.OpenTasks


def _read_batch(session: Session, ids: list[int]) -> _Batch:
    complaints = list(session.scalars(select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id)))
    batch = _Batch(complaints, {c.id: [] for c in complaints}, {c.id: [] for c in complaints}, [])
    for timer in session.scalars(select(Timer).where(Timer.complaint_id.in_(ids))):
        batch.timers[timer.complaint_id].append(timer)
    for task in session.scalars(select(WorkTask).where(WorkTask.complaint_id.in_(ids), WorkTask.status == "open")):
        batch.open_tasks[task.complaint_id].append(task)
    assignees = {t.assignee_id for tasks in batch.open_tasks.values() for t in tasks if t.assignee_id}
    if assignees:
        batch.holders = list(session.scalars(select(User).where(User.id.in_(assignees))))
    return batch


def _fire_batch(uow: UnitOfWork, ids: list[int], plan: _Plan, now: datetime,
                result: RunResult) -> None:
    """Fire the batch's complaints, record them with one flush, note failures without stopping.

    First every complaint's workflow is loaded and its timers fired in memory (a failing model script fails
    that complaint alone: nothing of it was written); then all of them are recorded in one savepoint and
    written by one flush (each table's rows in one executemany). Should recording fail, the savepoint is
    rolled back and the complaints are recorded again one savepoint each, so one bad complaint never takes
    the others' firings with it."""
    session = uow.session
    result.batches += 1
    for timer in plan.exhausted:
        _crashed_into_incident(session, timer)
    result.incidents += len(plan.exhausted)
    batch = _read_batch(session, ids)
    holidays.install(session)  # deadlines the steps set count the administrator's calendar: read once a batch
    fired: list[_Fired] = []
    failed: list[tuple[int, set[str], Exception]] = []
    versions: dict[int, LoadedVersion] = {}
    engine = runtime.script_engine()  # one for the batch: building one per complaint was ≈ 2 % of its CPU
    for complaint in batch.complaints:
        pending = {t.id for t in batch.timers[complaint.id] if t.status in ("waiting", "incident")}
        fire = {t.id for t in batch.timers[complaint.id]
                if t.id in plan.fire.get(complaint.id, ()) and t.status == "waiting"}
        if not fire:
            continue
        try:
            if complaint.version_id not in versions:
                versions[complaint.version_id] = load_version(session, complaint.version_id)
            version = versions[complaint.version_id]
            workflow = progress.load_workflow(complaint, version, engine)
            found = runtime.fire_due_timers(workflow, hold=pending - fire)
        except Exception as err:  # noqa: BLE001 - any failure becomes a retry or an incident, never a crash
            failed.append((complaint.id, fire, err))
            continue
        fired.append(_Fired(complaint, workflow, version, fire, pending - fire, found))
    outbox: list[dict] = []
    try:
        _record_together(session, batch, fired, now, outbox)
        result.complaints += len(fired)
        result.fired += sum(_count_fired(session, f.fire) for f in fired)
    except Exception:  # noqa: BLE001 - e.g. a constraint one complaint's rows break: isolate it
        log.exception("recording %d fired complaints together failed: recording them one at a time", len(fired))
        outbox.clear()
        # As stored: the rollback undid their UPDATEs, which the session does not know (`bulk.write_changed`).
        for row in [*batch.complaints, *(t for ts in batch.timers.values() for t in ts),
                    *(t for ts in batch.open_tasks.values() for t in ts)]:
            session.expire(row)
        for item in fired:
            queued: list[dict] = []
            session.info[notifications.OUTBOX_BUFFER] = queued
            try:
                with session.begin_nested():
                    count = fire_complaint(session, item.complaint, item.fire, item.hold, now)
            except Exception as err:  # noqa: BLE001
                failed.append((item.complaint.id, item.fire, err))
                continue
            finally:
                session.info.pop(notifications.OUTBOX_BUFFER, None)
            outbox.extend(queued)
            result.complaints += 1
            result.fired += count
    for complaint_id, fire, error in failed:
        log.warning("firing timers of complaint %s failed: %s", complaint_id, error)
        result.incidents += _record_failure(session, complaint_id, fire, now, error)
        result.failed += 1
    notifications.insert_rows(session, outbox)
    del batch


def _record_together(session: Session, batch: _Batch, fired: list[_Fired], now: datetime,
                     outbox: list[dict]) -> None:
    """Record every fired complaint of the batch in one savepoint: new audit and penalty rows inserted and
    changed rows updated with one executemany each (`engine.bulk`), the rest (new timer and task rows) by
    one flush."""
    session.info[notifications.OUTBOX_BUFFER] = outbox
    try:
        with session.begin_nested(), session.no_autoflush, bulk.collecting(session):
            for item in fired:
                for timer_id in item.fire:  # cleared in the same UPDATE that marks them fired
                    session.get_one(Timer, timer_id).last_error = None
                progress.record(session, item.complaint, item.workflow, item.version, now,
                                loaded=batch.loaded(item.complaint.id), flush=False, found=item.found)
            _write_rows(session, batch, [item.complaint for item in fired])
            session.flush()
    finally:
        session.info.pop(notifications.OUTBOX_BUFFER, None)


def _write_rows(session: Session, batch: _Batch, complaints: list[Complaint]) -> None:
    """Write what recording the batch added and changed: the collected audit and penalty rows, and the
    changed complaint, timer and task rows (the ORM would send one UPDATE per complaint, as it checks
    `lock_version` row by row; the batch holds every one of them locked, so nobody changed them meanwhile)."""
    bulk.insert_collected(session)
    bulk.write_changed(session, Complaint, complaints)
    bulk.write_changed(session, Timer, (t for timers in batch.timers.values() for t in timers))
    bulk.write_changed(session, WorkTask, (t for tasks in batch.open_tasks.values() for t in tasks))


def _count_fired(session: Session, fire: set[str]) -> int:
    return sum(1 for timer_id in fire if session.get_one(Timer, timer_id).status == "fired")


def fire_complaint(session: Session, complaint: Complaint, fire: set[str], hold: set[str],
                   now: datetime) -> int:
    """Fire the timers `fire` of a locked complaint (never those in `hold`) and record what follows;
    return how many fired. Runs in the caller's transaction (the worker gives each complaint a savepoint
    when a batch could not be recorded together)."""
    for timer_id in fire:  # cleared in the same UPDATE that marks them fired (rolled back if this fails)
        session.get_one(Timer, timer_id).last_error = None
    with progress.locked_case(session, complaint, now) as case:
        runtime.fire_due_timers(case.workflow, hold=hold)
    return _count_fired(session, fire)


def _failure_text(err: Exception) -> str:
    """What the incident list shows: the failure's code, params and technical detail as JSON, worded there in
    the reader's language (`stored_failures`; docs/MODELLING.md, "When a model fails while it runs")."""
    return stored_failures.failure_text(err)


def _record_failure(session: Session, complaint_id: int, fire: set[str], now: datetime, err: Exception) -> int:
    """Note a failed attempt on each timer (its attempt is already counted); return how many became incidents."""
    message = _failure_text(err)
    became = 0
    for timer in session.scalars(select(Timer).where(Timer.id.in_(fire))):
        timer.last_error = message
        if timer.attempts >= MAX_ATTEMPTS:
            timer.status = "incident"
            became += 1
            audit.record(session, complaint_id, SYSTEM, "timer_incident", task_name=timer.task_name,
                         data={"timer": timer.name, "error": message})
        else:
            timer.next_attempt_at = now + BACKOFF * 2 ** (timer.attempts - 1)
    session.flush()
    return became
