"""The task table: open user tasks mirrored from workflows, and the lists people work from."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, bindparam, false, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import util as sql_util

from engine import audit
from engine.models import Complaint, User, WorkTask
from engine.people.roles import AGENT, DEPARTMENT_HEAD, MANAGER_ROLES, OVERSEER_ROLES, SYSTEM, Actor
from engine.workflow.runtime import ready_user_tasks
from engine.workflow.versions import LoadedVersion

DUE_SOON = timedelta(hours=2)
SCOPES = ("mine", "queue", "overdue", "due_soon", "all")
SORTS = {
    "due": WorkTask.due_at,
    "created": WorkTask.created_at,
    "level": Complaint.level,
    "reference": Complaint.reference,
    "task": WorkTask.name,
}


def sync(session: Session, complaint: Complaint, workflow, version: LoadedVersion, now: datetime,
         due_times: dict[str, datetime] | None = None,
         loaded: list[WorkTask] | None = None,
         ready_tasks: list | None = None) -> tuple[list[WorkTask], list[WorkTask]]:
    """Make the complaint's open rows match the workflow's READY user tasks.

    Returns (the open rows, the rows created now). `loaded`: the complaint's open rows, when the caller
    (the timer worker, for a whole batch) has read them already; `ready_tasks`: the READY user tasks, when the
    caller found them already.

    Rows whose task is no longer ready were cancelled by the workflow (e.g. an interrupting timer).
    """
    due_times = due_times or {}
    ready = {str(t.id): t for t in (ready_user_tasks(workflow) if ready_tasks is None else ready_tasks)}
    if loaded is None:
        loaded = list(session.scalars(
            select(WorkTask).where(WorkTask.complaint_id == complaint.id, WorkTask.status == "open")))
    # Filtered again in memory: a row completed in this transaction may not be flushed yet.
    rows = {r.id: r for r in loaded if r.status == "open"}
    for row_id, row in rows.items():
        if row_id not in ready:
            row.status = "cancelled"
            row.completed_at = now
            audit.record(session, complaint.id, SYSTEM, "task_cancelled", task_id=row.id, task_name=row.name)
        elif row_id in due_times:
            row.due_at = due_times[row_id]
    still_open = [row for row_id, row in rows.items() if row_id in ready]
    created = []
    for task_id, task in ready.items():
        if task_id in rows:
            continue
        meta = version.task(task.task_spec.bpmn_id)
        role = meta.role or AGENT
        row = WorkTask(
            id=task_id, complaint_id=complaint.id, name=meta.name, title=meta.title, title_en=meta.title_en,
            role=role, department=task.data.get("department") if role == DEPARTMENT_HEAD else None,
            assignee_id=complaint.owner_id if role == AGENT else None,
            status="open", created_at=now, due_at=due_times.get(task_id),
        )
        session.add(row)
        still_open.append(row)
        created.append(row)
        # The handling round the task belongs to (forms show each round's answers: engine.complaints.rounds).
        audit.record(session, complaint.id, SYSTEM, "task_opened", task_id=task_id, task_name=meta.name,
                     data={"role": row.role, "department": row.department, "round": task.data.get("round")})
    return still_open, created


def can_work(actor: Actor, row: WorkTask) -> bool:
    """Does the actor hold the task's role (and department, for department heads), or is the task
    escalated to the actor's role?"""
    if is_escalated_to(actor, row) or is_deputy_for(actor, row):
        return True
    if actor.role != row.role:
        return False
    return row.role != DEPARTMENT_HEAD or actor.department == row.department


def is_deputy_for(actor: Actor, row: WorkTask) -> bool:
    """Is the actor a running deputy (责任代理人) of the department head the task is for?"""
    return row.role == DEPARTMENT_HEAD and row.department is not None and row.department in actor.acting_for


def is_escalated_to(actor: Actor, row: WorkTask) -> bool:
    """Was the task escalated to the actor's role after a missed deadline?"""
    return row.escalated_to is not None and actor.role == row.escalated_to


@dataclass(frozen=True)
class TaskListItem:
    id: str
    complaint_id: int
    reference: str | None
    name: str
    title: str
    title_en: str | None
    role: str
    department: str | None
    assignee: str | None
    level: str
    category: str
    customer_name: str
    created_at: datetime
    due_at: datetime | None
    warned: bool = False
    escalated_to: str | None = None
    #: The holder's display name (what people are shown; `assignee` is the login name).
    assignee_name: str | None = None


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int
    #: Counting stopped: there are more than `total` (`list_tasks`' `count_limit`).
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


