"""The notifications addressed to a user (the outbox), for reading in the UI whether or not e-mail is sent."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.complaints.worklist import Page
from engine.db import UnitOfWork
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
