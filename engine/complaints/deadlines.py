"""Deadlines: the timer table, and what a fired timer means — a warning, or a breach recorded in the
penalty ledger and escalated to the holder's superior (the task stays open; no work is lost)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine import audit, bulk
from engine.complaints import notifications, responsible
from engine.errors import Code, InvalidInput
from engine.models import Complaint, Penalty, Timer, User, WorkTask
from engine.people.roles import AGENT, CS_MANAGER, DEPARTMENT_HEAD, GENERAL_MANAGER, SYSTEM, Actor
from engine.workflow import runtime
from engine.workflow.functions import is_no_deadline
from forms.errors import FormCode

#: Whom a breached task escalates to (DOMAIN §4); crisis complaints go to the general manager at once.
SUPERIOR = {AGENT: CS_MANAGER, DEPARTMENT_HEAD: GENERAL_MANAGER, CS_MANAGER: GENERAL_MANAGER}


#: How far ahead of the program's clock a typed-in time of receipt may lie (clocks of desks differ a little).
CLOCK_SKEW = timedelta(minutes=5)


def stamp_receipt(data: dict, now: datetime, max_age: timedelta) -> datetime:
    """Check the intake's time of receipt (受理时间) and write it into `data` as UTC ISO 8601; return it.

    Every clock of the regulation counts from it (docs/data-dictionary.md). Absent means "received now".
    Refused (InvalidInput on `received_at`): more than `CLOCK_SKEW` in the future, or older than `max_age`.
    """
    given = data.get("received_at")
    if given in (None, ""):
        received = now
    else:
        try:
            received = datetime.fromisoformat(str(given))
        except ValueError:  # the intake form checks the format; a model without that field does not
            raise InvalidInput.field("received_at", FormCode.NOT_A_DATE_TIME) from None
        if received.tzinfo is None:  # the form validator adds the zone; data from elsewhere may lack it
            raise InvalidInput.field("received_at", Code.NEEDS_TIME_ZONE)
        if received > now + CLOCK_SKEW:
            raise InvalidInput.field("received_at", Code.TIME_IN_FUTURE)
        if received < now - max_age:
            raise InvalidInput.field("received_at", Code.RECEIVED_TOO_LONG_AGO, days=max_age.days)
        received = min(received, now)  # within the skew: the desk's clock was ahead, not the customer
    received = received.astimezone(UTC)
    data["received_at"] = received.isoformat()
    return received


def alert_at_intake(session: Session, complaint: Complaint) -> None:
    """Special cases are reported at once (特殊情况当即汇报): when the policy says so for the level
    (`report_at_once`: 重大投诉 and 危机事件), the general manager and the CS manager are told through the
    outbox in the intake's own transaction, before any deadline passes."""
    if (complaint.variables or {}).get("report_at_once") is not True:
        return
    recipients = (notifications.users_for(session, GENERAL_MANAGER) + notifications.users_for(session, CS_MANAGER))
    notifications.notify(session, recipients, "special_case", str(complaint.id),
                         {"reference": complaint.reference, "customer": complaint.customer_name,
                          "level": complaint.level, "category": complaint.category}, complaint.id)
    audit.record(session, complaint.id, SYSTEM, "special_case_reported",
                 data={"level": complaint.level, "to": [u.username for u in recipients]})


def sync(session: Session, complaint: Complaint, workflow, waiting: list[runtime.WaitingTimer],
         now: datetime, loaded: list[Timer] | None = None, tasks: runtime.OpenTasks | None = None) -> list[Timer]:
    """Make the timer table match the workflow; apply the effects of timers that fired. Returns those.
    `loaded`: every timer row of the complaint, when the caller (the timer worker's batch) read them already;
    `tasks`: the workflow's open tasks, when the caller found them already."""
    if loaded is None:
        rows = {r.id: r for r in session.scalars(select(Timer).where(
            Timer.complaint_id == complaint.id, Timer.status.in_(("waiting", "incident"))))}
    else:
        rows = {r.id: r for r in loaded if r.status in ("waiting", "incident")}
    waiting_by_id = {t.task_id: t for t in waiting}
    fired = []
    for row_id, row in rows.items():
        timer = waiting_by_id.get(row_id)
        if timer is not None:
            if timer.due_at != row.due_at:  # moved by an approved deferral
                row.due_at = row.next_attempt_at = timer.due_at
            continue
        if runtime.task_state(workflow, row_id) == "COMPLETED":
            row.status, row.fired_at = "fired", now
            fired.append(row)
        else:
            row.status = "cancelled"
    fired += _fired_without_waiting(session, complaint, workflow, now,
                                    None if loaded is None else {r.id for r in loaded}, tasks)
    for timer in waiting:
        if timer.task_id not in rows and not is_no_deadline(timer.due_at):
            session.add(Timer(
                id=timer.task_id, complaint_id=complaint.id, name=timer.name, kind=timer.kind,
                work_task_id=timer.attached_task_id, task_name=timer.attached_task_name,
                due_at=timer.due_at, next_attempt_at=timer.due_at, status="waiting", attempts=0,
            ))
    for row in fired:
        _apply(session, complaint, row, now)
    return fired