#: The task lists' due-state filter: past the deadline, within `DUE_SOON` of it, warned by the model's
#: warning timer, escalated after a missed deadline, or without a deadline.
DUE_STATES = ("overdue", "due_soon", "warned", "escalated", "none")
#: Who holds the task: nobody (待领取), the actor, someone else.
CLAIM_STATES = ("unclaimed", "mine", "others")
MAX_TEXT = 100


@dataclass(frozen=True)
class Filters:
    """What a task list is narrowed to; None (or empty) leaves that dimension open."""

    level: str | None = None
    category: str | None = None
    department: str | None = None
    due: str | None = None
    claim: str | None = None
    text: str | None = None


#: A moment in a list's conditions: a time, or a parameter of a statement built once (`_list_queries`).
Moment = datetime | ColumnElement[datetime]


def _filtered(actor: Actor, filters: Filters, now: Moment, soon: Moment) -> list:
    """The conditions of `filters`; `soon`: the end of the due-soon window (`now` + `DUE_SOON`)."""
    conditions = []
    if filters.level:
        conditions.append(Complaint.level == filters.level)
    if filters.category:
        conditions.append(Complaint.category == filters.category)
    if filters.department:
        conditions.append(Complaint.department == filters.department)
    if filters.due == "overdue":
        conditions.append(WorkTask.due_at < now)
    elif filters.due == "due_soon":
        conditions.extend((WorkTask.due_at >= now, WorkTask.due_at < soon))
    elif filters.due == "warned":
        conditions.append(WorkTask.warned_at.is_not(None))
    elif filters.due == "escalated":
        conditions.append(WorkTask.escalated_to.is_not(None))
    elif filters.due == "none":
        conditions.append(WorkTask.due_at.is_(None))
    if filters.claim == "unclaimed":
        conditions.append(WorkTask.assignee_id.is_(None))
    elif filters.claim == "mine":
        conditions.append(WorkTask.assignee_id == actor.id)
    elif filters.claim == "others":
        conditions.append(WorkTask.assignee_id.is_not(None) & (WorkTask.assignee_id != actor.id))
    text = (filters.text or "").strip()[:MAX_TEXT]
    if text:
        # The user's text is matched literally: LIKE's wildcards in it are escaped.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in (
            Complaint.reference, Complaint.customer_name, WorkTask.title, WorkTask.title_en, Complaint.order_id))))
    return conditions


