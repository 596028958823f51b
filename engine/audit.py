"""The append-only audit trail: every change to a complaint, who made it, when, with what data."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bulk, clock
from engine.models import AuditEvent


def record(session: Session, complaint_id: int | None, actor, kind: str, *, task_id: str | None = None,
           task_name: str | None = None, data: dict | None = None) -> None:
    """Append one event; `actor` is an `engine.people.roles.Actor`. While the session collects rows
    (`engine.bulk`, the timer worker's batch) the event is inserted with the batch's others."""
    row = {"complaint_id": complaint_id, "at": clock.now(), "actor_id": actor.id, "actor_name": actor.username,
           "kind": kind, "task_id": task_id, "task_name": task_name, "data": data or {}}
    if not bulk.add(session, AuditEvent, row):
        session.add(AuditEvent(**row))


def timeline(session: Session, complaint_id: int) -> list[AuditEvent]:
    """A complaint's events, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.complaint_id == complaint_id).order_by(AuditEvent.id)))
