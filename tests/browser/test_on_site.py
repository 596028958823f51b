"""On-the-spot handling through the UI in Chromium (issue 17): an on-site complaint goes from the agent's
validity check straight to the department head, who settles it at once and records the solution and the
customer's agreement; the agent still follows up, then the two signatures archive it — no hand-over,
analysis or approval."""
from __future__ import annotations

import re

import pytest

from tests.browser.navigation import submit
from tests.browser.test_walkthrough import ANSWERS, diagram_markers, fill, sign_in

pytestmark = pytest.mark.browser


def open_task(page, base: str, task: str) -> None:
    """Open the task from the user's own list (the recording agent holds the agent's tasks) or the queue."""
    for scope in ("mine", "queue"):
        page.goto(f"{base}/tasks/{scope}")
        link = page.locator(f'tr[data-task="{task}"] a.task-link')
        if link.count():
            link.first.click()
            page.wait_for_selector("form.schema-form")
            return
    raise AssertionError(f"{task} is in nobody's list")


def work(page, base: str, task: str, answers: dict[str, str]) -> None:
    open_task(page, base, task)
    fill(page, answers)
    page.click('button[name="_action"][value="submit"]')
    page.wait_for_url(re.compile(r"/complaints/\d+$"))
    assert page.locator(".flash-success").count() == 1, page.content()


def test_an_on_site_complaint_settled_on_the_spot(live_server, pages):
    base = live_server
    agent, head, gm, manager = pages.open(), pages.open("en-US"), pages.open(), pages.open()
    for page, user in ((agent, "agent1"), (head, "head_logistics"), (gm, "gm"), (manager, "cs_manager")):
        sign_in(page, base, user)

    agent.goto(f"{base}/complaints/new")
    fill(agent, {"customer_name": "顾客乙", "customer_contact": "13900000000", "channel": "on_site",
                 "order_id": "ORD-2002", "description": "到店取货时发现商品有划痕。", "demand": "当场换新",
                 "category": "logistics", "level": "very_dissatisfied"})
    agent.click("form.schema-form button[type=submit].primary")
    agent.wait_for_url(re.compile(r"/complaints/\d+$"))
    complaint_url = agent.url
    work(agent, base, "judge_validity", ANSWERS["judge_validity"])
    assert diagram_markers(agent) == {"done": {"judge_validity"}, "current": {"settle_on_site"}}

    # The department head, in English, settles it: the form asks for the reason only when it is not settled.
    open_task(head, base, "settle_on_site")
    assert head.locator("h1").inner_text() == "Settle on the spot"
    assert "10 minutes" in head.locator("main").inner_text()
    # "Settled" chosen but the solution left out: refused with the field named, nothing recorded.
    fill(head, {"on_site_settled": "true"})
    submit(head, 'button[name="_action"][value="submit"]')
    assert "This field is required." in head.locator("#field-solution_detail").inner_text()
    assert "This field is required." in head.locator("#field-customer_agreed").inner_text()
    fill(head, {"solution_type": "exchange", "solution_detail": "当场换新一件", "customer_agreed": "true"})
    head.click('button[name="_action"][value="submit"]')
    head.wait_for_url(complaint_url)
    assert head.locator(".flash-success").count() == 1

    work(agent, base, "follow_up", {"solution_executed": "true", "solution_useful": "true", "satisfied": "true",
                                    "follow_up_notes": "顾客对现场换新满意"})
    work(manager, base, "cs_sign_off", ANSWERS["cs_sign_off"])
    work(gm, base, "gm_review", ANSWERS["gm_review"])

    gm.goto(complaint_url)
    assert "已结案" in gm.locator("h1").inner_text()
    assert diagram_markers(gm) == {"done": {"judge_validity", "settle_on_site", "follow_up", "cs_sign_off",
                                            "gm_review"}, "current": set()}
    timeline = gm.locator("#timeline").inner_text()
    for text in ("完成了：现场立即处理", "当场换新一件", "完成了：回访顾客", "顾客对现场换新满意", "投诉已结案"):
        assert text in timeline, text
