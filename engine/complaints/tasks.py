"""Working on tasks: the task lists, one task with its form, claiming, releasing and completing.

Each changing use case runs in one unit of work and commits once (`engine.db.use_case`): completing a
task stores the files sent with the form, runs the task, records what follows and drops the task's
drafts together, or changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine import audit, clock
from engine.complaints import deadlines, evidence, form_drafts, notifications, progress, responsible, worklist
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, User, WorkTask
from engine.people import deputies
from engine.people.access import check_can_view
from engine.people.roles import DEPARTMENT_HEAD, MANAGER_ROLES, Actor
from engine.workflow import runtime
from engine.workflow.versions import TaskMeta, load_version
from forms.validate import validate


@dataclass(frozen=True)
class StepResult:
    """What an action left behind: the complaint's new version and its open tasks."""

    complaint_id: int
    reference: str
    lock_version: int
    status: str
    open_tasks: list[dict]


def task_list(uow: UnitOfWork, actor: Actor, scope: str, **options) -> worklist.Page:
    """A page of the actor's task list `scope` (mine, queue, overdue, due_soon); `options`: page, per_page,
    sort, descending, filters (`worklist.Filters`)."""
    return worklist.list_tasks(uow.session, actor, scope, clock.now(), **options)


def task_for_form(uow: UnitOfWork, actor: Actor, task_id: str) -> tuple[WorkTask, TaskMeta, Complaint]:
    """A task the actor may work on, with its form and complaint (for showing the form; the complaint's workflow
    state is left unread: ≈ 26 KB of TOAST a row, docs/PERFORMANCE.md, "1,000,000 complaints")."""
    row = _task(uow.session, task_id)
    complaint = uow.session.get_one(Complaint, row.complaint_id, options=(defer(Complaint.state),))
    check_can_view(actor, complaint)
    _check_role(actor, row)
    return row, load_version(uow.session, complaint.version_id).task(row.name), complaint


