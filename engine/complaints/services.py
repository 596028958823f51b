"""Use cases. Each runs inside one unit of work and commits it whole, or raises and changes nothing.

Entry points (web, API, CLI) call these with an `Actor` and plain data and get plain values back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import audit, clock
from engine.complaints import deadlines, progress, worklist
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, User, WorkTask
from engine.people.roles import (
    AGENT,
    DEPARTMENT_HEAD,
    DEPARTMENTS,
    INTAKE_ROLES,
    OVERSEER_ROLES,
    ROLES,
    Actor,
)
from engine.workflow import runtime, store
from engine.workflow.deploy import current_version
from engine.workflow.versions import TaskMeta, load_version
from forms.validate import validate

DEFAULT_PROCESS = "complaint_lifecycle"
MIN_PASSWORD = 8

_INTAKE_COLUMNS = ("customer_name", "customer_contact", "customer_id", "channel", "order_id", "product",
                   "description", "demand", "category", "level")


# --- users -----------------------------------------------------------------------------------------

def add_user(uow: UnitOfWork, username: str, role: str, password: str, *, department: str | None = None,
             display_name: str | None = None, email: str | None = None, password_hash: str | None = None) -> int:
    """Create a user; department heads must name their department.

    `password_hash` may be given when the same password's hash is reused (demo users).
    """
    errors: dict[str, list[str]] = {}
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = ["use letters, digits, '.' and '_' (at most 80)"]
    if role not in ROLES:
        errors["role"] = [f"one of {', '.join(ROLES)}"]
    if role == DEPARTMENT_HEAD and department not in DEPARTMENTS:
        errors["department"] = [f"department heads need one of {', '.join(DEPARTMENTS)}"]
    if department is not None and department not in DEPARTMENTS:
        errors["department"] = [f"one of {', '.join(DEPARTMENTS)}"]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"at least {MIN_PASSWORD} characters"]
    if errors:
        raise InvalidInput(errors)
    if uow.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, role=role, department=department, display_name=display_name or username,
                email=email, password_hash=password_hash or generate_password_hash(password),
                created_at=clock.now())
    uow.session.add(user)
    uow.commit()
    return user.id


def authenticate(uow: UnitOfWork, username: str, password: str) -> Actor | None:
    """The actor for these credentials, or None (same answer for unknown user and wrong password)."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # equal time whether or not the user exists
        return None
    return actor_of(user) if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-password")


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, username=user.username, role=user.role, department=user.department)


def actor_by_username(uow: UnitOfWork, username: str) -> Actor:
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"no active user {username!r}")
    return actor_of(user)


# --- complaints -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepResult:
    """What an action left behind: the complaint's new version and its open tasks."""

    complaint_id: int
    reference: str
    lock_version: int
    status: str
    open_tasks: list[dict]


def intake_form(uow: UnitOfWork, process_id: str = DEFAULT_PROCESS) -> TaskMeta | None:
    """The start event's form of the current version (None if the model has none)."""
    version = current_version(uow.session, process_id)
    if version is None:
        raise NotFound(f"no deployed version of {process_id!r}")
    return load_version(uow.session, version.id).intake


def start_complaint(uow: UnitOfWork, actor: Actor, intake: Any, process_id: str = DEFAULT_PROCESS) -> StepResult:
    """Record a complaint and start its lifecycle on the current model version."""
    if actor.role not in INTAKE_ROLES:
        raise Forbidden(f"role {actor.role!r} cannot record complaints")
    session = uow.session
    version_row = current_version(session, process_id)
    if version_row is None:
        raise NotFound(f"no deployed version of {process_id!r}")
    version = load_version(session, version_row.id)
    if version.intake is not None:
        data, errors = validate(version.intake.form, intake)
    else:
        data, errors = (dict(intake), {}) if isinstance(intake, dict) else ({}, {"_form": ["expected an object"]})
    given = intake if isinstance(intake, dict) else {}
    for required in ("customer_name", "customer_contact", "channel", "description", "demand", "category", "level"):
        if required not in errors and not str(given.get(required) or "").strip():
            errors[required] = ["this field is required"]
    if errors:
        raise InvalidInput(errors)
    now = clock.now()
    workflow = runtime.start(version, data, runtime.script_engine())
    complaint = Complaint(
        version_id=version_row.id, status="open", created_at=now, updated_at=now,
        created_by_id=actor.id, owner_id=actor.id if actor.role == AGENT else None, state="", variables={},
        **{k: data.get(k) for k in _INTAKE_COLUMNS},
    )
    session.add(complaint)
    session.flush()
    complaint.reference = f"TS{now:%Y%m%d}-{complaint.id:06d}"
    audit.record(session, complaint.id, actor, "complaint_started", data=data)
    result = _result(session, complaint, progress.record(session, complaint, workflow, version, now))
    uow.commit()
    return result


