"""Deferral requests through the UI: the agent asks on the task page, the general manager decides."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.lifecycle import open_task, start
from tests.web.conftest import text_of


def test_request_and_approve_a_deferral(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)  # judge_validity: deadline 30 minutes after intake
    agent, gm = login("agent1"), login("gm")
    assert "顾客联系不上？申请延期处理" in text_of(agent.get(f"/task/{task.id}"))
    too_early = agent.post(f"/task/{task.id}/deferral", data={"until": "2026-11-23T17:10", "reason": "关机"})
    assert too_early.status_code == 422 and "必须晚于当前时限" in text_of(too_early)
    asked = agent.post(f"/task/{task.id}/deferral",
                       data={"until": "2026-11-23T20:00", "reason": "顾客手机关机"})
    assert asked.status_code == 302
    assert "延期申请正等待总经理决定。" in text_of(agent.get(f"/task/{task.id}"))
    assert login("head_logistics").get("/deferrals").status_code == 403
    inbox = text_of(gm.get("/notifications"))
    assert "延期处理申请：判断投诉是否成立" in inbox and "Judge validity" not in inbox and "未发送邮件" in inbox
    assert "申请将「判断投诉是否成立」的时限延至 2026-11-23 20:00。理由：顾客手机关机" in inbox
    assert "暂无通知" in text_of(login("head_quality").get("/notifications"))
    page = text_of(gm.get("/deferrals"))
    assert "顾客手机关机" in page
    deferral_id = re.search(r'data-deferral="(\d+)"', page).group(1)
    approved = gm.post(f"/deferrals/{deferral_id}", data={"decision": "approve", "note": "同意"})
    assert approved.status_code == 302
    assert open_task(system, cid).due_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert "没有等待决定的申请" in text_of(gm.get("/deferrals"))
    complaint = text_of(agent.get(f"/complaints/{cid}"))
    assert "已批准" in complaint and "批准延期处理：判断投诉是否成立" in complaint
    again = gm.post(f"/deferrals/{deferral_id}", data={"decision": "reject"})
    assert again.status_code == 409
    assert gm.post(f"/deferrals/{deferral_id}", data={"decision": "maybe"}).status_code == 400
