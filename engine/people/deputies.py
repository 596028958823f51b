"""Deputy appointments (责任代理人): a department head names a colleague who, for a period, sees and works
the department's tasks on the head's behalf; every step they take as deputy is audited with whose behalf.

While an appointment runs, the deputy's `Actor.acting_for` names the department (filled when the user is
loaded for a request, `engine.people.users.load_member`); `worklist.can_work`, the task lists and
`access.check_can_view` read it. Appointments are never deleted: ending one early sets `ended_at`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from engine import audit, clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Forbidden, InvalidInput, NotFound
from engine.models import Deputy, User
from engine.people.roles import DEPARTMENT_HEAD, LANE_ROLES, Actor
from forms.errors import FieldErrors, error

#: The longest appointment: a deputy covers a leave or a trip, not a permanent change of role.
MAX_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class Appointment:
    """One appointment as the department head's page lists it."""

    id: int
    department: str
    principal: str
    principal_name: str
    deputy: str
    deputy_name: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None

    def running(self, now: datetime) -> bool:
        """Does the appointment hold at `now`?"""
        return self.ended_at is None and self.starts_at <= now < self.ends_at


def running(now: datetime | ColumnElement[datetime]):
    """The conditions of an appointment that runs at `now` (a time, or a parameter of a statement built once)."""
    return (Deputy.ended_at.is_(None), Deputy.starts_at <= now, Deputy.ends_at > now)


def acting_for(session: Session, user_id: int, now: datetime) -> tuple[str, ...]:
    """The departments whose tasks the user works as deputy at `now` (sorted, no repeats)."""
    rows = session.scalars(select(Deputy.department).where(Deputy.deputy_id == user_id, *running(now)))
    return tuple(sorted(set(rows)))


def principal_of(session: Session, actor: Actor, department: str, now: datetime) -> str | None:
    """The username of the head on whose behalf `actor` works `department`'s tasks now, or None when the
    actor is not a running deputy for it (the earliest running appointment decides)."""
    return session.scalar(
        select(User.username).join(Deputy, Deputy.principal_id == User.id)
        .where(Deputy.deputy_id == actor.id, Deputy.department == department, *running(now))
        .order_by(Deputy.starts_at, Deputy.id).limit(1))


def check_can_appoint(actor: Actor) -> None:
    """Only department heads appoint deputies (for their own department)."""
    if actor.role != DEPARTMENT_HEAD or not actor.department:
        raise Forbidden(Code.APPOINT_NOT_ALLOWED)


@use_case
def appoint(uow: UnitOfWork, actor: Actor, deputy_username: str, starts_at: datetime, ends_at: datetime) -> int:
    """Appoint an active colleague as the actor's deputy for [starts_at, ends_at) (at most `MAX_PERIOD`)."""
    check_can_appoint(actor)
    session = uow.session
    errors: FieldErrors = {}
    deputy = session.scalar(select(User).where(User.username == deputy_username, User.active.is_(True)))
    if deputy is None:
        errors["deputy"] = [error(Code.NO_ACTIVE_USER, user=deputy_username)]
    elif deputy.id == actor.id:
        errors["deputy"] = [error(Code.DEPUTY_SELF)]
    elif deputy.role not in LANE_ROLES:
        errors["deputy"] = [error(Code.ASSIGNEE_CANNOT_WORK, user=deputy.display_name)]
    if ends_at <= starts_at or ends_at <= clock.now():
        errors["ends_at"] = [error(Code.PERIOD_ORDER)]
    elif ends_at - starts_at > MAX_PERIOD:
        errors["ends_at"] = [error(Code.PERIOD_TOO_LONG, days=MAX_PERIOD.days)]
    if errors or deputy is None:
        raise InvalidInput(errors)
    row = Deputy(department=actor.department, principal_id=actor.id, deputy_id=deputy.id, starts_at=starts_at,
                 ends_at=ends_at, created_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, None, actor, "deputy_appointed", data={
        "appointment": row.id, "department": actor.department, "deputy": deputy.username,
        "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return row.id


@use_case
def end_appointment(uow: UnitOfWork, actor: Actor, appointment_id: int) -> None:
    """End one of the actor's appointments now (it stays in the list, ended)."""
    check_can_appoint(actor)
    row = uow.session.get(Deputy, appointment_id)
    if row is None or row.principal_id != actor.id:
        raise NotFound(Code.APPOINTMENT_NOT_FOUND, appointment=appointment_id)
    if row.ended_at is None:
        row.ended_at = clock.now()
        audit.record(uow.session, None, actor, "deputy_ended", data={
            "appointment": row.id, "department": row.department})


def appointments(uow: UnitOfWork, actor: Actor) -> list[Appointment]:
    """The appointments of the actor's department (they made them), newest first."""
    check_can_appoint(actor)
    principal, deputy = aliased(User), aliased(User)
    rows = uow.session.execute(
        select(Deputy, principal.username, principal.display_name, deputy.username, deputy.display_name)
        .join(principal, principal.id == Deputy.principal_id).join(deputy, deputy.id == Deputy.deputy_id)
        .where(Deputy.department == actor.department).order_by(Deputy.starts_at.desc(), Deputy.id.desc()))
    return [Appointment(id=d.id, department=d.department, principal=pu, principal_name=pn, deputy=du,
                        deputy_name=dn, starts_at=d.starts_at, ends_at=d.ends_at, ended_at=d.ended_at)
            for d, pu, pn, du, dn in rows]


def candidates(uow: UnitOfWork, actor: Actor) -> list[tuple[str, str]]:
    """The colleagues a department head may appoint: active staff who work on complaints, not themselves,
    as (username, display name)."""
    check_can_appoint(actor)
    rows = uow.session.execute(select(User.username, User.display_name).where(
        User.active.is_(True), User.id != actor.id, User.role.in_(LANE_ROLES)).order_by(User.display_name))
    return [(username, name) for username, name in rows]
