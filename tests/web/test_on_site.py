"""On-the-spot handling (现场立即处理, issue 17): an on-site complaint is settled at once by the department head
(by the agent at the dissatisfied level), with the solution and the customer's agreement recorded; the agent's
follow-up still happens, then the usual sign-offs. Its own limits: contact within 10 minutes of receipt and
agreement within 10 minutes of the task opening (docs/data-dictionary.md)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.complaints import timers
from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.models import Complaint, Penalty, User
from tests.conftest import START
from tests.lifecycle import audit_kinds, open_task, start, step
from tests.web.conftest import text_of


def test_the_department_head_settles_on_the_spot_and_the_agent_follows_up(system, login):
    cid = start(system, channel="on_site", level="very_dissatisfied").complaint_id
    step(system, cid, "judge_validity")
    settle = open_task(system, cid)
    assert (settle.name, settle.role, settle.department) == ("settle_on_site", "department_head", "logistics")
    assert settle.due_at == START + timedelta(minutes=10)  # on site: contact within 10 minutes of receipt
    page = text_of(login("head_logistics").get(f"/task/{settle.id}"))
    assert "现场立即处理" in page and "10 分钟内" in page
    step(system, cid, "settle_on_site")
    follow_up = open_task(system, cid)
    assert (follow_up.name, follow_up.role) == ("follow_up", "agent")  # no hand-over, analysis or approval
    step(system, cid, "follow_up")
    step(system, cid, "cs_sign_off")
    step(system, cid, "gm_review")
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, cid)
        assert (complaint.status, complaint.outcome) == ("closed", "end_archived")
        assert complaint.variables["implementation_result"] == "当场换新"
    tasks_done = [task for kind, task in audit_kinds(system, cid) if kind == "task_completed"]
    assert tasks_done == ["judge_validity", "settle_on_site", "follow_up", "cs_sign_off", "gm_review"]
    assert "当场换新" in text_of(login("agent1").get(f"/complaints/{cid}"))


def test_a_dissatisfied_customer_on_site_is_settled_by_the_agent(system):
    cid = start(system, channel="on_site").complaint_id
    step(system, cid, "judge_validity")
    settle = open_task(system, cid)
    assert (settle.name, settle.role) == ("settle_on_site_desk", "agent")
    step(system, cid, "settle_on_site_desk")
    assert open_task(system, cid).name == "follow_up"


def test_not_settled_on_the_spot_opens_the_work_order_and_needs_the_reason(system):
    cid = start(system, channel="on_site", level="major").complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "settle_on_site", on_site_settled=False, on_site_note="需要送检")
    assert open_task(system, cid).name == "hand_over"
    other = start(system, channel="on_site", level="major").complaint_id
    step(system, other, "judge_validity")
    with pytest.raises(InvalidInput) as refused:  # the reason left out of the answers altogether
        step(system, other, "settle_on_site", on_site_settled=False)
    assert "on_site_note" in refused.value.errors


def test_phone_and_crisis_complaints_are_not_settled_on_the_spot(system):
    phone = start(system, level="very_dissatisfied").complaint_id
    step(system, phone, "judge_validity")
    assert open_task(system, phone).name == "hand_over"
    crisis = start(system, channel="on_site", level="crisis").complaint_id
    step(system, crisis, "judge_validity")
    assert open_task(system, crisis).name == "hand_over"


def test_the_on_site_limits_are_timeouts_of_the_department_head(system):
    cid = start(system, channel="on_site", level="very_dissatisfied").complaint_id
    step(system, cid, "judge_validity")
    clock.set_now(START + timedelta(minutes=10, seconds=1))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        ledger = list(uow.session.execute(select(Penalty.task_name, User.username, Penalty.amount).join(
            User, User.id == Penalty.person_id).where(Penalty.complaint_id == cid)))
    assert ledger == [("settle_on_site", "head_logistics", 30), ("settle_on_site", "head_logistics", 30)]