def due_times(waiting: list[runtime.WaitingTimer]) -> dict[str, datetime]:
    """Each open task's due time: the earliest of its deadlines (a task may have two, e.g. the first phone
    contact and the agreement), leaving out deadlines that do not apply (`no_deadline()`)."""
    due: dict[str, datetime] = {}
    for timer in waiting:
        if timer.kind == "deadline" and timer.attached_task_id and not is_no_deadline(timer.due_at):
            task = timer.attached_task_id
            due[task] = min(due.get(task, timer.due_at), timer.due_at)
    return due


def _fired_without_waiting(session: Session, complaint: Complaint, workflow, now: datetime,
                           known: set[str] | None = None, tasks: runtime.OpenTasks | None = None) -> list[Timer]:
    """Rows for limits that had already passed when their task opened (a complaint recorded late, a step that
    opened after its limit counted from receipt): they fired at once and are a timeout at once. `known`: the
    ids of the complaint's timer rows, when the caller read them already."""
    fired = runtime.fired_sla_timers(workflow, tasks)
    if not fired:
        return []
    if known is None:
        known = set(session.scalars(select(Timer.id).where(Timer.id.in_([t.task_id for t in fired]))))
    rows = []
    for timer in fired:
        if timer.task_id in known:
            continue
        row = Timer(id=timer.task_id, complaint_id=complaint.id, name=timer.name, kind=timer.kind,
                    work_task_id=timer.attached_task_id, task_name=timer.attached_task_name,
                    due_at=timer.due_at, next_attempt_at=timer.due_at, status="fired", fired_at=now, attempts=0)
        session.add(row)
        rows.append(row)
    return rows


def _work_task(session: Session, task_id: str) -> WorkTask | None:
    """The task row, also when it was opened in this very step (added, not flushed: progress.record holds
    the flush back until the end)."""
    return session.get(WorkTask, task_id) or next(
        (o for o in session.new if isinstance(o, WorkTask) and o.id == task_id), None)


def _apply(session: Session, complaint: Complaint, timer: Timer, now: datetime) -> None:
    work = _work_task(session, timer.work_task_id) if timer.work_task_id else None
    if timer.kind == "warning" and work is not None and work.status == "open":
        work.warned_at = now
        audit.record(session, complaint.id, SYSTEM, "deadline_warning", task_id=work.id, task_name=work.name,
                     data={"due_at": _deadline_of(session, work)})
        notifications.notify(session, holders(session, work), "warning", timer.id,
                             dict(task_params(complaint, work), due=_deadline_of(session, work)), complaint.id)
    elif timer.kind == "deadline" and work is not None:
        _breach(session, complaint, timer, work, now)


def _breach(session: Session, complaint: Complaint, timer: Timer, work: WorkTask, now: datetime) -> None:
    person_id = work.assignee_id or _sole_holder(session, work)
    if work.due_at is None or timer.due_at < work.due_at:  # a limit passed before its task opened
        work.due_at = timer.due_at
    amount = int(complaint.variables.get("penalty") or 0)
    penalty = {"complaint_id": complaint.id, "kind": "timeout", "timer_id": timer.id, "work_task_id": work.id,
               "task_name": work.name, "deadline": timer.due_at, "person_id": person_id, "person_name": None,
               "reason": None, "decided_by_id": None, "role": work.role, "department": work.department,
               "level": complaint.level, "amount": amount, "recorded_at": now}
    if not bulk.add(session, Penalty, penalty):  # the timer worker's batch inserts them together
        session.add(Penalty(**penalty))
    audit.record(session, complaint.id, SYSTEM, "deadline_breached", task_id=work.id, task_name=work.name,
                 data={"deadline": timer.due_at.isoformat(), "person_id": person_id, "amount": amount})
    superior = GENERAL_MANAGER if complaint.variables.get("escalate_to_gm") else SUPERIOR.get(work.role)
    recipients = holders(session, work)
    if work.status == "open" and superior and superior != work.role and work.escalated_to is None:
        work.escalated_to, work.escalated_at = superior, now
        audit.record(session, complaint.id, SYSTEM, "task_escalated", task_id=work.id, task_name=work.name,
                     data={"to": superior})
        recipients += notifications.users_for(session, superior)
    notifications.notify(session, recipients, "breach", timer.id,
                         dict(task_params(complaint, work), deadline=timer.due_at.isoformat(), amount=amount,
                              escalated_to=work.escalated_to), complaint.id)


