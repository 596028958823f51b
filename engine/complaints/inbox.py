"""The notifications addressed to a user (the outbox), for reading in the UI whether or not e-mail is sent."""
from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, func, select, update

from engine import clock
from engine.complaints.worklist import Page
from engine.db import UnitOfWork, use_case
from engine.errors import Code, NotFound
from engine.models import Complaint, Notification
from engine.people.roles import ADMIN, Actor


def messages(uow: UnitOfWork, actor: Actor, *, page: int = 1, per_page: int = 25) -> Page:
    """A page of the actor's notifications, newest first, as (notification, complaint reference) pairs;
    administrators see everyone's."""
    query = (select(Notification, Complaint.reference)
             .outerjoin(Complaint, Complaint.id == Notification.complaint_id))
    if actor.role != ADMIN:
        query = query.where(Notification.user_id == actor.id)
    page = max(1, page)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.execute(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=[tuple(row) for row in rows], total=total, page=page, per_page=per_page)


def unread(actor: Actor):
    """The actor's own unread notifications' ids (the navigation counts them, `engine.complaints.desk`)."""
    return select(Notification.id).where(Notification.user_id == actor.id, Notification.read_at.is_(None))


@use_case
def open_message(uow: UnitOfWork, actor: Actor, notification_id: int) -> int | None:
    """Mark one of the actor's notifications read (they opened it); returns its complaint's id, if any.
    Another user's notification is not revealed (NotFound)."""
    row = uow.session.get(Notification, notification_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(Code.NOTIFICATION_NOT_FOUND, notification=notification_id)
    if row.read_at is None:
        row.read_at = clock.now()
    return row.complaint_id


@use_case
def mark_all_read(uow: UnitOfWork, actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    result = uow.session.execute(update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).values(read_at=clock.now()))
    return cast(CursorResult, result).rowcount  # an UPDATE's result is a cursor result
