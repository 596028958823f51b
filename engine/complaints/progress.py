"""Recording a complaint's progress after its workflow moved: variables, task table, timers and
their effects, notifications, outcome, and the compacted state — all in the caller's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine import audit
from engine.complaints import deadlines, notifications, worklist
from engine.models import Complaint, WorkTask
from engine.people.roles import SYSTEM
from engine.workflow import runtime, store
from engine.workflow.versions import LoadedVersion

#: Complaint columns copied from the workflow's variables after every step (for lists and reports).
TRACKED = ("category", "level", "department", "round", "valid", "satisfied", "cause", "solution_type")


def record(session: Session, complaint: Complaint, workflow, version: LoadedVersion,
           now: datetime) -> list[WorkTask]:
    """Write everything that follows from the workflow's current state; return the open task rows."""
    # One flush at the end instead of one before every lookup below (they only read what is stored).
    with session.no_autoflush:
        open_rows = _record(session, complaint, workflow, version, now)
    session.flush()
    return open_rows


def _record(session: Session, complaint: Complaint, workflow, version: LoadedVersion,
            now: datetime) -> list[WorkTask]:
    variables = runtime.current_data(workflow)
    complaint.variables = variables
    for name in TRACKED:
        if name in variables:
            setattr(complaint, name, variables[name])
    complaint.updated_at = now
    complaint.lock_version = (complaint.lock_version or 0) + 1
    waiting = runtime.waiting_timers(workflow)
    due = deadlines.due_times(waiting)
    open_rows, created = worklist.sync(session, complaint, workflow, version, now, due)
    deadlines.sync(session, complaint, workflow, waiting, now)
    for row in created:
        notifications.notify(session, deadlines.holders(session, row), "assigned", row.id,
                             deadlines.task_params(complaint, row), complaint.id)
    end = runtime.outcome(workflow)
    if end is not None and complaint.status == "open":
        complaint.status = "closed"
        complaint.outcome = end
        complaint.closed_at = now
        audit.record(session, complaint.id, SYSTEM, "complaint_closed", data={"outcome": end})
    complaint.state = store.dump_state(workflow)
    return open_rows
