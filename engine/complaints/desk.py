"""The first page after signing in: what waits for the person, by role (their tasks, the role's shared
pool 待领取任务, overdue and due soon, for managers approvals and escalations, for the general manager the
deferral requests, and unread notifications)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Select, func, literal, select

from engine import clock
from engine.complaints import inbox, worklist
from engine.complaints import incidents as timer_incidents
from engine.db import UnitOfWork
from engine.models import Deferral
from engine.people.access import may_decide_deferrals
from engine.people.roles import Actor

#: How many tasks each list of the first page shows (the rest is one click away).
SHOWN = 8
#: The navigation counts up to this many of each and shows more as "99+": counting every open task on every page
#: view cost tens of milliseconds at 30,000 open tasks (docs/PERFORMANCE.md, "1,000,000 complaints").
NAV_LIMIT = 100


@dataclass(frozen=True)
class Navigation:
    """The navigation's counts, shown on every page; each stops at `NAV_LIMIT` (incidents are counted exactly)."""

    mine: int
    #: The role's shared pool nobody holds (待领取任务).
    unclaimed: int
    unread: int
    deferrals: int
    #: Timers (and for administrators mail) that failed every retry (0 for those who do not handle them).
    incidents: int


@dataclass(frozen=True)
class Counts:
    """The first page's counts, exact."""

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


def counts(uow: UnitOfWork, actor: Actor) -> Navigation:
    """The navigation's counts in one round trip, each read from an index and stopping at `NAV_LIMIT`."""
    row = uow.session.execute(_navigation(actor)).one()
    return Navigation(mine=row[0] or 0, unclaimed=row[1] or 0, unread=row[2] or 0, deferrals=row[3] or 0,
                      incidents=timer_incidents.waiting(uow.session, actor))


@functools.lru_cache(maxsize=1024)
def _navigation(actor: Actor) -> Select:
    """The navigation's query for `actor`, built once per person and process: building it and its cache key took
    three times as long as running it, on every page (docs/PERFORMANCE.md, "1,000,000 complaints"). It reads
    nothing that depends on the time (the actor's tasks, the role's pool, unread notifications, deferrals), and the
    actor (frozen: id, role, department, the departments they stand in for) is the key."""
    mine, unclaimed = worklist.pool_counts(actor, NAV_LIMIT)
    unread = worklist.capped_count(inbox.unread(actor), NAV_LIMIT)
    pending = worklist.capped_count(_pending(), NAV_LIMIT) if may_decide_deferrals(actor) else literal(0)
    return select(mine, unclaimed, unread, pending)


def _pending():
    return select(Deferral.id).where(Deferral.status == "pending")


def _counts(uow: UnitOfWork, actor: Actor) -> Counts:
    """What waits for the actor, counted exactly (the first page's tiles)."""
    pending = uow.session.scalar(select(func.count()).select_from(_pending().subquery())) \
        if may_decide_deferrals(actor) else 0
    unread = uow.session.scalar(select(func.count()).select_from(inbox.unread(actor).subquery()))
    return Counts(waiting=worklist.waiting(uow.session, actor, clock.now()), unread=unread or 0,
                  deferrals=pending or 0, incidents=timer_incidents.waiting(uow.session, actor))


def desk(uow: UnitOfWork, actor: Actor) -> Desk:
    """The actor's first page."""
    now = clock.now()

    def first(scope: str, **filters) -> worklist.Page:
        return worklist.list_tasks(uow.session, actor, scope, now, per_page=SHOWN,
                                   filters=worklist.Filters(**filters))

    return Desk(counts=_counts(uow, actor), mine=first("mine"), unclaimed=first("queue"),
                overdue=first("overdue"), due_soon=first("due_soon"), escalated=first("all", due="escalated"))
