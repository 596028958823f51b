"""The timer worker: fires due BPMN timers, each exactly once, with any number of workers.

Every complaint is handled in its own transaction, which starts by locking the next complaint with
a due timer (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers share the queue without waiting on
each other; SQLite serializes writers), then reads its due timers, fires them through the engine and
commits the new state, the fired timer rows and their effects together. A worker killed mid-way
commits nothing: the timers stay due and the next worker fires them. A firing that fails is retried
with backoff; after `MAX_ATTEMPTS` it becomes an incident that an administrator retries.
"""
from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine import audit, clock
from engine.complaints import deferrals, notifications, progress
from engine.config import Settings
from engine.db import Database, UnitOfWork
from engine.errors import Conflict, Forbidden, NotFound
from engine.models import Complaint, Timer
from engine.people.roles import ADMIN, SYSTEM, Actor
from engine.workflow import runtime, store
from engine.workflow.versions import load_version

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)
#: How long a timer held by a pending deferral request waits before it is looked at again.
HOLD_RECHECK = timedelta(minutes=1)
BATCH = 100
#: How many of the earliest due timers a worker looks at for a complaint no other worker holds.
CLAIM_WINDOW = 64


@dataclass
class RunResult:
    complaints: int = 0
    fired: int = 0
    failed: int = 0


def run_due(db: Database, limit: int = BATCH) -> RunResult:
    """Process up to `limit` complaints with due timers; return what happened."""
    now = clock.now()
    result = RunResult()
    failed: set[int] = set()
    for _ in range(limit):
        complaint_id = None
        try:
            with UnitOfWork(db) as uow:
                complaint = _claim_next(uow, now, failed)
                if complaint is None:
                    break
                complaint_id = complaint.id
                result.fired += _fire(uow, complaint, now)
                uow.commit()
            result.complaints += 1
        except Exception as err:  # noqa: BLE001 - any failure becomes a retry or an incident, never a crash
            if complaint_id is None:
                raise
            log.warning("firing timers of complaint %s failed: %s", complaint_id, err)
            _record_failure(db, complaint_id, now, err)
            failed.add(complaint_id)
            result.failed += 1
    return result


def _claim_next(uow: UnitOfWork, now: datetime, skip: set[int]) -> Complaint | None:
    """Lock the complaint whose timer is due first, skipping complaints other workers hold."""
    due = select(Timer.complaint_id).where(Timer.status == "waiting", Timer.next_attempt_at <= now)
    if skip:
        due = due.where(Timer.complaint_id.not_in(skip))
    first = due.order_by(Timer.next_attempt_at).limit(1).scalar_subquery()
    if uow.db.is_sqlite:  # one writer at a time: the first due complaint is free
        return uow.session.scalars(select(Complaint).where(Complaint.id == first)).one_or_none()
    # Lock a due complaint nobody holds, among the earliest few (not the whole queue, which may be long):
    # workers spread over the queue instead of queueing on one row.
    candidates = due.order_by(Timer.next_attempt_at).limit(CLAIM_WINDOW).scalar_subquery()
    return uow.session.scalars(
        select(Complaint).where(Complaint.id.in_(candidates)).order_by(Complaint.id)
        .limit(1).with_for_update(skip_locked=True)).one_or_none()


def _fire(uow: UnitOfWork, complaint: Complaint, now: datetime) -> int:
    """Fire the locked complaint's due timers; return how many fired."""
    session = uow.session
    due = list(session.scalars(select(Timer).where(
        Timer.complaint_id == complaint.id, Timer.status == "waiting", Timer.next_attempt_at <= now)))
    held_tasks = deferrals.pending_tasks(session, {t.work_task_id for t in due if t.work_task_id})
    held = {t.id for t in due if t.work_task_id in held_tasks}
    for timer in due:
        if timer.id in held:
            timer.next_attempt_at = now + HOLD_RECHECK
    if len(held) < len(due):
        version = load_version(session, complaint.version_id)
        workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs,
                                    runtime.script_engine())
        runtime.fire_due_timers(workflow, hold=held)
        progress.record(session, complaint, workflow, version, now)
    return sum(1 for t in due if t.status == "fired")


def _record_failure(db: Database, complaint_id: int, now: datetime, err: Exception) -> None:
    message = "".join(traceback.format_exception_only(type(err), err)).strip()[:2000]
    with UnitOfWork(db) as uow:
        for timer in uow.session.scalars(select(Timer).where(
                Timer.complaint_id == complaint_id, Timer.status == "waiting", Timer.next_attempt_at <= now)
                .with_for_update()):
            timer.attempts += 1
            timer.last_error = message
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status = "incident"
                audit.record(uow.session, complaint_id, SYSTEM, "timer_incident", task_name=timer.task_name,
                             data={"timer": timer.name, "error": message})
            else:
                timer.next_attempt_at = now + BACKOFF * 2 ** (timer.attempts - 1)
        uow.commit()


def incidents(uow: UnitOfWork) -> list[Timer]:
    """Timers whose firing failed after every retry, newest first."""
    return list(uow.session.scalars(select(Timer).where(Timer.status == "incident")
                                    .order_by(Timer.next_attempt_at.desc())))


def retry_incident(uow: UnitOfWork, actor: Actor, timer_id: str) -> None:
    """Put an incident back in the queue (administrators only)."""
    if actor.role != ADMIN:
        raise Forbidden("only administrators retry incidents")
    timer = uow.session.get(Timer, timer_id)
    if timer is None:
        raise NotFound(f"timer {timer_id} does not exist")
    if timer.status != "incident":
        raise Conflict(f"timer is {timer.status}, not an incident")
    uow.session.execute(update(Timer).where(Timer.id == timer_id).values(
        status="waiting", attempts=0, next_attempt_at=clock.now()))
    audit.record(uow.session, timer.complaint_id, actor, "incident_retried", data={"timer": timer.name})
    uow.commit()


def run_worker(db: Database, settings: Settings, render: notifications.Renderer, stop: threading.Event,
               poll_seconds: float = 2.0) -> None:
    """Loop until `stop` is set: fire due timers, send queued e-mail, sleep when idle."""
    while not stop.is_set():
        try:
            result = run_due(db)
            notifications.send_pending(db, settings.smtp_url, settings.mail_sender, render)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: keep the worker alive
            log.exception("timer worker pass failed")
            result = RunResult()
        if result.complaints == 0 and result.failed == 0:
            stop.wait(poll_seconds)


def start_worker_thread(db: Database, settings: Settings, render: notifications.Renderer) -> threading.Event:
    """Run the worker in a daemon thread (the embedded default); set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(db, settings, render, stop),
                              name="timer-worker", daemon=True)
    thread.start()
    return stop
