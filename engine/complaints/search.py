"""Finding complaints: filters over the indexed complaint columns, a page at a time or all for export."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select

from engine.complaints.worklist import Page
from engine.db import UnitOfWork
from engine.models import Complaint
from engine.people.access import visible
from engine.people.roles import Actor

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Filters:
    """What to look for; empty fields do not filter. Times are aware datetimes (from inclusive, until
    exclusive); `text` is looked for in the reference, customer name / contact / id, order id and
    description."""

    status: str | None = None
    level: str | None = None
    category: str | None = None
    department: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None
    text: str | None = None


def search(uow: UnitOfWork, actor: Actor, filters: Filters, *, page: int = 1, per_page: int = 25) -> Page:
    """A page of the complaints the actor may see that match, newest first."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    query = _query(actor, filters)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(uow.session.scalars(query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                     .limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total, page=page, per_page=per_page)


def export(uow: UnitOfWork, actor: Actor, filters: Filters) -> Iterator[Complaint]:
    """Every matching complaint the actor may see, oldest first, read in batches."""
    query = (_query(actor, filters).order_by(Complaint.received_at, Complaint.id)
             .execution_options(yield_per=500))
    yield from uow.session.scalars(query)


def _query(actor: Actor, filters: Filters) -> Select:
    query = select(Complaint).where(visible(actor))
    for column, value in ((Complaint.status, filters.status), (Complaint.level, filters.level),
                          (Complaint.category, filters.category), (Complaint.department, filters.department),
                          (Complaint.channel, filters.channel)):
        if value:
            query = query.where(column == value)
    # Compared in UTC: SQLite keeps the wall time only, so another zone's times would shift.
    if filters.created_from is not None:
        query = query.where(Complaint.received_at >= filters.created_from.astimezone(UTC))
    if filters.created_until is not None:
        query = query.where(Complaint.received_at < filters.created_until.astimezone(UTC))
    text = (filters.text or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Complaint.reference, Complaint.customer_name, Complaint.customer_contact, Complaint.customer_id,
            Complaint.order_id, Complaint.description))))
    return query
