"""The task table: open user tasks mirrored from workflows, and the lists people work from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import audit
from engine.models import Complaint, User, WorkTask
from engine.people.roles import AGENT, DEPARTMENT_HEAD, OVERSEER_ROLES, SYSTEM, Actor
from engine.workflow.runtime import ready_user_tasks
from engine.workflow.versions import LoadedVersion

DUE_SOON = timedelta(hours=2)
SCOPES = ("mine", "queue", "overdue", "due_soon")
SORTS = {
    "due": WorkTask.due_at,
    "created": WorkTask.created_at,
    "level": Complaint.level,
    "reference": Complaint.reference,
    "task": WorkTask.name,
}


def sync(session: Session, complaint: Complaint, workflow, version: LoadedVersion, now: datetime,
         due_times: dict[str, datetime] | None = None) -> tuple[list[WorkTask], list[WorkTask]]:
    """Make the complaint's open rows match the workflow's READY user tasks.

    Returns (the open rows, the rows created now).

    Rows whose task is no longer ready were cancelled by the workflow (e.g. an interrupting timer).
    """
    due_times = due_times or {}
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    # Filtered again in memory: a row completed in this transaction may not be flushed yet.
    rows = {r.id: r for r in session.scalars(
        select(WorkTask).where(WorkTask.complaint_id == complaint.id, WorkTask.status == "open"))
        if r.status == "open"}
    for row_id, row in rows.items():
        if row_id not in ready:
            row.status = "cancelled"
            row.completed_at = now
            audit.record(session, complaint.id, SYSTEM, "task_cancelled", task_id=row.id, task_name=row.name)
        elif row_id in due_times:
            row.due_at = due_times[row_id]
    still_open = [row for row_id, row in rows.items() if row_id in ready]
    created = []
    for task_id, task in ready.items():
        if task_id in rows:
            continue
        meta = version.task(task.task_spec.bpmn_id)
        role = meta.role or AGENT
        row = WorkTask(
            id=task_id, complaint_id=complaint.id, name=meta.name, title=meta.title, title_en=meta.title_en,
            role=role, department=task.data.get("department") if role == DEPARTMENT_HEAD else None,
            assignee_id=complaint.owner_id if role == AGENT else None,
            status="open", created_at=now, due_at=due_times.get(task_id),
        )
        session.add(row)
        still_open.append(row)
        created.append(row)
        # The handling round the task belongs to (forms show each round's answers: engine.complaints.rounds).
        audit.record(session, complaint.id, SYSTEM, "task_opened", task_id=task_id, task_name=meta.name,
                     data={"role": row.role, "department": row.department, "round": task.data.get("round")})
    return still_open, created


def can_work(actor: Actor, row: WorkTask) -> bool:
    """Does the actor hold the task's role (and department, for department heads), or is the task
    escalated to the actor's role?"""
    if is_escalated_to(actor, row):
        return True
    if actor.role != row.role:
        return False
    return row.role != DEPARTMENT_HEAD or actor.department == row.department


def is_escalated_to(actor: Actor, row: WorkTask) -> bool:
    """Was the task escalated to the actor's role after a missed deadline?"""
    return row.escalated_to is not None and actor.role == row.escalated_to


@dataclass(frozen=True)
class TaskListItem:
    id: str
    complaint_id: int
    reference: str | None
    name: str
    title: str
    title_en: str | None
    role: str
    department: str | None
    assignee: str | None
    level: str
    category: str
    customer_name: str
    created_at: datetime
    due_at: datetime | None
    warned: bool = False
    escalated_to: str | None = None


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_tasks(session: Session, actor: Actor, scope: str, now: datetime, *, page: int = 1,
               per_page: int = 50, sort: str = "due", descending: bool = False) -> Page:
    """One page of open tasks in `scope` for `actor`, read from the task table only."""
    if scope not in SCOPES:
        raise ValueError(f"unknown task list {scope!r}")
    conditions = [WorkTask.status == "open"]
    conditions.append(WorkTask.assignee_id == actor.id if scope == "mine" else _visible(actor))
    if scope == "queue":
        conditions.append(or_(WorkTask.role == actor.role, WorkTask.escalated_to == actor.role))
    elif scope == "overdue":
        conditions.append(WorkTask.due_at < now)
    elif scope == "due_soon":
        conditions.extend((WorkTask.due_at >= now, WorkTask.due_at < now + DUE_SOON))
    # Counted on the task table alone; the list reads only the complaint columns it shows (not its state).
    total = session.scalar(select(func.count()).select_from(WorkTask).where(*conditions))
    column = SORTS.get(sort, WorkTask.due_at)
    order = column.desc() if descending else column.asc()
    query = (select(WorkTask.id, WorkTask.complaint_id, WorkTask.name, WorkTask.title, WorkTask.title_en,
                    WorkTask.role, WorkTask.department, WorkTask.created_at, WorkTask.due_at, WorkTask.warned_at,
                    WorkTask.escalated_to, Complaint.reference, Complaint.level, Complaint.category,
                    Complaint.customer_name, User.username)
             .join(Complaint, Complaint.id == WorkTask.complaint_id)
             .outerjoin(User, User.id == WorkTask.assignee_id)
             .where(*conditions)
             # NULL due times last either way; id as a tie-breaker keeps pages stable.
             .order_by(order.nulls_last(), WorkTask.id))
    page = max(1, page)
    items = [
        TaskListItem(
            id=r.id, complaint_id=r.complaint_id, reference=r.reference, name=r.name, title=r.title,
            title_en=r.title_en, role=r.role, department=r.department, assignee=r.username, level=r.level,
            category=r.category, customer_name=r.customer_name, created_at=r.created_at, due_at=r.due_at,
            warned=r.warned_at is not None, escalated_to=r.escalated_to,
        )
        for r in session.execute(query.limit(per_page).offset((page - 1) * per_page))
    ]
    return Page(items=items, total=total or 0, page=page, per_page=per_page)


def _visible(actor: Actor):
    """Which open tasks an actor may see in role lists: their role's (department's), or all for overseers."""
    if actor.role in OVERSEER_ROLES:
        return WorkTask.id.is_not(None)
    if actor.role == DEPARTMENT_HEAD:
        return (WorkTask.role == actor.role) & (WorkTask.department == actor.department)
    return or_(WorkTask.role == actor.role, WorkTask.assignee_id == actor.id, WorkTask.escalated_to == actor.role)
