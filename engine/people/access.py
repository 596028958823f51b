"""Who may do what outside the workflow's own tasks: record complaints, add notes, contacts and evidence."""
from __future__ import annotations

from engine.complaints.services import check_can_view
from engine.errors import Forbidden
from engine.models import Complaint
from engine.people.roles import GENERAL_MANAGER, INTAKE_ROLES, LANE_ROLES, Actor


def may_record(actor: Actor) -> bool:
    """May the actor record a new complaint?"""
    return actor.role in INTAKE_ROLES


def check_can_record(actor: Actor) -> None:
    if not may_record(actor):
        raise Forbidden(f"role {actor.role!r} cannot record complaints")


def may_contribute(actor: Actor) -> bool:
    """May the actor's role add comments, contacts and evidence (to complaints it can see)?"""
    return actor.role in LANE_ROLES


def check_can_contribute(actor: Actor, complaint: Complaint) -> None:
    """Staff who work on complaints may add to those they can see; read-only roles may not."""
    check_can_view(actor, complaint)
    if not may_contribute(actor):
        raise Forbidden(f"role {actor.role!r} cannot add to complaints")


def may_decide_deferrals(actor: Actor) -> bool:
    """Deferral requests are decided by the general manager (engine.complaints.deferrals checks it again)."""
    return actor.role == GENERAL_MANAGER


def check_can_decide_deferrals(actor: Actor) -> None:
    if not may_decide_deferrals(actor):
        raise Forbidden("only the general manager decides deferral requests")