def _scope(actor: Actor, scope: str, now: Moment, soon: Moment | None = None) -> list:
    """The conditions of the list `scope`; `soon`: the end of the due-soon window (default `now` + `DUE_SOON`)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown task list {scope!r}")
    conditions = [WorkTask.status == "open"]
    conditions.append(WorkTask.assignee_id == actor.id if scope == "mine" else _visible(actor))
    if scope == "queue":
        # The role's shared pool (待领取任务): its tasks nobody holds (the actor's own are in "mine").
        conditions.append(_works(actor))
        conditions.append(WorkTask.assignee_id.is_(None))
    elif scope == "overdue":
        conditions.append(WorkTask.due_at < now)
    elif scope == "due_soon":
        conditions.extend((WorkTask.due_at >= now, WorkTask.due_at < (now + DUE_SOON if soon is None else soon)))
    # "all": every open task the actor sees (managers assign and reassign from it).
    return conditions


def _works(actor: Actor):
    """The tasks the actor's role works: its own, escalated to it, or a department's they stand in for."""
    return or_(WorkTask.role == actor.role, WorkTask.escalated_to == actor.role, _deputy(actor))


def _deputy(actor: Actor):
    return (WorkTask.role == DEPARTMENT_HEAD) & WorkTask.department.in_(actor.acting_for) if actor.acting_for \
        else false()


def list_tasks(session: Session, actor: Actor, scope: str, now: datetime, *, page: int = 1,
               per_page: int = 50, sort: str = "due", descending: bool = False,
               filters: Filters | None = None, count_limit: int | None = None) -> Page:
    """One page of open tasks in `scope` for `actor`, narrowed by `filters`, read from the task table and
    the complaint's list columns only. With `count_limit` the total is counted up to that many (or up to this page's
    last row, if further) and `more` says there are more; without, exactly."""
    page = max(1, page)
    counts, query = _list_queries(actor, scope, page, per_page, sort, descending, filters or Filters(), count_limit)
    moments = {"now": now, "soon": now + DUE_SOON}
    shown = page * per_page
    limit = None if count_limit is None else max(count_limit, shown) + 1
    total = sum(session.scalar(q, moments) or 0 for q in counts)
    more = limit is not None and total >= limit
    total = min(total, limit - 1) if limit is not None else total
    if total <= shown - per_page:  # nothing on this page: no need to read it
        return Page(items=[], total=total, page=page, per_page=per_page, more=more)
    items = [
        TaskListItem(
            id=r.id, complaint_id=r.complaint_id, reference=r.reference, name=r.name, title=r.title,
            title_en=r.title_en, role=r.role, department=r.department, assignee=r.username, level=r.level,
            category=r.category, customer_name=r.customer_name, created_at=r.created_at, due_at=r.due_at,
            warned=r.warned_at is not None, escalated_to=r.escalated_to, assignee_name=r.display_name,
        )
        for r in session.execute(query, moments)
    ]
    return Page(items=items, total=total, page=page, per_page=per_page, more=more)


@functools.lru_cache(maxsize=512)
def _list_queries(actor: Actor, scope: str, page: int, per_page: int, sort: str, descending: bool, filters: Filters,
                  count_limit: int | None) -> tuple[list[Select], Select]:
    """`list_tasks`' counting statements and its page's statement, built once per list, person and process with the
    time as parameters (`now`, `soon`): building them and their cache keys cost more than running them, on every
    list page (docs/PERFORMANCE.md, "1,000,000 complaints")."""
    now: Moment = bindparam("now")
    soon: Moment = bindparam("soon")
    filtered = _filtered(actor, filters, now, soon)
    # The queue in its disjoint parts, each an index range (`_pool`); any other list in one.
    parts = [select(WorkTask.id).where(*part, *filtered)
             for part in (_pool(actor) if scope == "queue" else [_scope(actor, scope, now, soon)])]
    # Read on the task table alone unless a filter or the order reads the complaint: at 1,000,000 complaints the
    # join cost a key lookup per open task (docs/PERFORMANCE.md, "1,000,000 complaints").
    joined = any(_reads_complaint(c) for c in filtered)
    if joined:
        parts = [_with_complaint(q) for q in parts]
    shown = page * per_page
    limit = None if count_limit is None else max(count_limit, shown) + 1
    counts = [select(func.count()).select_from(q.limit(limit).subquery()) for q in parts]
    column = SORTS.get(sort, WorkTask.due_at)
    order = (column.desc() if descending else column.asc()).nulls_last()
    if not joined and _reads_complaint(order):
        parts = [_with_complaint(q) for q in parts]
    # The page's tasks are chosen first, on the task table in index order, each part read up to this page's last
    # row; only those are joined to their complaints (a misestimated range once joined thousands before sorting).
    firsts = [q.order_by(order, WorkTask.id).limit(shown).subquery() for q in parts]
    chosen = select(firsts[0].c.id) if len(firsts) == 1 else union_all(*(select(f.c.id) for f in firsts))
    query = (select(WorkTask.id, WorkTask.complaint_id, WorkTask.name, WorkTask.title, WorkTask.title_en,
                    WorkTask.role, WorkTask.department, WorkTask.created_at, WorkTask.due_at, WorkTask.warned_at,
                    WorkTask.escalated_to, Complaint.reference, Complaint.level, Complaint.category,
                    Complaint.customer_name, User.username, User.display_name)
             .join(Complaint, Complaint.id == WorkTask.complaint_id)
             .outerjoin(User, User.id == WorkTask.assignee_id)
             .where(WorkTask.id.in_(chosen))
             # NULL due times last either way; id as a tie-breaker keeps pages stable.
             .order_by(order, WorkTask.id))
    return counts, query.limit(per_page).offset(shown - per_page)


def _with_complaint(query):
    return query.join(Complaint, Complaint.id == WorkTask.complaint_id)


def _reads_complaint(clause) -> bool:
    return Complaint.__table__ in sql_util.find_tables(clause, check_columns=True)


def _pool(actor: Actor) -> list[list]:
    """The role's pool nobody holds (the "queue" scope: open, unheld, visible, worked by the actor's role) as
    disjoint parts, each read from a partial index of unheld open tasks (`ix_work_tasks_pool`,
    `ix_work_tasks_pool_escalated`). As one condition with OR the planner read every open task in due order
    (docs/PERFORMANCE.md, "1,000,000 complaints")."""
    unheld = [WorkTask.status == "open", WorkTask.assignee_id.is_(None)]
    if actor.role == DEPARTMENT_HEAD:  # what a department head sees is their role's, so theirs to work
        return [unheld + [_visible(actor)]]
    # Whatever the actor's role works they see (overseers see everything).
    parts = [unheld + [WorkTask.role == actor.role],
             unheld + [WorkTask.escalated_to == actor.role, WorkTask.role != actor.role]]
    if actor.acting_for:
        parts.append(unheld + [_deputy(actor), WorkTask.role != actor.role,
                               or_(WorkTask.escalated_to.is_(None), WorkTask.escalated_to != actor.role)])
    return parts


@dataclass(frozen=True)
class Waiting:
    """How much waits for the actor (the first page and the navigation's counts)."""

    mine: int
    #: The role's shared pool nobody holds (待领取任务).
    unclaimed: int
    overdue: int
    due_soon: int
    #: Tasks escalated after a missed deadline that the actor sees (held or not: the list the tile opens).
    escalated: int
    #: Managers: the approvals and sign-offs of their role waiting (0 for other roles).
    approvals: int


def waiting(session: Session, actor: Actor, now: datetime) -> Waiting:
    """Count what waits for the actor exactly (the first page's tiles), on the task table alone, in one pass over the
    open tasks the actor holds or sees: six separate counts cost 30 ms at 30,000 open tasks (docs/PERFORMANCE.md,
    "1,000,000 complaints"). The other pages' navigation counts less: `pool_counts`."""
    visible, mine = _visible(actor), WorkTask.assignee_id == actor.id
    approvals = (WorkTask.role == actor.role) if actor.role in MANAGER_ROLES else false()
    counts = session.execute(select(
        func.count().filter(mine),
        func.count().filter(visible, _works(actor), WorkTask.assignee_id.is_(None)),
        func.count().filter(visible, WorkTask.due_at < now),
        func.count().filter(visible, WorkTask.due_at >= now, WorkTask.due_at < now + DUE_SOON),
        func.count().filter(visible, WorkTask.escalated_to.is_not(None)),
        func.count().filter(visible, approvals),
    ).where(WorkTask.status == "open", or_(visible, mine))).one()
    return Waiting(*(n or 0 for n in counts))


def pool_counts(actor: Actor, limit: int) -> tuple:
    """The navigation's two counts as scalar subqueries: the actor's open tasks ("mine") and the role's pool nobody
    holds ("queue"), each stopping at `limit` rows: a large pool is not read through on every page view (a pool
    smaller than `limit` still is, from the open-task index; docs/PERFORMANCE.md, "1,000,000 complaints").
    Neither reads the time, so the statement can be built once per person (`desk`); "mine" gets a parameter for
    it that is never given, so that a condition on the time added later fails instead of being frozen in."""
    mine = capped_count(select(WorkTask.id).where(*_scope(actor, "mine", bindparam("now"))), limit)
    return mine, sum((capped_count(select(WorkTask.id).where(*part), limit) for part in _pool(actor)), literal(0))


def capped_count(query, limit: int):
    """How many rows `query` has, counting at most `limit` (a scalar subquery)."""
    return select(func.count()).select_from(query.limit(limit).subquery()).scalar_subquery()


def _visible(actor: Actor):
    """Which open tasks an actor may see in role lists: their role's (department's), or all for overseers."""
    if actor.role in OVERSEER_ROLES:
        return WorkTask.id.is_not(None)
    if actor.role == DEPARTMENT_HEAD:
        return or_((WorkTask.role == actor.role) & (WorkTask.department == actor.department), _deputy(actor))
    return or_(WorkTask.role == actor.role, WorkTask.assignee_id == actor.id, WorkTask.escalated_to == actor.role,
               _deputy(actor))
