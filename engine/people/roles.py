"""Roles (BPMN lane names) and the acting person (departments are a table: engine.people.departments)."""
from __future__ import annotations

from dataclasses import dataclass

AGENT = "agent"
DEPARTMENT_HEAD = "department_head"
CS_MANAGER = "cs_manager"
GENERAL_MANAGER = "general_manager"
PROCESS_OWNER = "process_owner"
ADMIN = "admin"

#: Roles that work on complaints; every user task's lane must be one of these.
LANE_ROLES = (AGENT, DEPARTMENT_HEAD, CS_MANAGER, GENERAL_MANAGER)
ROLES = (*LANE_ROLES, PROCESS_OWNER, ADMIN)
#: The customer-service desk's own roles (classification decisions, customer records).
INTAKE_ROLES = (AGENT, CS_MANAGER)
#: Who may record a complaint: anyone on the desk who hears a grievance ("其他工作人员…及时记录"); when the recorder
#: is not an agent, the agents are told to take it up (跟进, engine.complaints.intake).
RECORDING_ROLES = LANE_ROLES
#: Roles that see every complaint (the others see their department's or their own).
OVERSEER_ROLES = (CS_MANAGER, GENERAL_MANAGER, ADMIN)
#: Roles that assign any task to a named colleague (department heads: within their department).
MANAGER_ROLES = (CS_MANAGER, GENERAL_MANAGER)


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a user, or the system (timers)."""

    id: int | None
    username: str
    role: str
    department: str | None = None
    #: Departments whose tasks the user works as deputy (责任代理人) right now (`engine.people.deputies`).
    acting_for: tuple[str, ...] = ()

    @property
    def is_system(self) -> bool:
        return self.id is None


SYSTEM = Actor(id=None, username="system", role="system")