def check_can_work(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Refuse an actor whose role may not work the task (asked before anything they sent is read)."""
    _check_role(actor, _task(uow.session, task_id))


@use_case
def complete_task(uow: UnitOfWork, actor: Actor, task_id: str, data: Any, expected_version: int | None = None,
                  *, files: evidence.Files | None = None) -> StepResult:
    """Complete an open user task with the form data and the files sent with it (stored as the complaint's
    evidence), and drop the task's drafts.

    Refused with Forbidden (wrong role or department), Conflict (already handled, held by someone else,
    cancelled, or the complaint changed since `expected_version`) or InvalidInput (field errors).
    """
    session = uow.session
    now = clock.now()
    row = _task(session, task_id)
    with progress.locked_case(session, row.complaint_id, now) as case:
        complaint = case.complaint
        if session.get_bind().dialect.name != "sqlite":
            # Read again now that the complaint's lock is held (SQLite's write transaction already is).
            session.refresh(row)
        _check_can_act(actor, row, expected_version, complaint)
        clean, errors = validate(case.version.task(row.name).form, data)
        if errors:
            raise InvalidInput(errors)
        if files is not None:
            evidence.add_files(uow, files.settings, actor, files.uploads, complaint.id)
        task = runtime.find_task(case.workflow, task_id)
        if task is None or not runtime.is_ready(task):
            raise Conflict(Code.TASK_NOT_OPEN)
        runtime.run_user_task(case.workflow, task, clean)
        row.status = "completed"
        row.completed_at = now
        row.completed_by_id = actor.id
        if complaint.first_response_at is None:
            complaint.first_response_at = now
        audit.record(session, complaint.id, actor, "task_completed", task_id=task_id, task_name=row.name,
                     data=clean)
        _record_deputy(session, actor, row, complaint.id, "task_completed")
        deadlines.record_decided(session, complaint, row, case.version.task(row.name).form.schema, clean,
                                 task.data, actor, now)
        responsible.on_task_completed(session, complaint, row, case.version.task(row.name).form.schema, clean, actor)
        form_drafts.discard(uow, task_id)
    return step_result(session, complaint, case.open_rows)


@use_case
def claim_task(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Take an open task from the queue; refused if someone else holds it."""
    complaint, row = _lock_task(uow.session, task_id)
    _check_can_act(actor, row, None, complaint)
    if row.assignee_id != actor.id:
        row.assignee_id = actor.id
        audit.record(uow.session, complaint.id, actor, "task_claimed", task_id=row.id, task_name=row.name)
        _record_deputy(uow.session, actor, row, complaint.id, "task_claimed")


@use_case
def release_task(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Put a task the actor holds back into the queue."""
    complaint, row = _lock_task(uow.session, task_id)
    _check_can_act(actor, row, None, complaint)
    if row.assignee_id is not None:
        row.assignee_id = None
        audit.record(uow.session, complaint.id, actor, "task_released", task_id=row.id, task_name=row.name)


def _task(session: Session, task_id: str) -> WorkTask:
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(Code.TASK_NOT_FOUND, task=task_id)
    return row


def _lock_task(session: Session, task_id: str) -> tuple[Complaint, WorkTask]:
    """Lock the task's complaint and read both as they are once the lock is held.

    SQLite's write transaction (BEGIN IMMEDIATE) is already exclusive, so what it read is current;
    on PostgreSQL the task row is read again after the complaint's row lock is granted.
    """
    row = _task(session, task_id)
    complaint = progress.lock(session, row.complaint_id, with_state=False)  # these steps move no workflow
    if session.get_bind().dialect.name != "sqlite":
        session.refresh(row)
    return complaint, row


def _check_role(actor: Actor, row: WorkTask) -> None:
    if not worklist.can_work(actor, row):
        raise Forbidden(Code.TASK_FOR_DEPARTMENT, role=row.role, department=row.department) if row.department \
            else Forbidden(Code.TASK_FOR_ROLE, role=row.role)


def _check_can_act(actor: Actor, row: WorkTask, expected_version: int | None, complaint: Complaint) -> None:
    _check_role(actor, row)
    if row.status != "open":
        raise Conflict(Code.TASK_ALREADY, status=row.status)
    if row.assignee_id not in (None, actor.id) and not worklist.is_escalated_to(actor, row):
        raise Conflict(Code.TASK_HELD_BY_OTHER)
    if expected_version is not None and expected_version != complaint.lock_version:
        raise Conflict(Code.COMPLAINT_CHANGED)


def step_result(session: Session, complaint: Complaint, open_rows: list[WorkTask]) -> StepResult:
    """The result of a step that left `open_rows` open."""
    return StepResult(
        complaint_id=complaint.id, reference=complaint.reference or "", lock_version=complaint.lock_version,
        status=complaint.status, open_tasks=[task_dict(session, r) for r in open_rows],
    )


def open_rows(session: Session, complaint_id: int) -> list[tuple[WorkTask, str | None]]:
    """The complaint's open task rows, oldest first, each with the username of who holds it (None: nobody)."""
    return [(row, holder) for row, holder in session.execute(
        select(WorkTask, User.username).outerjoin(User, User.id == WorkTask.assignee_id)
        .where(WorkTask.complaint_id == complaint_id, WorkTask.status == "open").order_by(WorkTask.created_at))]


def task_dict(session: Session, row: WorkTask) -> dict:
    """A task row as plain data (CLI, API)."""
    assignee = session.get(User, row.assignee_id) if row.assignee_id else None  # identity map first
    return {
        "id": row.id, "task": row.name, "title": row.title, "title_en": row.title_en, "role": row.role,
        "department": row.department, "assignee": assignee.username if assignee else None,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "warned": row.warned_at is not None, "escalated_to": row.escalated_to,
    }


#: At most this many tasks are claimed by one bulk claim (a page of the task list).
MAX_BULK = 100


@use_case
def claim_tasks(uow: UnitOfWork, actor: Actor, task_ids: list[str]) -> tuple[int, int]:
    """Claim several tasks at once (the task list's bulk claim), in one transaction: each is claimed as
    `claim_task` would, and one the actor may not claim (another role, held by someone else, handled
    meanwhile) is skipped. Returns (claimed, skipped)."""
    claimed = skipped = 0
    for task_id in list(dict.fromkeys(task_ids))[:MAX_BULK]:
        try:
            claim_task(uow, actor, task_id)
        except (NotFound, Forbidden, Conflict):
            skipped += 1  # refused before it changed anything: the others go ahead
        else:
            claimed += 1
    return claimed, skipped


def may_assign(actor: Actor, row: WorkTask) -> bool:
    """The CS manager and the general manager assign any task; a department head their department's."""
    if actor.role in MANAGER_ROLES:
        return True
    return actor.role == DEPARTMENT_HEAD and row.department is not None and row.department == actor.department


def _check_can_assign(actor: Actor, row: WorkTask, complaint: Complaint) -> None:
    check_can_view(actor, complaint)
    if not may_assign(actor, row):
        raise Forbidden(Code.ASSIGN_NOT_ALLOWED)


def _staff_actor(session: Session, user: User) -> Actor:
    return Actor(id=user.id, username=user.username, role=user.role, department=user.department,
                 acting_for=deputies.acting_for(session, user.id, clock.now()))


def assignable(uow: UnitOfWork, actor: Actor, task_id: str) -> tuple[WorkTask, list[tuple[str, str]]]:
    """The task and the active colleagues who could work it, as (username, display name), for the
    assignment form; refused unless the actor may assign it."""
    session = uow.session
    row = _task(session, task_id)
    _check_can_assign(actor, row, session.get_one(Complaint, row.complaint_id))
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name))
    return row, [(u.username, u.display_name) for u in users if worklist.can_work(_staff_actor(session, u), row)]


