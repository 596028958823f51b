"""Withdrawal (撤诉, issue 17): an agent records that the customer withdrew, with the reason, at any open stage;
every open task and time limit ends and the complaint closes at `end_withdrawn`, shown as 已撤诉 / Withdrawn on
the complaint page, the customer's page, in search and in the reports."""
from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.complaints import reports, withdrawal
from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import Complaint, Timer, WorkTask
from tests.lifecycle import audit_kinds, start, step
from tests.web.conftest import text_of


def _withdraw(system, user: str, cid: int, reason: str = "refunded", note: str = "") -> None:
    with UnitOfWork(system.db) as uow:
        withdrawal.withdraw(uow, system.actor(user), cid, reason, note)


def test_withdrawn_from_the_complaint_page_while_the_department_works(system, login):
    cid = start(system, channel="platform", platform_dispute_id="TB-2026-001").complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    agent = login("agent1")
    page = text_of(agent.get(f"/complaints/{cid}"))
    assert "顾客撤诉" in page and "已退款，顾客撤回平台投诉" in page
    response = agent.post(f"/complaints/{cid}/withdraw", data={"reason": "refunded", "note": "平台退款 120 元"})
    assert response.status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, cid)
        assert (complaint.status, complaint.outcome) == ("closed", "end_withdrawn")
        assert complaint.variables["withdrawal"] == {"reason": "refunded", "note": "平台退款 120 元",
                                                     "recorded_by": "agent1"}
        statuses = set(uow.session.scalars(select(WorkTask.status).where(WorkTask.complaint_id == cid)))
        assert "open" not in statuses
        timers = set(uow.session.scalars(select(Timer.status).where(Timer.complaint_id == cid)))
        assert "waiting" not in timers
    kinds = audit_kinds(system, cid)
    assert kinds[-3:] == [("complaint_withdrawn", None), ("task_cancelled", "analyse_and_propose"),
                          ("complaint_closed", None)]
    page = text_of(agent.get(f"/complaints/{cid}"))
    assert "已撤诉" in page and "记录了顾客撤诉" in page and "平台退款 120 元" in page
    assert 'id="withdraw"' not in page  # closed: nothing more to withdraw
    assert "Withdrawn" in text_of(login("agent1", "en").get(f"/complaints/{cid}"))
    gm = login("gm")
    assert "已撤诉" in text_of(gm.get("/search?status=closed"))
    with UnitOfWork(system.db, write=False) as uow:
        report = reports.build_report(uow, system.actor("gm"), "month", date(2026, 11, 23), ZoneInfo("Asia/Shanghai"))
    assert [(f.key, f.current) for f in report.withdrawn_by_channel] == [("platform", 1)]
    assert "撤诉投诉（按渠道）" in text_of(gm.get("/reports?kind=month&date=2026-11-23"))


def test_the_customers_page_says_the_complaint_was_withdrawn(system, login):
    cid = start(system, customer_contact="kunde@example.com").complaint_id
    agent = login("agent1")
    page = text_of(agent.get(f"/complaints/{cid}/customer-link"))
    link = page.split('id="customer-link" class="link-text" value="')[1].split('"')[0]
    _withdraw(system, "agent1", cid, "platform_dispute_closed")  # before the validity check
    path = link.removeprefix(system.settings.public_base_url)
    assert "您已撤诉，投诉已结案。" in text_of(login("agent1").get(path + "?lang=zh"))


def test_refusals(system):
    cid = start(system).complaint_id
    with pytest.raises(Forbidden):
        _withdraw(system, "head_logistics", cid)
    with pytest.raises(InvalidInput) as refused:
        _withdraw(system, "agent1", cid, "other")
    assert "note" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        _withdraw(system, "agent1", cid, "changed_mind")
    assert "reason" in refused.value.errors
    _withdraw(system, "cs_manager", cid, "other", "顾客电话撤回")
    with pytest.raises(Conflict):
        _withdraw(system, "agent1", cid)


def test_the_page_shows_a_refused_withdrawal_again(system, login):
    cid = start(system).complaint_id
    agent = login("agent1")
    response = agent.post(f"/complaints/{cid}/withdraw", data={"reason": "other", "note": ""})
    assert response.status_code == 422
    assert "此项必填" in text_of(response)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, cid).status == "open"
    assert login("head_logistics").post(f"/complaints/{cid}/withdraw", data={"reason": "refunded"}).status_code == 403


def test_every_user_task_of_the_shipped_model_can_be_withdrawn_from():
    text = (PROJECT_ROOT / "workflows" / "complaint_lifecycle.bpmn").read_text(encoding="utf-8")
    tasks = re.findall(r'<bpmn:userTask id="([a-z_]+)"', text)
    assert tasks
    for task in tasks:
        assert f'<bpmn:boundaryEvent id="{task}_withdrawn" attachedToRef="{task}">' in text, task
