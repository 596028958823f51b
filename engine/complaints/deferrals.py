"""Deferral requests (投诉延期处理申请): when the customer cannot be reached, the agent asks the
general manager to move a task's deadline. Approved: the deadline (and its warning) move, no breach.
Rejected: the deadline stays. While a request waits, its task's timers are held back."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import deadlines, notifications, progress, worklist
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, Deferral, Timer, User, WorkTask
from engine.people.roles import GENERAL_MANAGER, Actor
from engine.workflow import runtime, store
from engine.workflow.versions import load_version
from forms.validate import text_errors

MAX_DEFERRAL = timedelta(days=14)


def pending_tasks(session: Session, work_task_ids: set[str]) -> set[str]:
    """Which of these tasks have a deferral request waiting for a decision."""
    if not work_task_ids:
        return set()
    return set(session.scalars(select(Deferral.work_task_id).where(
        Deferral.work_task_id.in_(list(work_task_ids)), Deferral.status == "pending")))


def request_deferral(uow: UnitOfWork, actor: Actor, task_id: str, reason: str, until: datetime) -> int:
    """File a request to move the deadline of an open task to `until`."""
    session = uow.session
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    if not worklist.can_work(actor, row):
        raise Forbidden("only who holds the task can ask to defer it")
    if row.status != "open":
        raise Conflict(f"this task was already {row.status}")
    now = clock.now()
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["say why the customer cannot be reached"]
    elif problems := text_errors(reason):
        errors["reason"] = problems
    if until.tzinfo is None:
        errors["until"] = ["give a time zone"]
    elif not now < until <= now + MAX_DEFERRAL:
        errors["until"] = [f"must be in the future and within {MAX_DEFERRAL.days} days"]
    deadline = _deadline_timer(session, task_id)
    if deadline is None:
        errors["task"] = ["this task has no running deadline"]
    elif "until" not in errors and until <= deadline.due_at:
        errors["until"] = ["must be later than the current deadline"]
    if errors:
        raise InvalidInput(errors)
    if pending_tasks(session, {task_id}):
        raise Conflict("a deferral request for this task is already waiting for a decision")
    deferral = Deferral(complaint_id=row.complaint_id, work_task_id=task_id, requested_by_id=actor.id,
                        reason=reason, requested_until=until, status="pending", created_at=now)
    session.add(deferral)
    session.flush()
    audit.record(session, row.complaint_id, actor, "deferral_requested", task_id=task_id, task_name=row.name,
                 data={"reason": deferral.reason, "until": until.isoformat(),
                       "deadline": deadline.due_at.isoformat()})
    complaint = session.get(Complaint, row.complaint_id)
    notifications.notify(session, notifications.users_for(session, GENERAL_MANAGER), "deferral_requested",
                         str(deferral.id), dict(deadlines.task_params(complaint, row), requester=actor.username,
                                                until=until.isoformat(), reason=deferral.reason), complaint.id)
    uow.commit()
    return deferral.id


def decide_deferral(uow: UnitOfWork, actor: Actor, deferral_id: int, approve: bool, note: str = "") -> None:
    """The general manager approves (the deadline moves) or rejects (it stays) a pending request."""
    if actor.role != GENERAL_MANAGER:
        raise Forbidden("only the general manager decides deferral requests")
    if problems := text_errors(note or "", required=False):
        raise InvalidInput({"note": problems})
    session = uow.session
    deferral = session.get(Deferral, deferral_id)
    if deferral is None:
        raise NotFound(f"deferral request {deferral_id} does not exist")
    complaint = session.scalars(select(Complaint).where(Complaint.id == deferral.complaint_id)
                                .with_for_update().execution_options(populate_existing=True)).one()
    session.refresh(deferral)
    if deferral.status != "pending":
        raise Conflict(f"this request was already {deferral.status}")
    now = clock.now()
    deferral.status = "approved" if approve else "rejected"
    deferral.decided_by_id, deferral.decided_at, deferral.decision_note = actor.id, now, note or None
    moved_to = None
    if approve:
        moved_to = _move_deadline(session, complaint, deferral, now)
    audit.record(session, complaint.id, actor, f"deferral_{deferral.status}", task_id=deferral.work_task_id,
                 data={"until": deferral.requested_until.isoformat(), "note": note,
                       "deadline": moved_to.isoformat() if moved_to else None})
    requester = session.get(User, deferral.requested_by_id)
    work = session.get(WorkTask, deferral.work_task_id)
    notifications.notify(session, [requester] if requester else [], f"deferral_{deferral.status}", str(deferral.id),
                         dict(deadlines.task_params(complaint, work), until=deferral.requested_until.isoformat(),
                              note=note or ""), complaint.id)
    uow.commit()


def _move_deadline(session: Session, complaint: Complaint, deferral: Deferral, now: datetime) -> datetime | None:
    """Shift the task's waiting deadline and warning timers so the deadline lands on the requested time."""
    deadline = _deadline_timer(session, deferral.work_task_id)
    if deadline is None:  # the task finished or the timer fired meanwhile: nothing left to move
        return None
    delta = deferral.requested_until - deadline.due_at
    version = load_version(session, complaint.version_id)
    workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs, runtime.script_engine())
    for timer in session.scalars(select(Timer).where(
            Timer.work_task_id == deferral.work_task_id, Timer.status == "waiting",
            Timer.kind.in_(("warning", "deadline")))):
        runtime.move_timer(workflow, timer.id, delta)
    progress.record(session, complaint, workflow, version, now)
    return deferral.requested_until


def _deadline_timer(session: Session, task_id: str) -> Timer | None:
    return session.scalar(select(Timer).where(
        Timer.work_task_id == task_id, Timer.kind == "deadline", Timer.status == "waiting"))


def visible_deferrals(uow: UnitOfWork, actor: Actor, status: str | None = "pending",
                      complaint_id: int | None = None) -> list[dict]:
    """The requests the actor may see: all for the general manager, who decides them; one's own for others."""
    mine = None if actor.role == GENERAL_MANAGER else actor.id
    return list_deferrals(uow, status, complaint_id, requested_by_id=mine)


def list_deferrals(uow: UnitOfWork, status: str | None = "pending", complaint_id: int | None = None,
                   requested_by_id: int | None = None) -> list[dict]:
    """Deferral requests as plain data (pending ones first in line for the general manager)."""
    query = (select(Deferral, WorkTask, Complaint, User.username)
             .join(WorkTask, WorkTask.id == Deferral.work_task_id)
             .join(Complaint, Complaint.id == Deferral.complaint_id)
             .join(User, User.id == Deferral.requested_by_id).order_by(Deferral.created_at))
    if status:
        query = query.where(Deferral.status == status)
    if complaint_id is not None:
        query = query.where(Deferral.complaint_id == complaint_id)
    if requested_by_id is not None:
        query = query.where(Deferral.requested_by_id == requested_by_id)
    return [{"id": d.id, "complaint_id": c.id, "reference": c.reference, "task": w.name, "title": w.title,
             "title_en": w.title_en, "requested_by": username, "reason": d.reason,
             "until": d.requested_until, "status": d.status, "created_at": d.created_at,
             "decided_at": d.decided_at, "note": d.decision_note}
            for d, w, c, username in uow.session.execute(query).all()]
