"""Deferral requests (投诉延期处理申请): when the customer cannot be reached, the agent asks the
general manager to move a task's deadline. Approved: the deadline (and its warning) move, no breach.
Rejected: the deadline stays. While a request waits, its task's timers are held back."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import deadlines, notifications, progress, worklist
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, Deferral, Timer, User, WorkTask
from engine.people.access import check_can_decide_deferrals, may_decide_deferrals, visible
from engine.people.roles import GENERAL_MANAGER, Actor
from engine.workflow import runtime
from forms.errors import error
from forms.validate import text_errors

MAX_DEFERRAL = timedelta(days=14)


def pending_tasks(session: Session, work_task_ids: set[str]) -> set[str]:
    """Which of these tasks have a deferral request waiting for a decision."""
    if not work_task_ids:
        return set()
    return set(session.scalars(select(Deferral.work_task_id).where(
        Deferral.work_task_id.in_(list(work_task_ids)), Deferral.status == "pending")))


@use_case
def request_deferral(uow: UnitOfWork, actor: Actor, task_id: str, reason: str, until: datetime) -> int:
    """File a request to move the deadline of an open task to `until`."""
    session = uow.session
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(Code.TASK_NOT_FOUND, task=task_id)
    if not worklist.can_work(actor, row):
        raise Forbidden(Code.DEFER_NOT_HOLDER)
    if row.status != "open":
        raise Conflict(Code.TASK_ALREADY, status=row.status)
    now = clock.now()
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [error(Code.DEFER_REASON_REQUIRED)]
    elif problems := text_errors(reason):
        errors["reason"] = problems
    if until.tzinfo is None:
        errors["until"] = [error(Code.NEEDS_TIME_ZONE)]
    elif not now < until <= now + MAX_DEFERRAL:
        errors["until"] = [error(Code.DEFER_RANGE, days=MAX_DEFERRAL.days)]
    deadline = _deadline_timer(session, task_id)
    if deadline is None:
        errors["task"] = [error(Code.NO_RUNNING_DEADLINE)]
    elif "until" not in errors and until <= deadline.due_at:
        errors["until"] = [error(Code.LATER_THAN_DEADLINE)]
    if errors or deadline is None:  # no deadline is one of the errors
        raise InvalidInput(errors)
    if pending_tasks(session, {task_id}):
        raise Conflict(Code.DEFERRAL_PENDING)
    deferral = Deferral(complaint_id=row.complaint_id, work_task_id=task_id, requested_by_id=actor.id,
                        reason=reason, requested_until=until, status="pending", created_at=now)
    session.add(deferral)
    session.flush()
    audit.record(session, row.complaint_id, actor, "deferral_requested", task_id=task_id, task_name=row.name,
                 data={"reason": deferral.reason, "until": until.isoformat(),
                       "deadline": deadline.due_at.isoformat()})
    complaint = session.get_one(Complaint, row.complaint_id)
    notifications.notify(session, notifications.users_for(session, GENERAL_MANAGER), "deferral_requested",
                         str(deferral.id), dict(deadlines.task_params(complaint, row), requester=actor.username,
                                                until=until.isoformat(), reason=deferral.reason), complaint.id)
    return deferral.id


@use_case
def decide_deferral(uow: UnitOfWork, actor: Actor, deferral_id: int, approve: bool, note: str = "") -> None:
    """The general manager approves (the deadline moves) or rejects (it stays) a pending request."""
    check_can_decide_deferrals(actor)
    if problems := text_errors(note or "", required=False):
        raise InvalidInput({"note": problems})
    session = uow.session
    deferral = session.get(Deferral, deferral_id)
    if deferral is None:
        raise NotFound(Code.DEFERRAL_NOT_FOUND, deferral=deferral_id)
    now = clock.now()
    with progress.locked_case(session, deferral.complaint_id, now) as case:
        complaint = case.complaint
        session.refresh(deferral)
        if deferral.status != "pending":
            raise Conflict(Code.DEFERRAL_ALREADY, status=deferral.status)
        deferral.status = "approved" if approve else "rejected"
        deferral.decided_by_id, deferral.decided_at, deferral.decision_note = actor.id, now, note or None
        moved_to = _move_deadline(session, case, deferral) if approve else None
    audit.record(session, complaint.id, actor, f"deferral_{deferral.status}", task_id=deferral.work_task_id,
                 data={"until": deferral.requested_until.isoformat(), "note": note,
                       "deadline": moved_to.isoformat() if moved_to else None})
    requester = session.get(User, deferral.requested_by_id)
    work = session.get_one(WorkTask, deferral.work_task_id)
    notifications.notify(session, [requester] if requester else [], f"deferral_{deferral.status}", str(deferral.id),
                         dict(deadlines.task_params(complaint, work), until=deferral.requested_until.isoformat(),
                              note=note or ""), complaint.id)


def _move_deadline(session: Session, case: progress.Case, deferral: Deferral) -> datetime | None:
    """Shift the task's waiting deadline and warning timers so the deadline lands on the requested time."""
    deadline = _deadline_timer(session, deferral.work_task_id)
    if deadline is None:  # the task finished or the timer fired meanwhile: nothing left to move
        return None
    delta = deferral.requested_until - deadline.due_at
    for timer in session.scalars(select(Timer).where(
            Timer.work_task_id == deferral.work_task_id, Timer.status == "waiting",
            Timer.kind.in_(("warning", "deadline")))):
        runtime.move_timer(case.workflow, timer.id, delta)
    return deferral.requested_until


def _deadline_timer(session: Session, task_id: str) -> Timer | None:
    return session.scalar(select(Timer).where(
        Timer.work_task_id == task_id, Timer.kind == "deadline", Timer.status == "waiting"))


def list_deferrals(uow: UnitOfWork, actor: Actor, status: str | None = "pending",
                   complaint_id: int | None = None) -> list[dict]:
    """The requests the actor may see, as plain data, oldest first: for one complaint they may see, all of
    its requests (as its page shows them); otherwise all for the general manager, who decides them, and
    their own for everyone else."""
    query = (select(Deferral, WorkTask, Complaint, User.username)
             .join(WorkTask, WorkTask.id == Deferral.work_task_id)
             .join(Complaint, Complaint.id == Deferral.complaint_id)
             .join(User, User.id == Deferral.requested_by_id)
             .where(visible(actor)).order_by(Deferral.created_at))
    if status:
        query = query.where(Deferral.status == status)
    if complaint_id is not None:
        query = query.where(Deferral.complaint_id == complaint_id)
    elif not may_decide_deferrals(actor):
        query = query.where(Deferral.requested_by_id == actor.id)
    return [{"id": d.id, "complaint_id": c.id, "reference": c.reference, "task": w.name, "title": w.title,
             "title_en": w.title_en, "requested_by": username, "reason": d.reason,
             "until": d.requested_until, "status": d.status, "created_at": d.created_at,
             "decided_at": d.decided_at, "note": d.decision_note}
            for d, w, c, username in uow.session.execute(query).all()]


def decision_queue(uow: UnitOfWork, actor: Actor) -> list[dict]:
    """The requests waiting for the general manager's decision (for the general manager only)."""
    check_can_decide_deferrals(actor)
    return list_deferrals(uow, actor, status="pending")
