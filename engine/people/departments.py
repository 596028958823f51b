"""The departments: a table the administrator manages (add, rename, deactivate, reactivate; audited) and every
part of the engine reads (`codes`, `names`), and the overview of each one's heads, staff, running deputies
(责任代理人) and open tasks. A new department needs no code change: the administrator adds it, then the process
owner routes to it in the model and deploys (docs/ARCHITECTURE.md, "Departments")."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine import audit, clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import Department as DepartmentRow
from engine.models import Deputy, ProcessVersion, User, WorkTask
from engine.people.access import check_admin
from engine.people.roles import DEPARTMENT_HEAD, Actor
from forms.errors import FieldErrors, error
from forms.validate import text_errors

MAX_CODE = 40
MAX_NAME = 80
#: A code is what the model routes to and what users and tasks store: lower-case letters, digits and "_".
CODE_FORMAT = re.compile(r"[a-z][a-z0-9_]*")


def codes(session: Session, *, active_only: bool = False) -> tuple[str, ...]:
    """The departments' codes in their order (only the active ones with `active_only`)."""
    query = select(DepartmentRow.code).order_by(DepartmentRow.sort_order, DepartmentRow.code)
    if active_only:
        query = query.where(DepartmentRow.active.is_(True))
    return tuple(session.scalars(query))


def names(session: Session) -> dict[str, tuple[str, str]]:
    """Every department's Chinese and English name by code, in their order (inactive ones too: old
    complaints and users still name them)."""
    rows = session.execute(select(DepartmentRow.code, DepartmentRow.name_zh, DepartmentRow.name_en)
                           .order_by(DepartmentRow.sort_order, DepartmentRow.code)).all()
    return {code: (zh, en) for code, zh, en in rows}


def choice_errors(session: Session, department: str, *, keep: str | None = None) -> FieldErrors:
    """Why `department` cannot be chosen for a user or working hours: unknown, or inactive (unless it is `keep`,
    the department already held). Empty when it can."""
    row = session.get(DepartmentRow, department)
    if row is None:
        return {"department": [error(Code.ONE_OF, options=", ".join(codes(session, active_only=True)))]}
    if not row.active and department != keep:
        return {"department": [error(Code.DEPARTMENT_INACTIVE, department=department)]}
    return {}


@dataclass(frozen=True)
class RunningDeputy:
    """A deputy appointment that holds now: who stands in for whom, until when."""

    deputy_name: str
    principal_name: str
    ends_at: datetime


@dataclass(frozen=True)
class Department:
    """One department: its names, whether it is active, its active heads (display names), how many active staff
    it has, its running deputies and how many open tasks wait in its heads' lane."""

    code: str
    name_zh: str
    name_en: str
    active: bool
    heads: list[str]
    staff: int
    deputies: list[RunningDeputy]
    open_tasks: int


def overview(uow: UnitOfWork, actor: Actor) -> list[Department]:
    """Every department in its order, inactive ones too (administrators only)."""
    check_admin(actor)
    session, now = uow.session, clock.now()
    members = session.execute(select(User.department, User.role, User.display_name).where(
        User.active.is_(True), User.department.is_not(None)).order_by(User.display_name)).all()
    principal, deputy = aliased(User), aliased(User)
    running = session.execute(
        select(Deputy.department, deputy.display_name, principal.display_name, Deputy.ends_at)
        .join(principal, principal.id == Deputy.principal_id).join(deputy, deputy.id == Deputy.deputy_id)
        .where(Deputy.ended_at.is_(None), Deputy.starts_at <= now, Deputy.ends_at > now)
        .order_by(Deputy.starts_at, Deputy.id)).all()
    waiting = _open_tasks(session)
    rows = session.scalars(select(DepartmentRow).order_by(DepartmentRow.sort_order, DepartmentRow.code))
    return [Department(code=d.code, name_zh=d.name_zh, name_en=d.name_en, active=d.active,
                       heads=[name for dept, role, name in members if dept == d.code and role == DEPARTMENT_HEAD],
                       staff=sum(1 for dept, _role, _name in members if dept == d.code),
                       deputies=[RunningDeputy(x, p, ends) for dept, x, p, ends in running if dept == d.code],
                       open_tasks=waiting.get(d.code, 0))
            for d in rows]


