"""Incidents: timers whose firing failed after every retry (see `timers.MAX_ATTEMPTS`), listed for the
people who fix their models and put back in the queue by them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import mail_incidents
from engine.complaints.stored_failures import StoredFailure, read_failure
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, NotFound
from engine.models import AuditEvent, Complaint, Timer
from engine.people.roles import ADMIN, PROCESS_OWNER, Actor

#: Who may see and retry incidents: administrators and process owners (who fix the models that cause them).
INCIDENT_ROLES = (ADMIN, PROCESS_OWNER)


def check_can_handle_incidents(actor: Actor) -> None:
    """Incidents are for administrators and process owners (who fix the models that cause them)."""
    if actor.role not in INCIDENT_ROLES:
        raise Forbidden(Code.INCIDENTS_NOT_ALLOWED)


@dataclass(frozen=True)
class Incident:
    """A timer whose firing failed after every retry, as shown to the people who fix it."""

    id: str
    complaint_id: int
    reference: str | None
    element: str
    task: str | None
    kind: str
    error: str | None  # as stored (`stored_failures`: JSON, or plain text in older rows)
    attempts: int
    due_at: datetime
    failed_at: datetime | None
    failure: StoredFailure | None = None  # `error` read back: code, params and technical detail


def waiting(session: Session, actor: Actor) -> int:
    """How many incidents wait for the actor (the navigation's and first page's count): all of them for those
    who handle incidents (administrators also the mailbox's), none for anyone else."""
    if actor.role not in INCIDENT_ROLES:
        return 0
    timers = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "incident")) or 0
    return timers + mail_incidents.waiting(session, actor)


def incidents(uow: UnitOfWork, actor: Actor | None = None) -> list[Incident]:
    """Timers whose firing failed after every retry, newest first (`actor`: refused unless allowed)."""
    if actor is not None:
        check_can_handle_incidents(actor)
    session = uow.session
    rows = session.execute(select(Timer, Complaint.reference).join(Complaint, Complaint.id == Timer.complaint_id)
                           .where(Timer.status == "incident")
                           .order_by(Timer.next_attempt_at.desc(), Timer.id)).all()
    failed_at = _incident_times(session, [t.complaint_id for t, _ in rows])
    return [Incident(id=t.id, complaint_id=t.complaint_id, reference=reference, element=t.name,
                     task=t.task_name, kind=t.kind, error=t.last_error, attempts=t.attempts, due_at=t.due_at,
                     failed_at=failed_at.get((t.complaint_id, t.name)), failure=read_failure(t.last_error))
            for t, reference in rows]


def _incident_times(session: Session, complaint_ids: list[int]) -> dict[tuple[int, str | None], datetime]:
    """When each timer last became an incident (from the audit trail)."""
    if not complaint_ids:
        return {}
    found: dict[tuple[int, str | None], datetime] = {}
    for complaint_id, at, data in session.execute(
            select(AuditEvent.complaint_id, AuditEvent.at, AuditEvent.data)
            .where(AuditEvent.complaint_id.in_(set(complaint_ids)), AuditEvent.kind == "timer_incident")
            .order_by(AuditEvent.id)):
        found[(complaint_id, (data or {}).get("timer"))] = at
    return found


@use_case
def retry_incident(uow: UnitOfWork, actor: Actor, timer_id: str) -> None:
    """Put an incident back in the queue, due now, with its attempts reset (administrators, process owners);
    one use case: committed when it returns (or by the use case it is called from)."""
    check_can_handle_incidents(actor)
    session = uow.session
    timer = session.get(Timer, timer_id)
    if timer is None:
        raise NotFound(Code.TIMER_NOT_FOUND, timer=timer_id)
    # The complaint's lock first, as every other change to its timers takes it.
    session.scalars(select(Complaint.id).where(Complaint.id == timer.complaint_id).with_for_update()).one()
    session.refresh(timer)
    if timer.status != "incident":
        raise Conflict(Code.TIMER_NOT_INCIDENT, status=timer.status)
    session.execute(update(Timer).where(Timer.id == timer_id).values(
        status="waiting", attempts=0, next_attempt_at=clock.now()))
    audit.record(session, timer.complaint_id, actor, "incident_retried", task_name=timer.task_name,
                 data={"timer": timer.name})
