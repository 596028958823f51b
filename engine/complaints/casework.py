"""Working on a complaint beyond its tasks: comments, contacts with the customer, and the views the
staff pages are built from (the complaint with its timeline, a task with its form)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import defer

from engine import audit, clock
from engine.complaints import deadlines, deferrals, evidence, intake, rounds, tasks
from engine.complaints import form_drafts as drafts
from engine.complaints.worklist import can_work
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import AuditEvent, Comment, Complaint, Contact, Evidence, ModelFile, User, WorkTask
from engine.people.access import check_can_contribute, check_can_view, may_contribute
from engine.people.roles import Actor
from engine.people.users import display_names
from engine.workflow.deploy import current_version
from engine.workflow.versions import LoadedVersion, TaskMeta, load_version
from forms.errors import FieldErrors, FormCode, error
from forms.schema import FormDefinition
from forms.validate import on_the_calendar, text_errors

#: How staff reached the customer (or the customer reached them).
CONTACT_CHANNELS = ("phone", "sms", "email", "on_site", "platform_message", "web", "other")
#: A contact may be recorded a little ahead of the server's clock (clocks of PCs drift), not more.
FUTURE_TOLERANCE = timedelta(minutes=5)
#: The name under which the start event's form is listed with the task forms.
INTAKE = "intake"


# --- comments and contacts ---------------------------------------------------------------------------

@use_case
def add_comment(uow: UnitOfWork, actor: Actor, complaint_id: int, body: str) -> int:
    """Add an internal note to a complaint."""
    complaint = _contributable(uow, actor, complaint_id)
    body = (body or "").strip()
    errors = text_errors(body)
    if errors:
        raise InvalidInput({"body": errors})
    comment = Comment(complaint_id=complaint.id, author_id=actor.id, body=body, created_at=clock.now())
    uow.session.add(comment)
    uow.session.flush()
    audit.record(uow.session, complaint.id, actor, "comment_added", data={"body": body})
    return comment.id


@use_case
def record_contact(uow: UnitOfWork, actor: Actor, complaint_id: int, contacted_at: datetime | None,
                   channel: str, summary: str) -> int:
    """Record one contact with the customer: when, how, and what was said."""
    complaint = _contributable(uow, actor, complaint_id)
    summary = (summary or "").strip()
    errors: FieldErrors = {}
    if contacted_at is None:
        errors["contacted_at"] = [error(FormCode.REQUIRED)]
    elif contacted_at.tzinfo is None:
        errors["contacted_at"] = [error(Code.NEEDS_TIME_ZONE)]
    elif not on_the_calendar(contacted_at):  # year 1 cannot be stored as UTC
        errors["contacted_at"] = [error(FormCode.NOT_A_DATE_TIME)]
    elif contacted_at > clock.now() + FUTURE_TOLERANCE:
        errors["contacted_at"] = [error(Code.TIME_IN_FUTURE)]
    if channel not in CONTACT_CHANNELS:
        errors["channel"] = [error(FormCode.NOT_AN_OPTION)]
    if problems := text_errors(summary):
        errors["summary"] = problems
    if errors:
        raise InvalidInput(errors)
    assert contacted_at is not None  # a missing time is among the errors above
    contacted_at = contacted_at.astimezone(UTC)  # SQLite keeps the wall time only: store UTC
    contact = Contact(complaint_id=complaint.id, recorded_by_id=actor.id, contacted_at=contacted_at,
                      channel=channel, summary=summary, created_at=clock.now())
    uow.session.add(contact)
    uow.session.flush()
    audit.record(uow.session, complaint.id, actor, "contact_recorded",
                 data={"contacted_at": contacted_at.isoformat(), "channel": channel, "summary": summary})
    return contact.id


def _contributable(uow: UnitOfWork, actor: Actor, complaint_id: int) -> Complaint:
    complaint = get_complaint(uow, actor, complaint_id)
    check_can_contribute(actor, complaint)
    return complaint


# --- the complaint page ------------------------------------------------------------------------------

def get_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int, *, with_state: bool = True) -> Complaint:
    """A complaint the actor may see (NotFound, Forbidden otherwise); `with_state=False` leaves its workflow state
    unread until used (pages that show the complaint never need it: ≈ 26 KB of TOAST a row, docs/PERFORMANCE.md,
    "1,000,000 complaints")."""
    complaint = uow.session.get(Complaint, complaint_id, options=() if with_state else (defer(Complaint.state),))
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    check_can_view(actor, complaint)
    return complaint


def complaint_details(uow: UnitOfWork, actor: Actor, complaint_id: int) -> dict:
    """The complaint as plain data (CLI `show`, API): status, variables, open tasks with their forms,
    breaches, the audit trail."""
    complaint = get_complaint(uow, actor, complaint_id)
    version = load_version(uow.session, complaint.version_id)
    open_tasks = []
    for row, _holder in tasks.open_rows(uow.session, complaint.id):
        item = tasks.task_dict(uow.session, row)
        meta = version.task(row.name)
        item["form"] = {"schema": meta.form.schema, "ui": meta.form.ui}
        item["instructions"] = meta.instructions
        open_tasks.append(item)
    return {
        "id": complaint.id, "reference": complaint.reference, "status": complaint.status,
        "outcome": complaint.outcome, "version": complaint.lock_version,
        "process_version": version.content_hash[:12], "level": complaint.level,
        "category": complaint.category, "department": complaint.department, "round": complaint.round,
        "received_at": complaint.received_at.isoformat(), "created_at": complaint.created_at.isoformat(),
        "closed_at": complaint.closed_at.isoformat() if complaint.closed_at else None,
        "variables": complaint.variables, "open_tasks": open_tasks,
        "breaches": deadlines.breaches(uow.session, complaint.id),
        "audit": [
            {"at": e.at.isoformat(), "actor": e.actor_name, "kind": e.kind, "task": e.task_name, "data": e.data}
            for e in audit.timeline(uow.session, complaint.id)
        ],
    }


@dataclass(frozen=True)
class OpenTask:
    """An open task as the complaint page and the task lists show it."""

    row: WorkTask
    assignee: str | None
    #: May the viewer work on it (their role, and department for department heads)?
    workable: bool


@dataclass(frozen=True)
class Note:
    """A comment or a contact with the display name of who wrote it."""

    item: Comment | Contact
    #: Empty for a contact the customer made themselves (an e-mail reply, a repeat submission).
    author: str


@dataclass(frozen=True)
class ComplaintView:
    complaint: Complaint
    open_tasks: list[OpenTask]
    events: list[AuditEvent]
    comments: list[Note]
    contacts: list[Note]
    evidence: list[Evidence]
    #: Every form of the complaint's model version by task name (the intake form as `INTAKE`).
    forms: dict[str, FormDefinition]
    #: Model element id → (title, English title), as the complaint's model version names them: its user tasks
    #: and its end events (the complaint's `outcome`).
    titles: dict[str, tuple[str, str | None]]
    #: Username → display name, for everyone the page names (the timeline, who holds the open tasks, who
    #: asked for a deferral, who decided a deduction).
    names: dict[str, str]
    completed_tasks: list[str]
    can_contribute: bool
    #: Deferral requests of the complaint (plain data from engine.complaints.deferrals), oldest first.
    deferrals: list[dict]
    #: The complaint's penalty ledger entries (超时扣罚 and decided deductions), oldest first.
    ledger: list[dict] | None = None


def complaint_view(uow: UnitOfWork, actor: Actor, complaint_id: int) -> ComplaintView:
    """Everything the complaint page shows, for someone allowed to see the complaint."""
    complaint = get_complaint(uow, actor, complaint_id, with_state=False)
    session = uow.session
    version = load_version(session, complaint.version_id)
    events = audit.timeline(session, complaint.id)
    open_rows = tasks.open_rows(session, complaint.id)
    comments = list(session.execute(
        select(Comment, User.display_name).join(User, User.id == Comment.author_id)
        .where(Comment.complaint_id == complaint.id).order_by(Comment.id)))
    contacts = list(session.execute(
        select(Contact, User.display_name).outerjoin(User, User.id == Contact.recorded_by_id)
        .where(Contact.complaint_id == complaint.id).order_by(Contact.contacted_at, Contact.id)))
    requests = deferrals.list_deferrals(uow, actor, status=None, complaint_id=complaint.id)
    ledger = deadlines.breaches(session, complaint.id)
    people = {e.actor_name for e in events} | {name for _row, name in open_rows} \
        | {d["requested_by"] for d in requests} | {p["decided_by"] for p in ledger}
    return ComplaintView(
        complaint=complaint,
        open_tasks=[OpenTask(row=r, assignee=name, workable=can_work(actor, r)) for r, name in open_rows],
        events=events,
        comments=[Note(item=c, author=name) for c, name in comments],
        contacts=[Note(item=c, author=name or "") for c, name in contacts],
        evidence=evidence.of_complaint(uow, complaint.id),
        forms=forms_of(version),
        titles={**version.end_titles, **{name: (meta.title, meta.title_en) for name, meta in version.tasks.items()}},
        names=display_names(uow, {name for name in people if name}),
        completed_tasks=[e.task_name for e in events if e.kind == "task_completed" and e.task_name],
        can_contribute=may_contribute(actor),
        deferrals=requests,
        ledger=ledger,
    )


def forms_of(version: LoadedVersion) -> dict[str, FormDefinition]:
    """All forms of a model version by task name, the intake form under `INTAKE`."""
    forms = {name: meta.form for name, meta in version.tasks.items()}
    if version.intake is not None:
        forms[INTAKE] = version.intake.form
    return forms


def model_xml(uow: UnitOfWork, actor: Actor, complaint_id: int) -> str:
    """The BPMN file of the model version the complaint runs on."""
    complaint = get_complaint(uow, actor, complaint_id)
    version = load_version(uow.session, complaint.version_id)
    files = list(uow.session.scalars(select(ModelFile).where(
        ModelFile.version_id == complaint.version_id, ModelFile.path.like("%.bpmn"))))
    for file in files:
        if f'id="{version.spec.name}"' in file.content:
            return file.content
    if files:
        return files[0].content
    raise NotFound(Code.VERSION_HAS_NO_BPMN)


# --- the task page -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskView:
    row: WorkTask
    meta: TaskMeta
    complaint: Complaint
    assignee: str | None
    #: The actor's saved draft (values as typed), if any.
    draft: drafts.SavedDraft | None
    #: Values to start the form with when there is no draft: the complaint's data for fields it already
    #: has (e.g. the department routing chose), unless this task was completed before (a new round starts
    #: from an empty form rather than re-submitting last round's answers unseen).
    prefill: dict
    forms: dict[str, FormDefinition]
    #: A deferral request for this task waits for the general manager.
    deferral_pending: bool
    #: The answers by round (this round first) and, for a proposal sent back, the previous answer and the
    #: approver's instruction (engine.complaints.rounds).
    history: rounds.History | None = None
    #: Username → display name of who holds the task and who answered in its history.
    names: dict[str, str] = field(default_factory=dict)


def task_view(uow: UnitOfWork, actor: Actor, task_id: str) -> TaskView:
    """A task the actor may work on, with its form, the complaint, and the values to show."""
    row, meta, complaint = tasks.task_for_form(uow, actor, task_id)
    variables = complaint.variables or {}
    history = rounds.history(uow.session, complaint, row.name)
    done_before = any(answer.task == row.name for number in history.rounds for answer in number.answers)
    prefill = {} if done_before else {k: variables[k] for k in meta.form.properties if k in variables}
    if history.previous is not None:  # sent back in this round: start from what was proposed
        prefill = {k: v for k, v in history.previous.data.items() if k in meta.form.properties}
    # Who holds the task and who answered before it, by display name, in one read.
    actors = {answer.actor for number in history.rounds for answer in number.answers if answer.actor}
    people = uow.session.execute(select(User.id, User.username, User.display_name).where(
        or_(User.id == row.assignee_id, User.username.in_(actors)))).all() if row.assignee_id or actors else []
    assignee = next((username for user_id, username, _name in people if user_id == row.assignee_id), None)
    return TaskView(row=row, meta=meta, complaint=complaint, assignee=assignee,
                    draft=drafts.load(uow, actor, task_id), prefill=prefill,
                    forms=forms_of(load_version(uow.session, complaint.version_id)),
                    deferral_pending=bool(deferrals.pending_tasks(uow.session, {task_id})), history=history,
                    names={username: name for _id, username, name in people})


def check_can_add_to(uow: UnitOfWork, actor: Actor, complaint_id: int) -> None:
    """May the actor add comments, contacts or evidence to this complaint? (Asked before reading a post.)"""
    check_can_contribute(actor, get_complaint(uow, actor, complaint_id))


def outcome_titles(uow: UnitOfWork, process_id: str) -> dict[str, tuple[str, str | None]]:
    """The end events of the process's current version by id → (name, English name), for naming outcomes in
    lists of complaints."""
    version = current_version(uow.session, process_id)
    return load_version(uow.session, version.id).end_titles if version is not None else {}


def intake_forms(uow: UnitOfWork, process_id: str) -> dict[str, FormDefinition]:
    """The forms of the process's current version (for labelling list columns such as level and category)."""
    meta = intake.intake_form(uow, process_id)
    return {INTAKE: meta.form} if meta is not None else {}