def _open_tasks(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(WorkTask.department, func.count()).where(WorkTask.status == "open", WorkTask.role == DEPARTMENT_HEAD)
        .group_by(WorkTask.department))
    return {department: count for department, count in rows if department is not None}


def _name_errors(name_zh: str, name_en: str) -> FieldErrors:
    errors: FieldErrors = {}
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        if problems := text_errors(value.strip(), MAX_NAME):
            errors[field] = problems
    return errors


@use_case
def add(uow: UnitOfWork, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
    """An administrator adds a department (active, last in the order); the model routes to it once the process
    owner deploys a model that names its code."""
    check_admin(actor)
    errors = _name_errors(name_zh, name_en)
    if len(code) > MAX_CODE or not CODE_FORMAT.fullmatch(code):
        errors["code"] = [error(Code.DEPARTMENT_CODE_FORMAT, max=MAX_CODE)]
    elif uow.session.get(DepartmentRow, code) is not None:
        errors["code"] = [error(Code.DEPARTMENT_EXISTS, department=code)]
    if errors:
        raise InvalidInput(errors)
    last = uow.session.scalar(select(func.max(DepartmentRow.sort_order))) or 0
    uow.session.add(DepartmentRow(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(), active=True,
                                  sort_order=last + 1))
    audit.record(uow.session, None, actor, "department_added",
                 data={"department": code, "name_zh": name_zh.strip(), "name_en": name_en.strip()})


def _row(uow: UnitOfWork, code: str) -> DepartmentRow:
    row = uow.session.get(DepartmentRow, code)
    if row is None:
        raise NotFound(Code.DEPARTMENT_NOT_FOUND, department=code)
    return row


@use_case
def rename(uow: UnitOfWork, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
    """An administrator renames a department (its code, which the model and the records name, stays)."""
    check_admin(actor)
    row = _row(uow, code)
    if errors := _name_errors(name_zh, name_en):
        raise InvalidInput(errors)
    before = [row.name_zh, row.name_en]
    row.name_zh, row.name_en = name_zh.strip(), name_en.strip()
    audit.record(uow.session, None, actor, "department_renamed",
                 data={"department": code, "before": before, "after": [row.name_zh, row.name_en]})


@use_case
def set_active(uow: UnitOfWork, actor: Actor, code: str, active: bool) -> None:
    """An administrator deactivates a department (no new user can join it; it stays named on old records) or
    reactivates it. Deactivating is refused while work still reaches it: open tasks in its lane, active
    department heads, or a current model version that routes complaints to it."""
    check_admin(actor)
    row = _row(uow, code)
    if not active and row.active and (errors := _in_use(uow.session, code)):
        raise InvalidInput(errors)
    if row.active != active:
        row.active = active
        audit.record(uow.session, None, actor, "department_activated" if active else "department_deactivated",
                     data={"department": code})


def _in_use(session: Session, code: str) -> FieldErrors:
    from engine.modelling.department_routes import routes  # the model side imports the people side

    problems = []
    if tasks := _open_tasks(session).get(code, 0):
        problems.append(error(Code.DEPARTMENT_HAS_OPEN_TASKS, department=code, count=tasks))
    heads = list(session.scalars(select(User.display_name).where(
        User.active.is_(True), User.role == DEPARTMENT_HEAD, User.department == code).order_by(User.display_name)))
    if heads:
        problems.append(error(Code.DEPARTMENT_HAS_HEADS, department=code, heads=", ".join(heads)))
    for version in session.scalars(select(ProcessVersion).where(ProcessVersion.is_current.is_(True))):
        found = [r for r in routes({f.path: f.content for f in version.files}) if r.department == code]
        if found:
            problems.append(error(Code.DEPARTMENT_ROUTED, department=code, process=version.process_id,
                                  file=found[0].path))
    return {"active": problems} if problems else {}
