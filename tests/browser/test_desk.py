"""The desk in Chromium at 1366 px (issue 14): each role's first page after signing in shows its waiting
work with counts; an administrator adds a user who then signs in; an assignment and a deputy appointment
are done in the browser and audited. (Both widths and the README's pictures: test_first_pages_screenshots.py.)"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.bootstrap import DEMO_PASSWORD
from engine.complaints import deferrals
from engine.db import UnitOfWork
from engine.models import AuditEvent
from tests.browser.navigation import submit
from tests.lifecycle import open_task, start, step
from tests.web.test_evidence import PDF, png

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/home$"))


def tile(page, name: str) -> int:
    return int(page.locator(f'[data-tile="{name}"] strong').inner_text())


def nav(page, name: str) -> int:
    badge = page.locator(f'.main-nav [data-count="{name}"]')
    return int(badge.inner_text()) if badge.count() else 0


def events(system, kind: str) -> list[AuditEvent]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_each_role_lands_on_its_waiting_work(system, live_server, pages):
    own = start(system).complaint_id  # agent1's 判断投诉是否成立
    pool = start(system).complaint_id
    step(system, pool, "judge_validity")
    step(system, pool, "hand_over")  # the logistics head's shared pool
    approval = start(system).complaint_id
    for name in ("judge_validity", "hand_over", "analyse_and_propose"):
        step(system, approval, name)  # the general manager's approval
    with UnitOfWork(system.db) as uow:
        deferrals.request_deferral(uow, system.actor("head_logistics"), open_task(system, pool).id, "顾客出差",
                                   clock.now() + timedelta(hours=30))
    clock.set_now(clock.now() + timedelta(hours=7))  # the agent's first response is overdue

    agent = pages.open()
    sign_in(agent, live_server, "agent1")
    assert tile(agent, "mine") == 1 and nav(agent, "mine") == 1
    assert tile(agent, "overdue") >= 1
    assert agent.locator('[data-list="mine"] tr[data-task="judge_validity"]').count() == 1

    head = pages.open()
    sign_in(head, live_server, "head_logistics")
    assert tile(head, "unclaimed") == 1 and nav(head, "unclaimed") == 1
    assert head.locator('[data-list="queue"] tr[data-task="analyse_and_propose"]').count() == 1

    gm = pages.open()
    sign_in(gm, live_server, "gm")
    assert tile(gm, "approvals") == 1 and tile(gm, "deferrals") == 1 and nav(gm, "deferrals") == 1
    assert tile(gm, "unclaimed") == 1
    assert gm.locator('[data-list="queue"] tr[data-task="approve_solution"]').count() == 1

    manager = pages.open("en-US")
    sign_in(manager, live_server, "cs_manager")
    submit(manager, 'button[name="locale"][value="en"]')
    assert "What waits for you" in manager.locator("h1").inner_text()
    assert tile(manager, "overdue") >= 1 and tile(manager, "approvals") == 0
    assert own


def test_an_admin_adds_a_user_who_then_signs_in(system, live_server, pages):
    admin = pages.open()
    sign_in(admin, live_server, "admin")
    admin.click('.main-nav a[href="/admin/users"]')
    admin.click('a[href="/admin/users/new"]')
    admin.fill("input[name=username]", "agent3")
    admin.fill("input[name=display_name]", "周婷 (客服)")
    admin.select_option("select[name=role]", "agent")
    admin.fill("input[name=password]", "zhou-ting-2026")
    admin.click("button[type=submit].primary")
    admin.wait_for_url(re.compile(r"/admin/users$"))
    assert admin.locator('tr[data-user="agent3"]').count() == 1
    newcomer = pages.open()
    sign_in(newcomer, live_server, "agent3", "zhou-ting-2026")
    assert "周婷" in newcomer.locator(".who .user").inner_text()
    [added] = events(system, "user_added")
    assert added.actor_name == "admin" and added.data["user"] == "agent3"


def test_an_assignment_and_a_deputy_are_audited(system, live_server, pages):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    manager = pages.open()
    sign_in(manager, live_server, "cs_manager")
    manager.click('.main-nav a[href="/tasks/all"]')
    manager.click(f'tr[data-task-id="{task.id}"] a.assign')
    manager.select_option("select[name=assignee]", "agent2")
    manager.click("button[type=submit].primary")
    manager.wait_for_url(re.compile(r"/tasks/all"))
    manager.goto(f"{live_server}/complaints/{cid}")
    assert "分派了任务：判断投诉是否成立" in manager.locator("#timeline").inner_text()
    [assigned] = events(system, "task_assigned")
    assert assigned.actor_name == "cs_manager" and assigned.data["assignee"] == "李娜 (回访专员)"

    pool = start(system).complaint_id
    step(system, pool, "judge_validity")
    step(system, pool, "hand_over")
    head = pages.open()
    sign_in(head, live_server, "head_logistics")
    head.click('.main-nav a[href="/deputies"]')
    head.select_option("select[name=deputy]", "agent2")
    head.fill("input[name=starts_at]", "2026-11-23T17:00")
    head.fill("input[name=ends_at]", "2026-11-25T17:00")
    submit(head, "button[type=submit].primary")
    assert head.locator(".badge.ok").count() == 1  # running
    deputy = pages.open()
    sign_in(deputy, live_server, "agent2")
    deputy.goto(f"{live_server}/tasks/queue")
    row = deputy.locator('tr[data-task="analyse_and_propose"]')
    submit(deputy, row.locator("button", has_text="领取"))
    deputy.goto(f"{live_server}/complaints/{pool}")
    assert "以责任代理人身份处理了：分析原因并提出方案" in deputy.locator("#timeline").inner_text()
    [acted] = events(system, "acted_as_deputy")
    assert acted.actor_name == "agent2" and acted.data["on_behalf_of"] == "head_logistics"
    assert events(system, "deputy_appointed")[0].data["deputy"] == "agent2"


# On SQLite only: the file field's words and its chooser are the browser's; the upload's way through the
# database is checked on both backends (tests/web/test_evidence.py).
@pytest.mark.one_backend
def test_file_fields_speak_the_page_language(system, live_server, pages):
    cid = start(system).complaint_id
    agent = pages.open()  # Chromium's own words are English here ("Choose Files", "No file chosen")
    sign_in(agent, live_server, "agent1")
    agent.goto(f"{live_server}/complaints/{cid}")
    field = agent.locator("#evidence-files")
    pick = field.locator("xpath=following-sibling::button[1]")
    chosen = field.locator("xpath=following-sibling::span[1]")
    assert pick.inner_text() == "选择文件" and chosen.inner_text() == "未选择文件"
    assert not field.is_visible() or field.bounding_box()["width"] <= 1
    with agent.expect_file_chooser() as chooser:
        pick.click()  # the page's button opens the browser's file chooser
    chooser.value.set_files([{"name": "破损照片.png", "mimeType": "image/png", "buffer": png()},
                             {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    assert chosen.inner_text() == "已选择 2 个文件"
    agent.click("form[action$='/evidence'] button[type=submit]")
    agent.wait_for_url(re.compile(rf"/complaints/{cid}"))
    assert "破损照片.png" in agent.locator("body").inner_text() and "发票.pdf" in agent.locator("body").inner_text()


# On SQLite only: the clipboard is the browser's; the link's page, on both backends:
# tests/web/test_customer_link_page.py.
@pytest.mark.one_backend
def test_the_copy_button_puts_the_customers_link_on_the_clipboard(system, live_server, pages):
    cid = start(system).complaint_id
    agent = pages.open()
    agent.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in(agent, live_server, "agent1")
    agent.goto(f"{live_server}/complaints/{cid}/customer-link")
    link = agent.input_value("#customer-link")
    button = agent.locator('button[data-copy="#customer-link"]')
    assert button.inner_text() == "复制"
    button.click()
    agent.wait_for_function("(b) => b.textContent === b.dataset.copied", arg=button.element_handle())
    assert button.inner_text() == "已复制"
    assert agent.evaluate("navigator.clipboard.readText()") == link and "/c/" in link
