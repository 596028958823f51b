"""Task forms and the intake form through HTTP: rendering, validation, conflicts and drafts."""
from __future__ import annotations

import re

from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, Draft
from tests.lifecycle import INTAKE, handed_over, open_task, start, step
from tests.web.conftest import text_of


def _snapshot(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        c = uow.session.get(Complaint, cid)
        return c.lock_version, uow.session.query(AuditEvent).filter_by(complaint_id=cid).count()


def _version(html: str) -> str:
    return re.search(r'name="_version" value="(\d+)"', html).group(1)


def test_task_form_is_rendered_from_the_schema(system, login):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    task = open_task(system, cid)  # hand_over: select + textarea, department prefilled by routing
    html = text_of(login("agent1").get(f"/task/{task.id}"))
    assert "<h1>移交责任部门</h1>" in html
    assert '<select id="f-department" name="department" required' in html
    assert '<option value="logistics" selected>储运部</option>' in html
    assert '<textarea id="f-work_order_note" name="work_order_note"' in html
    assert "已按投诉类别预填，可修改" in html  # ui:help
    assert "<strong>10 分钟内</strong>" in html  # instructions: markdown-ish, safely rendered
    assert "顾客甲" in html  # the complaint's data beside the form
    english = text_of(login("agent1", "en").get(f"/task/{task.id}"))
    assert "<h1>Hand over to the department</h1>" in english and ">Logistics</option>" in english
    assert "Pre-filled from the category; you may change it" in english


def test_complete_a_task(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    version = _version(agent.get(f"/task/{task.id}").get_data(as_text=True))
    response = agent.post(f"/task/{task.id}", data={
        "_version": version, "_action": "submit", "valid": "true", "validity_reason": "理由充分",
        "is_malicious": "false", "first_response_note": "已安抚"})
    assert response.status_code == 302 and response.headers["Location"] == f"/complaints/{cid}"
    assert open_task(system, cid).name == "hand_over"
    page = text_of(agent.get(f"/complaints/{cid}"))
    assert "已完成：判断投诉是否成立" in page
    assert "完成了：判断投诉是否成立" in page and "理由充分" in page  # timeline with the data entered


def test_invalid_input_shows_errors_keeps_values_and_stores_nothing(system, login):
    cid, task = handed_over(system)  # analyse_and_propose
    head = login("head_logistics")
    version = _version(head.get(f"/task/{task.id}").get_data(as_text=True))
    before = _snapshot(system, cid)
    response = head.post(f"/task/{task.id}", data={
        "_version": version, "cause": "运输<挤压>", "responsible_person": "", "solution_type": "exchange",
        "solution_detail": "换新", "compensation_amount": "十元", "customer_contacted": "true"})
    html = text_of(response)
    assert response.status_code == 422
    assert _snapshot(system, cid) == before
    assert "有些字段需要修改" in html
    assert re.search(r'id="field-compensation_amount">.*?请输入数字', html, re.S)
    assert re.search(r'id="field-responsible_person">.*?此项必填', html, re.S)
    assert re.search(r'id="field-customer_agreed">.*?此项必填', html, re.S)
    assert "运输&lt;挤压&gt;</textarea>" in html  # typed values kept (and escaped)
    assert 'value="十元"' in html
    assert '<option value="exchange" selected>换货</option>' in html
    assert re.search(r'value="true"\s+checked', html)
    assert f'name="_version" value="{version}"' in html


def test_second_submit_is_already_handled(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    version = _version(agent.get(f"/task/{task.id}").get_data(as_text=True))
    data = {"_version": version, "valid": "true", "validity_reason": "理由充分"}
    assert agent.post(f"/task/{task.id}", data=data).status_code == 302
    after = _snapshot(system, cid)
    again = agent.post(f"/task/{task.id}", data=dict(data, validity_reason="第二次"))
    html = text_of(again)
    assert again.status_code == 409 and "已被处理" in html
    assert "第二次" in html  # what was typed is shown, not lost
    assert _snapshot(system, cid) == after
    assert agent.get(f"/task/{task.id}").status_code == 409


def test_task_taken_by_someone_else_is_a_conflict(system, login):
    cid, task = handed_over(system)
    with UnitOfWork(system.db) as uow:  # a second head of logistics takes the task
        from engine.people import users

        users.add_user(uow, "head_logistics2", "department_head", "password-123", department="logistics")
    first = login("head_logistics")
    second = login("head_logistics2", password="password-123")
    version = _version(first.get(f"/task/{task.id}").get_data(as_text=True))
    second.post(f"/tasks/{task.id}/claim")
    before = _snapshot(system, cid)
    answers = {"_version": version, "cause": "挤压", "responsible_person": "承运商",
               "solution_type": "apology",
               "solution_detail": "道歉", "customer_contacted": "true", "customer_agreed": "true"}
    response = first.post(f"/task/{task.id}", data=answers)
    assert response.status_code == 409 and "已被处理" in text_of(response)
    assert _snapshot(system, cid) == before
    assert "只有其本人可以提交" in text_of(first.get(f"/task/{task.id}"))


def test_stale_version_shows_the_form_again(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    version = int(_version(agent.get(f"/task/{task.id}").get_data(as_text=True)))
    response = agent.post(f"/task/{task.id}", data={"_version": str(version - 1), "valid": "true",
                                                    "validity_reason": "旧版本"})
    html = text_of(response)
    assert response.status_code == 409 and "您填写期间投诉已有变化" in html
    assert "旧版本</textarea>" in html and f'name="_version" value="{version}"' in html
    assert open_task(system, cid).name == "judge_validity"


def test_draft_is_saved_resumed_and_discarded(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    saved = agent.post(f"/task/{task.id}", data={"_action": "draft", "_version": "1",
                                                 "validity_reason": "还在核实", "valid": "false"})
    assert saved.status_code == 302
    assert open_task(system, cid).name == "judge_validity"
    html = text_of(agent.get(f"/task/{task.id}"))
    assert "已载入您在" in html and "还在核实</textarea>" in html
    assert re.search(r'name="valid" value="false"\s+checked', html)
    assert "还在核实" not in login("agent2").get(f"/task/{task.id}").get_data(as_text=True)
    version = _version(html)
    agent.post(f"/task/{task.id}", data={"_version": version, "valid": "true", "validity_reason": "核实完毕"})
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Draft).count() == 0


def test_intake_records_a_complaint(system, login):
    agent = login("agent1")
    html = text_of(agent.get("/complaints/new"))
    for name in ("customer_name", "customer_contact", "channel", "received_at", "complaint_object", "product",
                 "order_id", "description", "demand", "category", "level", "evidence"):
        assert f'name="{name}"' in html, name
    assert 'type="datetime-local" id="f-received_at"' in html
    data = dict(INTAKE, received_at="2026-11-23T16:45", complaint_object="order")
    response = agent.post("/complaints/new", data=data)
    assert response.status_code == 302
    cid = int(response.headers["Location"].rsplit("/", 1)[1])
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, cid)
        assert complaint.customer_name == "顾客甲"
        # Typed in China time, kept in UTC; the column and the variable are the one 受理时间.
        assert complaint.variables["received_at"] == "2026-11-23T08:45:00+00:00"
        assert complaint.received_at.isoformat() == "2026-11-23T08:45:00+00:00"
    assert "投诉 TS20261123-" in text_of(agent.get(f"/complaints/{cid}"))


def test_intake_validation_keeps_everything(system, login):
    agent = login("agent1")
    response = agent.post("/complaints/new", data=dict(INTAKE, customer_contact="不是电话", level="",
                                                        received_at="昨天"))
    html = text_of(response)
    assert response.status_code == 422
    assert re.search(r'id="field-customer_contact">.*?格式不正确', html, re.S)
    assert re.search(r'id="field-level">.*?此项必填', html, re.S)
    assert 'value="不是电话"' in html and 'value="昨天"' in html and "收到的商品外包装破损" in html
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Complaint).count() == 0


def test_a_conditional_field_left_out_of_the_post_is_required_as_one_sent_empty(system, login):
    """`then: required` (evidence for a malicious verdict) holds whether the field is posted empty or not at all."""
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    version = _version(agent.get(f"/task/{task.id}").get_data(as_text=True))
    verdict = {"_version": version, "_action": "submit", "valid": "false", "validity_reason": "辱骂",
               "is_malicious": "true"}
    before = _snapshot(system, cid)
    for data in (verdict, dict(verdict, malicious_evidence="")):
        response = agent.post(f"/task/{task.id}", data=data)
        assert response.status_code == 422
        assert re.search(r'id="field-malicious_evidence">.*?此项必填', text_of(response), re.S)
    assert _snapshot(system, cid) == before
    assert open_task(system, cid).name == "judge_validity"
