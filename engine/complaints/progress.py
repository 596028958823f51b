"""Recording a complaint's progress after its workflow moved: variables, task table, timers and
their effects, notifications, outcome, and the compacted state — all in the caller's transaction.

Every step that moves a workflow (completing a task, firing timers, the customer's survey, moving a
deadline, migrating to a new version) goes through `locked_case`: lock the complaint's row, load its
workflow, let the step change it, record what follows."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, defer

from engine import audit
from engine.complaints import customers, deadlines, holidays, notifications, worklist
from engine.errors import Code, NotFound
from engine.models import Complaint, Deferral, Timer, WorkTask
from engine.people.roles import SYSTEM
from engine.workflow import runtime, store
from engine.workflow.versions import LoadedVersion, load_version

#: Complaint columns copied from the workflow's variables after every step (for lists and reports).
TRACKED = ("category", "level", "department", "round", "valid", "satisfied", "cause", "solution_type")


class Case:
    """A locked complaint during one step. Its workflow is loaded on first use, so a step that ends up
    not needing it (a refusal, a held timer) neither pays for it nor records anything."""

    def __init__(self, session: Session, complaint: Complaint):
        self.session = session
        self.complaint = complaint
        self._version: LoadedVersion | None = None
        self._workflow: Any = None
        self._record = False
        #: The open task rows once the step was recorded.
        self.open_rows: list[WorkTask] = []

    @property
    def version(self) -> LoadedVersion:
        """The model version the complaint runs on."""
        if self._version is None:
            self._version = load_version(self.session, self.complaint.version_id)
        return self._version

    @property
    def workflow(self) -> Any:
        """The complaint's workflow, loaded from its stored state; using it means the step is recorded."""
        if self._workflow is None:
            holidays.install(self.session)  # deadlines the step sets count the administrator's calendar
            self._workflow = load_workflow(self.complaint, self.version)
            runtime.hold_timers(self._workflow, held_timers(self.session, self.complaint.id))
            self._record = True
        return self._workflow

    def replace(self, workflow: Any, version: LoadedVersion) -> None:
        """Continue with another workflow object and version (a migration to a new model version)."""
        self._workflow, self._version, self._record = workflow, version, True

    def unchanged(self) -> None:
        """The workflow was only looked at: record nothing."""
        self._record = False


def load_workflow(complaint: Complaint, version: LoadedVersion, engine: Any = None) -> Any:
    """The complaint's workflow from its stored state (to look at it; steps use `locked_case`). `engine`: a
    script engine of `runtime.script_engine` to use (it holds nothing of a workflow: the timer worker's batch
    shares one), else a new one."""
    return store.load_state(complaint.state, version.spec, version.subprocess_specs,
                            engine or runtime.script_engine())


def held_timers(session: Session, complaint_id: int) -> set[str]:
    """The complaint's timers no step may fire, whatever else moves its workflow: those of a task whose
    deferral request waits for the general manager's decision, and incidents (an administrator retries
    them). The timer worker holds the same ones when it fires a batch."""
    pending = select(Deferral.work_task_id).where(Deferral.complaint_id == complaint_id,
                                                  Deferral.status == "pending")
    return set(session.scalars(select(Timer.id).where(
        Timer.complaint_id == complaint_id,
        or_(Timer.status == "incident", and_(Timer.status == "waiting", Timer.work_task_id.in_(pending))))))


def lock(session: Session, complaint_id: int, *, with_state: bool = True) -> Complaint:
    """The complaint's row, locked for this transaction (`FOR UPDATE`) and read as it is once locked;
    `with_state=False` leaves its workflow state unread (≈ 26 KB of TOAST a row) for steps that do not move it."""
    query = select(Complaint).where(Complaint.id == complaint_id).with_for_update()
    if not with_state:
        query = query.options(defer(Complaint.state))
    complaint = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    return complaint


@contextmanager
def locked_case(session: Session, complaint: int | Complaint, now: datetime) -> Iterator[Case]:
    """Lock the complaint (an id; or a row this transaction already locked), hand the step its `Case`,
    and when the step used the workflow, `record` what follows. A step that raises records nothing."""
    case = Case(session, complaint if isinstance(complaint, Complaint) else lock(session, complaint))
    yield case
    if case._record:
        case.open_rows = record(session, case.complaint, case._workflow, case.version, now)


@dataclass
class Loaded:
    """A complaint's rows that the caller read already (the timer worker reads them for a whole batch)."""

    #: Its open task rows.
    open_tasks: list[WorkTask]
    #: Every one of its timer rows, whatever their status.
    timers: list[Timer]


def record(session: Session, complaint: Complaint, workflow, version: LoadedVersion,
           now: datetime, loaded: Loaded | None = None, flush: bool = True,
           found: runtime.OpenTasks | None = None) -> list[WorkTask]:
    """Write everything that follows from the workflow's current state; return the open task rows.
    `loaded`: rows read already (else looked up); `flush=False` leaves the writing to the caller's flush
    (the timer worker flushes once for a batch of complaints); `found`: the workflow's open tasks as the
    step that moved it last left them (else found again)."""
    # One flush at the end instead of one before every lookup below (they only read what is stored).
    with session.no_autoflush:
        open_rows = _record(session, complaint, workflow, version, now, loaded, found)
    if flush:
        session.flush()
    return open_rows


def _record(session: Session, complaint: Complaint, workflow, version: LoadedVersion,
            now: datetime, loaded: Loaded | None, found: runtime.OpenTasks | None) -> list[WorkTask]:
    found = found or runtime.open_tasks(workflow)  # one walk of the task tree for everything below
    variables = runtime.current_data(workflow, found)
    complaint.variables = variables
    for name in TRACKED:
        if name in variables:
            setattr(complaint, name, variables[name])
    complaint.updated_at = now
    complaint.lock_version = (complaint.lock_version or 0) + 1
    waiting = runtime.waiting_timers(workflow, found)
    due = deadlines.due_times(waiting)
    open_rows, created = worklist.sync(session, complaint, workflow, version, now, due,
                                       loaded.open_tasks if loaded else None, found.ready)
    deadlines.sync(session, complaint, workflow, waiting, now, loaded.timers if loaded else None, found)
    for row in created:
        notifications.notify(session, deadlines.holders(session, row), "assigned", row.id,
                             deadlines.task_params(complaint, row), complaint.id)
    end = runtime.outcome(workflow)
    if end is not None and complaint.status == "open":
        complaint.status = "closed"
        complaint.outcome = end
        complaint.closed_at = now
        audit.record(session, complaint.id, SYSTEM, "complaint_closed", data={"outcome": end})
        customers.flag_on_close(session, complaint, now)
    complaint.state = store.dump_state(workflow)
    return open_rows