def record_decided(session: Session, complaint: Complaint, work: WorkTask, schema: dict, answers: dict,
                   data: dict, decided_by: Actor, now: datetime) -> list[Penalty]:
    """Ledger entries for the deductions a completed form decided: every field the model marks `x-penalty`
    (docs/data-dictionary.md, "Penalty ledger") with an amount above 0 — the directly responsible person's
    deduction at implementation, the department supervisor's at the general manager's review.

    `x-penalty` names the `kind`, who is penalised — `person` (the variable holding their name) or
    `person_role` (the holder of that role in the complaint's department) — and the `reason` field.
    """
    entries = []
    for name, prop in (schema.get("properties") or {}).items():
        rule = prop.get("x-penalty") if isinstance(prop, dict) else None
        amount = answers.get(name)
        if not isinstance(rule, dict) or not isinstance(amount, int | float) or amount <= 0:
            continue
        person_id, person_name, role = None, None, rule.get("person_role") or "responsible_person"
        if rule.get("person_role"):
            people = notifications.users_for(session, rule["person_role"], complaint.department)
            if len(people) == 1:
                person_id, person_name = people[0].id, people[0].display_name
        else:
            person_name = str(data.get(rule.get("person")) or "").strip()[:200] or None
            user = responsible.resolve(session, person_name)
            if user is not None:  # a user named responsible: the deduction is recorded against them
                person_id = user.id
        entry = Penalty(
            complaint_id=complaint.id, kind=str(rule.get("kind") or "decided")[:20], timer_id=None,
            work_task_id=work.id, task_name=work.name, deadline=None, person_id=person_id, person_name=person_name,
            role=role[:40], department=complaint.department, level=complaint.level, amount=int(amount),
            reason=answers.get(rule.get("reason")) or None, decided_by_id=decided_by.id, recorded_at=now)
        session.add(entry)
        entries.append(entry)
        audit.record(session, complaint.id, decided_by, "penalty_decided", task_id=work.id, task_name=work.name,
                     data={"kind": entry.kind, "person": person_name, "amount": entry.amount,
                           "reason": entry.reason})
        if person_id is not None:  # the person penalised is told, with the reason ("告知并警示")
            notifications.notify(session, [session.get_one(User, person_id)], "penalty_decided",
                                 f"{work.id}:{entry.kind}", dict(task_params(complaint, work), amount=entry.amount,
                                                                 reason=entry.reason or ""), complaint.id)
    return entries


def task_params(complaint: Complaint, work: WorkTask) -> dict:
    """What every message about a task names: the complaint and the task (in both languages)."""
    return {"reference": complaint.reference, "customer": complaint.customer_name, "task": work.title,
            "task_en": work.title_en or work.title}


def holders(session: Session, work: WorkTask) -> list[User]:
    """Who holds a task: its assignee, else everyone of its role (and department)."""
    if work.assignee_id:
        user = session.get(User, work.assignee_id)
        return [user] if user is not None else []
    return notifications.users_for(session, work.role, work.department)


def _sole_holder(session: Session, work: WorkTask) -> int | None:
    """An unclaimed task is the responsibility of the one person who holds its role (of its department):
    the department head, the CS manager, the general manager. None when several share the role."""
    if work.role == AGENT:  # agents share a queue: an unclaimed agent task has no one person responsible
        return None
    holders_ = notifications.users_for(session, work.role, work.department)
    return holders_[0].id if len(holders_) == 1 else None


def _deadline_of(session: Session, work: WorkTask) -> str | None:
    return work.due_at.isoformat() if work.due_at else None


def breaches(session: Session, complaint_id: int) -> list[dict]:
    """The complaint's penalty ledger rows as plain data: timeouts and decided deductions (`kind`)."""
    decider = aliased(User)
    rows = session.execute(
        select(Penalty, User.username, decider.username).outerjoin(User, User.id == Penalty.person_id)
        .outerjoin(decider, decider.id == Penalty.decided_by_id)
        .where(Penalty.complaint_id == complaint_id).order_by(Penalty.id)).all()
    return [{"kind": p.kind, "task": p.task_name, "deadline": p.deadline.isoformat() if p.deadline else None,
             "person": username or p.person_name, "role": p.role, "department": p.department, "level": p.level,
             "amount": p.amount, "reason": p.reason, "decided_by": decided_by,
             "recorded_at": p.recorded_at.isoformat()} for p, username, decided_by in rows]
