"""Moving running complaints to a newer version of their process model.

A complaint stays on the version it started on unless a process owner migrates it. Migration is
offered only where SpiffWorkflow's workflow diff shows it is safe: every task of the complaint's
(compacted) state still exists in the new version, no open task (READY, WAITING, STARTED) changed in
a way that matters to the person working on it — its lane, form, scripts, timers, decision — and the
form files of open tasks are the same. The new version then decides everything after the open tasks.

SpiffWorkflow's `migrate_workflow` re-predicts the open branches; it also clears the timers' fixed
deadlines, which are put back here, so a deadline does not restart because the model changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import progress
from engine.db import Database, UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, NotFound
from engine.models import Complaint, ProcessVersion
from engine.people.roles import ADMIN, PROCESS_OWNER, Actor
from engine.workflow import runtime
from engine.workflow.versions import LoadedVersion, load_version
from forms.errors import FieldError, error

MIGRATOR_ROLES = (PROCESS_OWNER, ADMIN)
#: Spec attributes whose change does not matter to a task that is already open: where it came from,
#: where it goes next (the new version decides that), its display name and documentation.
HARMLESS = frozenset({"inputs", "outputs", "bpmn_name", "documentation", "description"})
OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
#: How many running complaints a version page checks for migration at most.
PREVIEW_LIMIT = 200

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


class MigrationRefused(Conflict):
    """The complaint cannot move to that version; `reasons` say why."""

    def __init__(self, reasons: list[FieldError]):
        super().__init__(Code.MIGRATION_REFUSED, reasons=[reason.as_dict() for reason in reasons])
        self.reasons = reasons


@dataclass(frozen=True)
class MigrationCheck:
    """Whether one complaint can move to a version, and why not."""

    complaint_id: int
    reference: str
    from_version: int
    to_version: int
    reasons: list[FieldError] = field(default_factory=list)
    #: Open tasks whose model element changed only harmlessly (shown, not refused).
    notes: list[FieldError] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons


def _check_roles(actor: Actor) -> None:
    if actor.role not in MIGRATOR_ROLES:
        raise Forbidden(Code.MIGRATE_NOT_ALLOWED)


def _target(session, complaint: Complaint, version_id: int) -> ProcessVersion:
    target = session.get(ProcessVersion, version_id)
    if target is None:
        raise NotFound(Code.VERSION_NOT_FOUND, version=version_id)
    return target


def _same_process_reasons(session, complaint: Complaint, target: ProcessVersion) -> list[FieldError]:
    if complaint.status != "open":
        return [error(Code.MIGRATE_CLOSED)]
    if complaint.version_id == target.id:
        return [error(Code.MIGRATE_SAME_VERSION)]
    source = session.get(ProcessVersion, complaint.version_id)
    if source.process_id != target.process_id:
        return [error(Code.MIGRATE_OTHER_PROCESS, version=target.id, process=target.process_id)]
    return []


def _form_changed(old: LoadedVersion, new: LoadedVersion, name: str) -> bool:
    before, after = old.tasks.get(name), new.tasks.get(name)
    if before is None or after is None:
        return False
    return (before.form.schema, before.form.ui) != (after.form.schema, after.form.ui)


def _diff(workflow, new: LoadedVersion) -> tuple[WorkflowDiff, list[FieldError], list[FieldError]]:
    """The workflow diff against `new`, with the reasons that forbid migrating and harmless notes."""
    reasons, notes = [], []
    spec_diff = SpecDiff(_registry, workflow.spec, new.spec)
    diff = WorkflowDiff(workflow, spec_diff)
    for task in diff.removed:
        name = task.task_spec.bpmn_id or task.task_spec.name
        if task.state & OPEN:
            reasons.append(error(Code.MIGRATE_OPEN_TASK_REMOVED, task=name, state=TaskState.get_name(task.state)))
        elif task.state & TaskState.FINISHED_MASK:
            reasons.append(error(Code.MIGRATE_PASSED_TASK_REMOVED, task=name,
                                 state=TaskState.get_name(task.state)))
    for task in diff.changed:
        if not task.state & OPEN:
            continue
        name = task.task_spec.bpmn_id or task.task_spec.name
        changes = sorted(set(spec_diff.changed[task.task_spec]) - HARMLESS)
        if changes:
            reasons.append(error(Code.MIGRATE_OPEN_TASK_CHANGED, task=name, changes=", ".join(changes)))
        else:
            notes.append(error(Code.MIGRATE_HARMLESS_CHANGE, task=name))
    if workflow.subprocesses:
        reasons.append(error(Code.MIGRATE_SUBPROCESS))
    return diff, reasons, notes


def _open_form_reasons(workflow, old: LoadedVersion, new: LoadedVersion) -> list[FieldError]:
    return [error(Code.MIGRATE_FORM_CHANGED, task=task.task_spec.bpmn_id)
            for task in runtime.ready_user_tasks(workflow)
            if _form_changed(old, new, task.task_spec.bpmn_id)]


def _migrate(workflow, diff: WorkflowDiff, new: LoadedVersion) -> None:
    """Point the workflow at the new spec, keeping the deadlines its waiting timers had fixed."""
    deadlines = {task.id: task._get_internal_data("event_value")
                 for task in workflow.get_tasks(state=TaskState.WAITING)}
    migrate_workflow(diff, workflow, new.spec)
    workflow.subprocess_specs = new.subprocess_specs
    for task_id, value in deadlines.items():
        task = workflow.tasks.get(task_id)
        if value is not None and task is not None and task.state == TaskState.WAITING:
            task._set_internal_data(event_value=value)
    # Within the step budget, like every request's engine work: a new version that fails or loops from the
    # migrated state is a reason not to migrate, never a crash or a hang (docs/MODELLING.md).
    runtime.advance(workflow)


def _leftover_reasons(workflow, new: LoadedVersion) -> list[FieldError]:
    """Tasks that still point at a spec the new version lacks could not be stored and loaded again."""
    known = {id(spec) for spec in new.spec.task_specs.values()}
    return [error(Code.MIGRATE_CANNOT_CARRY, task=name)
            for name in sorted({t.task_spec.bpmn_id or t.task_spec.name
                                for t in workflow.tasks.values() if id(t.task_spec) not in known})]


def _try(session: Session, complaint: Complaint,
         target: ProcessVersion) -> tuple[MigrationCheck, tuple[BpmnWorkflow, LoadedVersion] | None]:
    """Check (and, when allowed, carry out in memory) the migration of one complaint: the check, and the
    workflow moved in memory with the version it now runs on (None when it could not even be tried)."""

    def checked(reasons: list[FieldError], notes: list[FieldError] | None = None) -> MigrationCheck:
        return MigrationCheck(complaint_id=complaint.id, reference=complaint.reference or "",
                              from_version=complaint.version_id, to_version=target.id, reasons=reasons,
                              notes=notes or [])

    reasons = _same_process_reasons(session, complaint, target)
    if reasons:
        return checked(reasons), None
    old = load_version(session, complaint.version_id)
    new = load_version(session, target.id)
    workflow = progress.load_workflow(complaint, old)
    diff, reasons, notes = _diff(workflow, new)
    reasons += _open_form_reasons(workflow, old, new)
    if not reasons:
        try:
            _migrate(workflow, diff, new)
        except runtime.StepFailed as failed:
            return checked(list(failed.errors["model"]), notes), None
        reasons = _leftover_reasons(workflow, new)
    return checked(reasons, notes), (workflow, new)


def check_migration(uow: UnitOfWork, actor: Actor, complaint_id: int, version_id: int) -> MigrationCheck:
    """Could this complaint move to `version_id`? Nothing is changed."""
    _check_roles(actor)
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    return _try(uow.session, complaint, _target(uow.session, complaint, version_id))[0]


def migration_candidates(uow: UnitOfWork, actor: Actor, version_id: int) -> list[MigrationCheck]:
    """Every open complaint on an older version of the same process, checked against `version_id`."""
    _check_roles(actor)
    target = uow.session.get(ProcessVersion, version_id)
    if target is None:
        raise NotFound(Code.VERSION_NOT_FOUND, version=version_id)
    older = select(ProcessVersion.id).where(ProcessVersion.process_id == target.process_id,
                                            ProcessVersion.id != target.id)
    complaints = uow.session.scalars(
        select(Complaint).where(Complaint.status == "open", Complaint.version_id.in_(older))
        .order_by(Complaint.id).limit(PREVIEW_LIMIT))
    return [_try(uow.session, complaint, target)[0] for complaint in complaints]


@use_case
def migrate_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int, version_id: int) -> MigrationCheck:
    """Move a running complaint to `version_id`, or raise MigrationRefused with the reasons.

    The complaint is locked, its state migrated and recorded through `engine.complaints.progress` (task table,
    timers, variables and state stay consistent), and a `complaint_migrated` audit event written.
    """
    _check_roles(actor)
    session = uow.session
    with progress.locked_case(session, complaint_id, clock.now()) as case:
        complaint = case.complaint
        target = _target(session, complaint, version_id)
        check, moved = _try(session, complaint, target)
        if not check.allowed or moved is None:
            raise MigrationRefused(check.reasons)
        workflow, new = moved
        old_hash = session.get_one(ProcessVersion, complaint.version_id).content_hash
        audit.record(session, complaint.id, actor, "complaint_migrated", data={
            "from_version": complaint.version_id, "to_version": target.id,
            "from_hash": old_hash[:12], "to_hash": target.content_hash[:12]})
        complaint.version_id = target.id
        case.replace(workflow, new)
    return check


def migrate_all(db: Database, actor: Actor, version_id: int) -> tuple[list[MigrationCheck], list[MigrationCheck]]:
    """Migrate every open complaint that can move to `version_id`, each in its own transaction.

    Returns (migrated, refused).
    """
    with UnitOfWork(db, write=False) as uow:
        candidates = migration_candidates(uow, actor, version_id)
    migrated, refused = [], []
    for candidate in candidates:
        if not candidate.allowed:
            refused.append(candidate)
            continue
        try:
            with UnitOfWork(db) as uow:
                migrated.append(migrate_complaint(uow, actor, candidate.complaint_id, version_id))
        except MigrationRefused as err:  # the complaint moved on since it was checked
            refused.append(MigrationCheck(candidate.complaint_id, candidate.reference, candidate.from_version,
                                          version_id, reasons=err.reasons))
    return migrated, refused