@use_case
def assign_task(uow: UnitOfWork, actor: Actor, task_id: str, username: str) -> None:
    """Give an open task to a named colleague who may work it (assign, or reassign from its holder).
    The audit names both the new and the previous holder."""
    session = uow.session
    complaint, row = _lock_task(session, task_id)
    _check_can_assign(actor, row, complaint)
    if row.status != "open":
        raise Conflict(Code.TASK_ALREADY, status=row.status)
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise InvalidInput.field("assignee", Code.NO_ACTIVE_USER, user=username)
    if not worklist.can_work(_staff_actor(session, user), row):
        raise InvalidInput.field("assignee", Code.ASSIGNEE_CANNOT_WORK, user=user.display_name)
    if row.assignee_id == user.id:
        return
    previous = session.get(User, row.assignee_id) if row.assignee_id else None
    row.assignee_id = user.id
    audit.record(session, complaint.id, actor, "task_assigned", task_id=row.id, task_name=row.name,
                 data={"assignee": user.display_name, "previous": previous.display_name if previous else None})
    # The new holder hears of it as of any new task (once per assignment: the time keeps it apart).
    notifications.notify(session, [user], "assigned", f"{row.id}:{clock.now().isoformat()}",
                         deadlines.task_params(complaint, row), complaint.id)


def _record_deputy(session: Session, actor: Actor, row: WorkTask, complaint_id: int, action: str) -> None:
    """When the actor works the task as a deputy (not in their own right), say on whose behalf."""
    own = actor.role == row.role and (row.role != DEPARTMENT_HEAD or actor.department == row.department)
    if own or not worklist.is_deputy_for(actor, row) or row.department is None:
        return
    principal = deputies.principal_of(session, actor, row.department, clock.now())
    audit.record(session, complaint_id, actor, "acted_as_deputy", task_id=row.id, task_name=row.name,
                 data={"on_behalf_of": principal, "action": action})
