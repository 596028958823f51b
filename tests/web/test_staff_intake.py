"""Anyone who hears a grievance records it (issue 17): a department head or the general manager records a
complaint; its first task waits in the agents' queue and every agent is told to follow it (跟进)."""
from __future__ import annotations

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, Notification, User
from tests.lifecycle import INTAKE, open_task


def test_a_department_head_records_and_the_agents_follow_it(system, login):
    head = login("head_logistics")
    response = head.post("/complaints/new", data=dict(INTAKE, channel="on_site"))
    assert response.status_code == 302, response.get_data(as_text=True)
    complaint_id = int(response.headers["Location"].rsplit("/", 1)[1])
    task = open_task(system, complaint_id)
    assert (task.name, task.role, task.assignee_id) == ("judge_validity", "agent", None)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, complaint_id).owner_id is None
        told = set(uow.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                       .where(Notification.kind == "follow_up_needed",
                                              Notification.complaint_id == complaint_id)))
        kinds = list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.complaint_id == complaint_id)))
    assert told == {"agent1", "agent2"}
    assert "passed_to_agent" in kinds


def test_an_agent_recording_needs_no_hand_over(system, login):
    response = login("agent1").post("/complaints/new", data=INTAKE)
    complaint_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(Notification).where(Notification.kind == "follow_up_needed",
                                                              Notification.complaint_id == complaint_id)).all() == []


def test_the_process_owner_still_cannot_record(system, login):
    assert login("owner").post("/complaints/new", data=INTAKE).status_code == 403
