"""The departments as the administrator sees them: each one's heads, staff, running deputies (责任代理人) and
the open tasks of its lane. Departments are a fixed list the process model routes to (`roles.DEPARTMENTS`,
docs/ARCHITECTURE.md, "The desk"), so they are read here and changed by a model change, not edited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from engine import clock
from engine.db import UnitOfWork
from engine.models import Deputy, User, WorkTask
from engine.people.roles import DEPARTMENT_HEAD, DEPARTMENTS, Actor
from engine.people.users import check_admin


@dataclass(frozen=True)
class RunningDeputy:
    """A deputy appointment that holds now: who stands in for whom, until when."""

    deputy_name: str
    principal_name: str
    ends_at: datetime


@dataclass(frozen=True)
class Department:
    """One department: its active heads (display names), how many active staff it has, its running deputies
    and how many open tasks wait in its heads' lane."""

    code: str
    heads: list[str]
    staff: int
    deputies: list[RunningDeputy]
    open_tasks: int


def overview(uow: UnitOfWork, actor: Actor) -> list[Department]:
    """Every department in the order of `roles.DEPARTMENTS` (administrators only)."""
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
    waiting = dict(session.execute(
        select(WorkTask.department, func.count()).where(WorkTask.status == "open", WorkTask.role == DEPARTMENT_HEAD)
        .group_by(WorkTask.department)).all())
    return [Department(code=code,
                       heads=[name for dept, role, name in members if dept == code and role == DEPARTMENT_HEAD],
                       staff=sum(1 for dept, _role, _name in members if dept == code),
                       deputies=[RunningDeputy(d, p, ends) for dept, d, p, ends in running if dept == code],
                       open_tasks=waiting.get(code, 0))
            for code in DEPARTMENTS]