def complete_task(uow: UnitOfWork, actor: Actor, task_id: str, data: Any,
                  expected_version: int | None = None) -> StepResult:
    """Complete an open user task with the form data.

    Refused with Forbidden (wrong role or department), Conflict (already handled, held by someone else,
    cancelled, or the complaint changed since `expected_version`) or InvalidInput (field errors).
    """
    session = uow.session
    complaint, row = _lock_task(session, task_id)
    _check_can_act(actor, row, expected_version, complaint)
    version = load_version(session, complaint.version_id)
    clean, errors = validate(version.task(row.name).form, data)
    if errors:
        raise InvalidInput(errors)
    workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs, runtime.script_engine())
    task = runtime.find_task(workflow, task_id)
    if task is None or not runtime.is_ready(task):
        raise Conflict("this task is no longer open")
    now = clock.now()
    runtime.run_user_task(workflow, task, clean)
    row.status = "completed"
    row.completed_at = now
    row.completed_by_id = actor.id
    if complaint.first_response_at is None:
        complaint.first_response_at = now
    audit.record(session, complaint.id, actor, "task_completed", task_id=task_id, task_name=row.name, data=clean)
    result = _result(session, complaint, progress.record(session, complaint, workflow, version, now))
    uow.commit()
    return result


def claim_task(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Take an open task from the queue; refused if someone else holds it."""
    session = uow.session
    complaint, row = _lock_task(session, task_id)
    _check_can_act(actor, row, None, complaint)
    if row.assignee_id == actor.id:
        return
    row.assignee_id = actor.id
    audit.record(session, complaint.id, actor, "task_claimed", task_id=row.id, task_name=row.name)
    uow.commit()


def release_task(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Put a task the actor holds back into the queue."""
    session = uow.session
    complaint, row = _lock_task(session, task_id)
    _check_can_act(actor, row, None, complaint)
    if row.assignee_id is None:
        return
    row.assignee_id = None
    audit.record(session, complaint.id, actor, "task_released", task_id=row.id, task_name=row.name)
    uow.commit()


def _lock_task(session: Session, task_id: str) -> tuple[Complaint, WorkTask]:
    """Lock the task's complaint and read both as they are once the lock is held.

    SQLite's write transaction (BEGIN IMMEDIATE) is already exclusive, so what it read is current;
    on PostgreSQL the task row is read again after the complaint's row lock is granted.
    """
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    complaint = session.scalars(select(Complaint).where(Complaint.id == row.complaint_id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    if session.get_bind().dialect.name != "sqlite":
        session.refresh(row)
    return complaint, row


def check_can_work(uow: UnitOfWork, actor: Actor, task_id: str) -> None:
    """Refuse an actor whose role may not work the task (asked before anything they sent is read)."""
    row = uow.session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    _check_role(actor, row)


def _check_role(actor: Actor, row: WorkTask) -> None:
    if not worklist.can_work(actor, row):
        raise Forbidden(f"this task is for role {row.role!r}" +
                        (f" of department {row.department!r}" if row.department else ""))


def _check_can_act(actor: Actor, row: WorkTask, expected_version: int | None, complaint: Complaint) -> None:
    _check_role(actor, row)
    if row.status != "open":
        raise Conflict(f"this task was already {row.status}")
    if row.assignee_id not in (None, actor.id) and not worklist.is_escalated_to(actor, row):
        raise Conflict("this task is held by someone else")
    if expected_version is not None and expected_version != complaint.lock_version:
        raise Conflict("the complaint changed since the form was opened")


def _result(session: Session, complaint: Complaint, open_rows: list[WorkTask]) -> StepResult:
    return StepResult(
        complaint_id=complaint.id, reference=complaint.reference or "", lock_version=complaint.lock_version,
        status=complaint.status, open_tasks=[_task_dict(session, r) for r in open_rows],
    )


def _open_rows(session: Session, complaint_id: int) -> list[WorkTask]:
    return list(session.scalars(select(WorkTask).where(
        WorkTask.complaint_id == complaint_id, WorkTask.status == "open").order_by(WorkTask.created_at)))


def _task_dict(session: Session, row: WorkTask) -> dict:
    assignee = session.get(User, row.assignee_id) if row.assignee_id else None  # identity map first
    return {
        "id": row.id, "task": row.name, "title": row.title, "title_en": row.title_en, "role": row.role,
        "department": row.department, "assignee": assignee.username if assignee else None,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "warned": row.warned_at is not None, "escalated_to": row.escalated_to,
    }


# --- reading ----------------------------------------------------------------------------------------

def check_can_view(actor: Actor, complaint: Complaint) -> None:
    """Department heads see their department's complaints only; other staff see all."""
    if actor.role in OVERSEER_ROLES or actor.role != DEPARTMENT_HEAD:
        return
    if complaint.department != actor.department:
        raise Forbidden("this complaint belongs to another department")


def get_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int) -> Complaint:
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"complaint {complaint_id} does not exist")
    check_can_view(actor, complaint)
    return complaint


def complaint_details(uow: UnitOfWork, actor: Actor, complaint_id: int) -> dict:
    """Everything `show` prints: status, variables, open tasks with their forms, the audit trail."""
    complaint = get_complaint(uow, actor, complaint_id)
    version = load_version(uow.session, complaint.version_id)
    tasks = []
    for row in _open_rows(uow.session, complaint.id):
        item = _task_dict(uow.session, row)
        meta = version.task(row.name)
        item["form"] = {"schema": meta.form.schema, "ui": meta.form.ui}
        item["instructions"] = meta.instructions
        tasks.append(item)
    return {
        "id": complaint.id, "reference": complaint.reference, "status": complaint.status,
        "outcome": complaint.outcome, "version": complaint.lock_version,
        "process_version": version.content_hash[:12], "level": complaint.level,
        "category": complaint.category, "department": complaint.department, "round": complaint.round,
        "created_at": complaint.created_at.isoformat(),
        "closed_at": complaint.closed_at.isoformat() if complaint.closed_at else None,
        "variables": complaint.variables, "open_tasks": tasks,
        "breaches": deadlines.breaches(uow.session, complaint.id),
        "audit": [
            {"at": e.at.isoformat(), "actor": e.actor_name, "kind": e.kind, "task": e.task_name, "data": e.data}
            for e in audit.timeline(uow.session, complaint.id)
        ],
    }


def task_list(uow: UnitOfWork, actor: Actor, scope: str, **options) -> worklist.Page:
    """A page of the actor's task list `scope` (mine, queue, overdue, due_soon)."""
    return worklist.list_tasks(uow.session, actor, scope, clock.now(), **options)


def task_for_form(uow: UnitOfWork, actor: Actor, task_id: str) -> tuple[WorkTask, TaskMeta, Complaint]:
    """An open task the actor may work on, with its form and complaint (for showing the form)."""
    row = uow.session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    complaint = uow.session.get(Complaint, row.complaint_id)
    check_can_view(actor, complaint)
    if not worklist.can_work(actor, row):
        raise Forbidden(f"this task is for role {row.role!r}")
    return row, load_version(uow.session, complaint.version_id).task(row.name), complaint
