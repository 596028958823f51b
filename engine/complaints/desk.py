"""The first page after signing in: what waits for the person, by role (their tasks, the role's shared
pool 待领取任务, overdue and due soon, for managers approvals and escalations, for the general manager the
deferral requests, and unread notifications)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine import clock
from engine.complaints import inbox, worklist
from engine.complaints import incidents as timer_incidents
from engine.db import UnitOfWork
from engine.models import Deferral
from engine.people.access import may_decide_deferrals
from engine.people.roles import Actor

#: How many tasks each list of the first page shows (the rest is one click away).
SHOWN = 8


@dataclass(frozen=True)
class Counts:
    """The navigation's counts."""

    waiting: worklist.Waiting
    unread: int
    deferrals: int
    #: Timers that failed every retry (administrators and process owners; 0 for others).
    incidents: int


@dataclass(frozen=True)
class Desk:
    """The first page: the counts and the first tasks of each list."""

    counts: Counts
    mine: worklist.Page
    unclaimed: worklist.Page
    overdue: worklist.Page
    due_soon: worklist.Page
    #: Tasks escalated after a missed deadline, whoever holds them (managers).
    escalated: worklist.Page


def counts(uow: UnitOfWork, actor: Actor) -> Counts:
    """What waits for the actor, counted (a few indexed counts: shown on every page's navigation)."""
    pending = uow.session.scalar(select(func.count()).select_from(Deferral).where(
        Deferral.status == "pending")) if may_decide_deferrals(actor) else 0
    return Counts(waiting=worklist.waiting(uow.session, actor, clock.now()), unread=inbox.unread_count(uow, actor),
                  deferrals=pending or 0, incidents=timer_incidents.waiting(uow.session, actor))


def desk(uow: UnitOfWork, actor: Actor) -> Desk:
    """The actor's first page."""
    now = clock.now()

    def first(scope: str, **filters) -> worklist.Page:
        return worklist.list_tasks(uow.session, actor, scope, now, per_page=SHOWN,
                                   filters=worklist.Filters(**filters))

    return Desk(counts=counts(uow, actor), mine=first("mine"), unclaimed=first("queue"),
                overdue=first("overdue"), due_soon=first("due_soon"), escalated=first("all", due="escalated"))
