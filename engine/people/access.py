"""Who may do what outside the workflow's own tasks: see complaints, record them, add notes, contacts
and evidence, decide deferrals. (Who may work a task: `engine.complaints.worklist.can_work`.)"""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from engine.errors import Code, Forbidden
from engine.models import Complaint
from engine.people.roles import (
    ADMIN,
    DEPARTMENT_HEAD,
    GENERAL_MANAGER,
    LANE_ROLES,
    PROCESS_OWNER,
    RECORDING_ROLES,
    Actor,
)


def check_admin(actor: Actor, code: Code = Code.ADMIN_ONLY) -> None:
    """Refuse everyone but administrators; `code` says what the others may not do (default: manage users)."""
    if actor.role != ADMIN:
        raise Forbidden(code)


def visible_department(actor: Actor) -> str | None:
    """The visibility rule, written once: the one department whose complaints the actor may see, or
    None when they may see every complaint. Department heads see their department's; other staff all."""
    return actor.department if actor.role == DEPARTMENT_HEAD else None


def may_see_complaints(actor: Actor) -> bool:
    """Least privilege: process owners work on the models, not on customers' complaints, so they see none
    (no complaint, contact, evidence, search or export). Every other role sees at least its own scope."""
    return actor.role != PROCESS_OWNER


def check_can_see_complaints(actor: Actor) -> None:
    """Refuse roles that see no complaints at all (`may_see_complaints`)."""
    if not may_see_complaints(actor):
        raise Forbidden(Code.NO_COMPLAINTS_FOR_ROLE, role=actor.role)


def check_can_view(actor: Actor, complaint: Complaint) -> None:
    """Refuse a complaint outside what the actor may see (`may_see_complaints`, `visible_department`)."""
    check_can_see_complaints(actor)
    department = visible_department(actor)
    if department is not None and complaint.department not in (department, *actor.acting_for):
        raise Forbidden(Code.OTHER_DEPARTMENT)


def visible(actor: Actor) -> ColumnElement[bool]:
    """The same rule as a condition on complaints, for queries (lists, search, exports)."""
    if not may_see_complaints(actor):
        return false()
    department = visible_department(actor)
    # A deputy also sees the departments they stand in for.
    return true() if department is None else Complaint.department.in_((department, *actor.acting_for))


def may_record(actor: Actor) -> bool:
    """May the actor record a new complaint?"""
    return actor.role in RECORDING_ROLES


def check_can_record(actor: Actor) -> None:
    """Refuse roles that do not record complaints."""
    if not may_record(actor):
        raise Forbidden(Code.CANNOT_RECORD, role=actor.role)


def may_contribute(actor: Actor) -> bool:
    """May the actor's role add comments, contacts and evidence (to complaints it can see)?"""
    return actor.role in LANE_ROLES


def check_can_contribute(actor: Actor, complaint: Complaint) -> None:
    """Staff who work on complaints may add to those they can see; read-only roles may not."""
    check_can_view(actor, complaint)
    if not may_contribute(actor):
        raise Forbidden(Code.CANNOT_ADD_TO, role=actor.role)


def may_decide_deferrals(actor: Actor) -> bool:
    """Deferral requests are decided by the general manager (engine.complaints.deferrals checks it again)."""
    return actor.role == GENERAL_MANAGER


def check_can_decide_deferrals(actor: Actor) -> None:
    """Refuse everyone but the general manager."""
    if not may_decide_deferrals(actor):
        raise Forbidden(Code.DECIDE_NOT_ALLOWED)
