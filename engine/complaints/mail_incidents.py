"""What the mailbox could not file, for administrators: messages set aside after failing every attempt (mail
incidents: retried once the cause is fixed, or dismissed) and messages refused, with the reason's code.

Only administrators see them: senders and subjects are customers' contact data, which process owners (who see
the timer incidents) do not see (README, "Who does what in the UI").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints.stored_failures import StoredFailure, read_failure
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, NotFound
from engine.models import MailAttempt, MailMessage
from engine.people.access import check_admin
from engine.people.roles import ADMIN, Actor

#: The refused messages listed at most (newest first); `refused` counts them all.
REFUSED_SHOWN = 200


def check_can_handle(actor: Actor) -> None:
    """Mail incidents and refused mail are for administrators only."""
    check_admin(actor, Code.MAIL_NOT_ALLOWED)


@dataclass(frozen=True)
class MailIncident:
    """A message set aside after failing every attempt."""

    id: int
    message_id: str
    sender: str
    subject: str
    error: str | None
    attempts: int
    first_attempt_at: datetime
    failed_at: datetime | None
    #: Its stored size in bytes (what a retry files).
    size: int
    #: `error` read back: code, params and technical detail (`stored_failures`).
    failure: StoredFailure | None = None


@dataclass(frozen=True)
class RefusedMail:
    """A message the intake refused; `reason` one of `engine.complaints.mail_limits.REASONS` (None: refused
    before reasons were recorded)."""

    id: int
    message_id: str
    sender: str
    subject: str
    reason: str | None
    processed_at: datetime


@dataclass(frozen=True)
class Refused:
    """The newest refused messages and how many there are in all."""

    items: list[RefusedMail]
    total: int


def waiting(session: Session, actor: Actor) -> int:
    """Mail incidents waiting for the actor (the navigation's count): all of them for administrators."""
    if actor.role != ADMIN:
        return 0
    return session.scalar(select(func.count()).select_from(MailAttempt).where(
        MailAttempt.status == "incident")) or 0


def incidents(uow: UnitOfWork, actor: Actor) -> list[MailIncident]:
    """Messages set aside, newest first."""
    check_can_handle(actor)
    rows = uow.session.execute(select(
        MailAttempt.id, MailAttempt.message_id, MailAttempt.sender, MailAttempt.subject, MailAttempt.last_error,
        MailAttempt.attempts, MailAttempt.first_attempt_at, MailAttempt.failed_at,
        func.coalesce(func.length(MailAttempt.raw), 0)).where(MailAttempt.status == "incident")
        .order_by(MailAttempt.failed_at.desc(), MailAttempt.id.desc()))
    return [MailIncident(id=r[0], message_id=r[1], sender=r[2], subject=r[3], error=r[4], attempts=r[5],
                         first_attempt_at=r[6], failed_at=r[7], size=r[8], failure=read_failure(r[4])) for r in rows]


def refused(uow: UnitOfWork, actor: Actor, limit: int = REFUSED_SHOWN) -> Refused:
    """Refused messages, newest first (at most `limit`), and their number."""
    check_can_handle(actor)
    session = uow.session
    where = MailMessage.outcome == "refused"
    total = session.scalar(select(func.count()).select_from(MailMessage).where(where)) or 0
    rows = session.scalars(select(MailMessage).where(where)
                           .order_by(MailMessage.processed_at.desc(), MailMessage.id.desc()).limit(limit))
    return Refused(items=[RefusedMail(id=m.id, message_id=m.message_id, sender=m.sender, subject=m.subject,
                                      reason=m.reason, processed_at=m.processed_at) for m in rows], total=total)


def _incident(session: Session, incident_id: int) -> MailAttempt:
    row = session.scalar(select(MailAttempt).where(MailAttempt.id == incident_id).with_for_update())
    if row is None:
        raise NotFound(Code.MAIL_INCIDENT_NOT_FOUND, incident=incident_id)
    if row.status != "incident":
        raise Conflict(Code.MAIL_NOT_INCIDENT, status=row.status)
    return row


@use_case
def retry(uow: UnitOfWork, actor: Actor, incident_id: int) -> None:
    """Queue a set-aside message again once its cause is fixed: the mailbox worker's next pass files its stored
    copy, with its attempts counted from nought."""
    check_can_handle(actor)
    row = _incident(uow.session, incident_id)
    row.status, row.attempts, row.next_attempt_at, row.failed_at = "retrying", 0, clock.now(), None
    audit.record(uow.session, None, actor, "mail_incident_retried", data={"message": row.message_id})


@use_case
def dismiss(uow: UnitOfWork, actor: Actor, incident_id: int) -> None:
    """Leave a set-aside message unfiled for good (it stays, read, in the mailbox); its stored copy is dropped."""
    check_can_handle(actor)
    row = _incident(uow.session, incident_id)
    row.status, row.raw = "dismissed", None
    audit.record(uow.session, None, actor, "mail_incident_dismissed", data={"message": row.message_id})
