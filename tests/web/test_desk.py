"""The staff's desk (issue 14): each role's first page and the navigation's counts, task list filters and
bulk claim, notifications read and unread, assignment, deputies (责任代理人), administration in the browser,
and changing one's own password — through the real app and database."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from engine import clock
from engine.complaints import deferrals, timers
from engine.complaints.notifications import notify
from engine.db import UnitOfWork
from engine.models import AuditEvent, Notification, User
from engine.people import deputies, tokens
from engine.people.users import authenticate
from tests.lifecycle import open_task, start, step
from tests.web.conftest import text_of


def _tile(html: str, name: str) -> int:
    found = re.search(rf'data-tile="{name}"><strong>(\d+)</strong>', html)
    assert found, f"no tile {name}"
    return int(found.group(1))


def _nav(html: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', html)
    return int(found.group(1)) if found else 0


def _events(system, kind: str) -> list[AuditEvent]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def _at_analysis(system) -> int:
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    return cid


# --- the first page ------------------------------------------------------------------------------------------


def test_sign_in_lands_on_the_first_page(system, client):
    response = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026"})
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/home"
    assert "待处理" in text_of(client.get("/home")) or client.get("/home").status_code == 200


def test_each_role_sees_what_waits_for_it(system, login):
    mine = start(system).complaint_id  # judge_validity, held by its recorder agent1
    other = start(system, user="cs_manager").complaint_id  # judge_validity for cs_manager: nobody's yet
    waiting = _at_analysis(system)  # analyse_and_propose for the logistics head
    clock.set_now(clock.now() + timedelta(hours=7))  # past every first-response limit of the new ones
    agent = text_of(login("agent1").get("/home"))
    assert _tile(agent, "mine") >= 1 and _nav(agent, "mine") == _tile(agent, "mine")
    assert _tile(agent, "overdue") >= 1
    assert "待领取任务" in agent
    head = text_of(login("head_logistics").get("/home"))
    assert _tile(head, "unclaimed") == 1 and _nav(head, "unclaimed") == 1
    assert 'data-task="analyse_and_propose"' in head
    assert _tile(login("head_quality").get("/home").get_data(as_text=True), "unclaimed") == 0
    # Managers: approvals, escalations, and for the general manager the deferral requests.
    with UnitOfWork(system.db) as uow:
        deferrals.request_deferral(uow, system.actor("head_logistics"), open_task(system, waiting).id,
                                   "顾客出差", clock.now() + timedelta(hours=30))
    gm = text_of(login("gm").get("/home"))
    assert _tile(gm, "deferrals") == 1 and _nav(gm, "deferrals") == 1
    assert "data-tile=\"approvals\"" in gm and "data-tile=\"escalated\"" in gm
    manager = text_of(login("cs_manager", locale="en").get("/home"))
    assert "Approvals waiting" in manager and "Escalated to you" in manager
    assert mine and other
    # Process owners see no complaints: their first page is the models.
    assert login("owner").get("/home").headers["Location"].endswith("/models/")


def test_the_process_owners_first_page_counts_what_waits_for_them(system, login):
    from tests.modelling.variants import with_legal_review

    start(system)
    owner = login("owner")
    page = text_of(owner.get("/", follow_redirects=True))
    assert "<h1>流程模型</h1>" in page and 'href="/tasks/mine"' not in page  # no complaints, so no task lists
    assert [_tile(page, t) for t in ("incidents", "older", "drafts", "unread")] == [0, 0, 0, 0]
    draft = "/models/complaint_lifecycle/draft"
    owner.post(f"{draft}/open")
    assert _tile(text_of(owner.get("/models/")), "drafts") == 1
    owner.post(f"{draft}/files", json={"files": with_legal_review()})
    assert owner.post(f"{draft}/deploy").status_code == 200
    page = text_of(owner.get("/models/"))
    assert _tile(page, "older") == 1 and _tile(page, "drafts") == 0  # the running complaint is on version 1
    assert 'href="/models/versions/2" data-tile="older"' in page


def test_an_escalated_task_held_by_its_agent_is_on_the_managers_list_and_tile(system, login):
    cid = start(system).complaint_id  # judge_validity, held by its recorder agent1
    clock.set_now(clock.now() + timedelta(hours=7))
    timers.run_due(system.db)
    row = open_task(system, cid)
    assert row.escalated_to == "cs_manager" and row.assignee_id == system.actor("agent1").id
    home = text_of(login("cs_manager").get("/home"))
    listed = re.search(r'data-list="escalated">(.*?)</section>', home, re.S).group(1)
    assert f'href="/task/{row.id}"' in listed
    assert _tile(home, "escalated") == listed.count("<tr data-task=")
    pool = text_of(login("cs_manager").get("/tasks/all?due=escalated"))
    assert f'href="/task/{row.id}"' in pool


# --- task lists: filters, sort, bulk claim ---------------------------------------------------------------


def test_task_lists_filter_and_sort(system, login):
    start(system, level="very_dissatisfied", customer_name="赵先生")
    start(system, level="dissatisfied", category="product_quality", customer_name="钱女士")
    agent = login("agent1")

    def refs(url: str) -> list[str]:
        return re.findall(r'data-task-id="[^"]+">\s*<td>.*?</td>\s*<td><a [^>]+>([^<]+)</a>', text_of(agent.get(url)),
                          re.S)

    assert len(refs("/tasks/mine")) == 2
    assert len(refs("/tasks/mine?level=very_dissatisfied")) == 1
    assert len(refs("/tasks/mine?category=product_quality")) == 1
    assert len(refs("/tasks/mine?q=钱女")) == 1
    assert len(refs("/tasks/mine?q=%25")) == 0  # a wildcard is matched literally
    assert len(refs("/tasks/mine?department=quality")) == 0
    assert len(refs("/tasks/mine?due=overdue")) == 0
    assert len(refs("/tasks/mine?due=no-such-state&claim=bogus")) == 2  # unknown values narrow nothing
    assert refs("/tasks/mine?sort=reference") == sorted(refs("/tasks/mine?sort=reference"))
    assert refs("/tasks/mine?sort=reference&desc=1") == sorted(refs("/tasks/mine?sort=reference"), reverse=True)


def test_task_lists_filter_by_department_due_state_and_holder(system, login):
    logistics = _at_analysis(system)
    quality = start(system, category="product_quality").complaint_id
    step(system, quality, "judge_validity")
    step(system, quality, "hand_over", department="quality")
    fresh = start(system).complaint_id  # judge_validity, held by agent1
    gm = login("gm")

    def listed(url: str) -> set[int]:
        return {int(c) for c in re.findall(r'href="/complaints/(\d+)"', text_of(gm.get(url)))}

    assert listed("/tasks/all") == {logistics, quality, fresh}
    assert listed("/tasks/all?department=logistics") == {logistics}
    assert listed("/tasks/all?department=quality") == {quality}
    assert listed("/tasks/all?claim=unclaimed") == {logistics, quality}
    assert listed("/tasks/all?claim=others") == {fresh}
    assert listed("/tasks/all?due=overdue") == set()
    due = {c: open_task(system, c).due_at for c in (logistics, quality, fresh)}
    clock.set_now(min(due.values()) + timedelta(minutes=1))  # the first deadline has passed, not every one
    overdue = {c for c, at in due.items() if at <= clock.now()}
    assert 0 < len(overdue) < 3
    assert listed("/tasks/all?due=overdue") == overdue
    assert listed("/tasks/all?due=overdue&department=quality") == overdue & {quality}


def test_bulk_claim_claims_what_it_can_in_one_go(system, login):
    first, second = _at_analysis(system), _at_analysis(system)
    tasks = [open_task(system, first).id, open_task(system, second).id]
    head = login("head_logistics")
    queue = text_of(head.get("/tasks/queue?claim=unclaimed"))
    assert all(f'value="{t}"' in queue for t in tasks) and 'id="bulk-claim"' in queue
    other = start(system).complaint_id  # an agent's task: not the head's to claim
    response = head.post("/tasks/claim", data={"task_ids": [*tasks, open_task(system, other).id, "nope"]})
    assert response.status_code == 302
    head_id = system.actor("head_logistics").id
    assert [open_task(system, c).assignee_id for c in (first, second)] == [head_id, head_id]
    assert open_task(system, other).assignee_id == system.actor("agent1").id
    assert "2" in text_of(head.get("/tasks/mine"))
    assert len(_events(system, "task_claimed")) == 2


def test_the_pool_shows_only_tasks_nobody_holds(system, login):
    held, free = _at_analysis(system), _at_analysis(system)
    held_task, free_task = open_task(system, held).id, open_task(system, free).id
    head = login("head_logistics")
    assert head.post(f"/tasks/{held_task}/claim").status_code == 302
    pool = text_of(head.get("/tasks/queue"))
    assert f'value="{free_task}"' in pool and held_task not in pool
    assert 'name="claim"' not in pool  # "held by" is no question in the pool
    assert held_task in text_of(head.get("/tasks/mine"))
    home = text_of(head.get("/home"))
    assert _tile(home, "unclaimed") == 1 and _nav(home, "unclaimed") == 1


# --- notifications --------------------------------------------------------------------------------------------


def test_notifications_unread_open_and_mark_all_read(system, login):
    cid = start(system).complaint_id  # agent1 is told of the new task
    assert _nav(text_of(login("agent1").get("/home")), "unread") == 1
    login("agent1").post("/notifications/read")
    with UnitOfWork(system.db) as uow:
        users = list(uow.session.scalars(select(User).where(User.username.in_(["agent1", "agent2"]))))
        for n in range(3):
            notify(uow.session, users, "warning", f"k{n}", {"task": "判断投诉是否成立", "reference": "X",
                                                             "due": "2026-11-23T12:00:00+00:00"}, complaint_id=cid)
        uow.commit()
    agent = login("agent1")
    page = text_of(agent.get("/notifications"))
    assert _nav(page, "unread") == 3 and page.count('class="card message unread"') == 3
    with UnitOfWork(system.db, write=False) as uow:
        mine = uow.session.scalars(select(Notification).where(
            Notification.user_id == system.actor("agent1").id, Notification.read_at.is_(None))).first()
        others = uow.session.scalars(select(Notification).where(
            Notification.user_id == system.actor("agent2").id)).first()
    assert agent.post(f"/notifications/{mine.id}/open").headers["Location"] == f"/complaints/{cid}"
    assert _nav(text_of(agent.get("/notifications")), "unread") == 2
    assert agent.post(f"/notifications/{others.id}/open").status_code == 404  # not revealed, not read
    assert agent.post("/notifications/read").status_code == 302
    assert _nav(text_of(agent.get("/notifications")), "unread") == 0
    assert _nav(text_of(login("agent2").get("/notifications")), "unread") == 3


# --- assignment ----------------------------------------------------------------------------------------------


def test_a_manager_assigns_a_task_to_a_named_colleague(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)  # judge_validity, held by agent1
    manager = login("cs_manager")
    form = text_of(manager.get(f"/task/{task.id}/assign"))
    assert 'value="agent2"' in form and 'value="head_logistics"' not in form  # only who may work it
    assert manager.post(f"/task/{task.id}/assign", data={"assignee": "head_logistics"}).status_code == 422
    assert manager.post(f"/task/{task.id}/assign", data={"assignee": "agent2"}).status_code == 302
    assert open_task(system, cid).assignee_id == system.actor("agent2").id
    [event] = _events(system, "task_assigned")
    assert event.actor_name == "cs_manager" and event.data == {"assignee": "李娜 (回访专员)", "previous": "王芳 (客服)"}
    assert login("agent1").get(f"/task/{task.id}/assign").status_code == 403
    assert login("agent1").post(f"/task/{task.id}/assign", data={"assignee": "agent1"}).status_code == 403
    agent2 = text_of(login("agent2").get("/notifications"))
    assert "新任务" in agent2 and _nav(agent2, "unread") == 1  # the new holder is told


def test_a_department_head_assigns_within_the_department_only(system, login):
    cid = _at_analysis(system)
    task = open_task(system, cid)
    assert login("head_quality").get(f"/task/{task.id}/assign").status_code == 403
    # The logistics head may assign their department's task; the only colleague who may work it is a deputy.
    head = login("head_logistics")
    assert "Nobody else" in text_of(login("head_logistics", locale="en").get(f"/task/{task.id}/assign")) \
        or 'value="head_logistics"' in text_of(head.get(f"/task/{task.id}/assign"))


# --- deputies ------------------------------------------------------------------------------------------------


def test_a_deputy_works_the_department_tasks_while_appointed_and_the_audit_says_for_whom(system, login):
    cid = _at_analysis(system)
    task = open_task(system, cid)
    deputy = login("agent2")
    assert deputy.get(f"/task/{task.id}").status_code == 403
    head = login("head_logistics")
    assert login("agent1").get("/deputies").status_code == 403
    period = {"deputy": "agent2", "starts_at": "2026-11-23T17:00", "ends_at": "2026-11-25T17:00"}
    assert head.post("/deputies", data=dict(period, ends_at="2026-11-23T16:00")).status_code == 422
    assert head.post("/deputies", data=dict(period, deputy="head_logistics")).status_code == 422
    assert head.post("/deputies", data=dict(period, ends_at="2027-06-01T00:00")).status_code == 422
    assert head.post("/deputies", data=period).status_code == 302
    [appointed] = _events(system, "deputy_appointed")
    assert appointed.actor_name == "head_logistics" and appointed.data["deputy"] == "agent2"
    deputy = login("agent2")  # a new request loads the running appointment
    assert 'data-task="analyse_and_propose"' in text_of(deputy.get("/tasks/queue"))
    assert deputy.get(f"/task/{task.id}").status_code == 200
    assert deputy.get(f"/complaints/{cid}").status_code == 200
    assert deputy.post(f"/tasks/{task.id}/claim").status_code == 302
    [acted] = _events(system, "acted_as_deputy")
    assert acted.actor_name == "agent2" and acted.data == {"on_behalf_of": "head_logistics", "action": "task_claimed"}
    assert acted.complaint_id == cid
    # Ended early: the deputy no longer works the department's tasks.
    page = text_of(head.get("/deputies"))
    appointment = re.search(r'data-appointment="(\d+)"', page).group(1)
    assert head.post(f"/deputies/{appointment}/end").status_code == 302
    assert deputy.get(f"/task/{task.id}").status_code == 403
    assert len(_events(system, "deputy_ended")) == 1
    assert login("head_quality").post(f"/deputies/{appointment}/end").status_code == 404


def test_an_appointment_ends_by_itself(system, login):
    cid = _at_analysis(system)
    task = open_task(system, cid)
    head = login("head_logistics")
    assert head.post("/deputies", data={"deputy": "agent2", "starts_at": "2026-11-23T17:00",
                                        "ends_at": "2026-11-23T19:00"}).status_code == 302
    assert login("agent2").get(f"/task/{task.id}").status_code == 200
    clock.set_now(clock.now() + timedelta(hours=3))
    assert login("agent2").get(f"/task/{task.id}").status_code == 403


# --- administration --------------------------------------------------------------------------------------


def test_an_admin_adds_a_user_who_then_signs_in(system, login, client):
    admin = login("admin")
    assert "agent1" in text_of(admin.get("/admin/users"))
    new = {"username": "agent3", "display_name": "周婷 (客服)", "role": "agent", "department": "",
           "email": "zhou@example.com", "password": "short"}
    assert admin.post("/admin/users/new", data=new).status_code == 422
    assert admin.post("/admin/users/new", data=dict(new, role="department_head", password="long-enough-1")) \
        .status_code == 422  # a department head needs a department
    assert admin.post("/admin/users/new", data=dict(new, username="agent1", password="long-enough-1")) \
        .status_code == 422
    assert admin.post("/admin/users/new", data=dict(new, password="long-enough-1")).status_code == 302
    assert client.post("/login", data={"username": "agent3", "password": "long-enough-1"}).status_code == 302
    assert "周婷" in text_of(client.get("/home"))
    [added] = _events(system, "user_added")
    assert added.actor_name == "admin" and added.data["user"] == "agent3"
    for role in ("agent1", "head_logistics", "gm", "owner"):
        assert login(role).get("/admin/users").status_code == 403
        assert login(role).post("/admin/users/new", data=new).status_code == 403


def test_an_admin_edits_deactivates_and_resets(system, login):
    admin = login("admin")
    uid = system.actor("agent2").id
    agent2 = login("agent2")
    edit = {"display_name": "李娜", "role": "department_head", "department": "sales", "email": ""}
    assert admin.post(f"/admin/users/{uid}", data=dict(edit, department="")).status_code == 422
    assert admin.post(f"/admin/users/{uid}", data=edit).status_code == 302
    assert agent2.get("/home").status_code == 302  # a new role ends the sessions
    assert _events(system, "user_changed")[0].data["changes"]["role"] == ["agent", "department_head"]
    assert admin.post(f"/admin/users/{uid}/password", data={"password": "x"}).status_code == 422
    assert admin.post(f"/admin/users/{uid}/password", data={"password": "brand-new-pass"}).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        assert authenticate(uow, "agent2", "brand-new-pass") is not None
    assert admin.post(f"/admin/users/{uid}/active", data={"active": "0"}).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        assert authenticate(uow, "agent2", "brand-new-pass") is None
    assert admin.post(f"/admin/users/{system.actor('admin').id}/active", data={"active": "0"}).status_code == 409
    kinds = [e.kind for e in _events(system, "password_reset") + _events(system, "user_deactivated")]
    assert kinds == ["password_reset", "user_deactivated"]
    record = text_of(admin.get("/admin/record"))  # the administrator reads it all back, newest first
    assert re.findall(r'data-event="(\w+)"', record)[:3] == ["user_deactivated", "password_reset", "user_changed"]
    assert "为 李娜 重置了密码" in record
    assert login("gm").get("/admin/record").status_code == 403
    assert admin.get(f"/admin/users/{uid}").status_code == 200
    assert admin.get("/admin/users/999999").status_code == 404


def test_the_admin_lists_tokens_and_customer_links(system, login):
    start(system)
    admin = login("admin")
    login("agent1").post("/account/api-tokens", data={"name": "脚本"})
    assert "脚本" in text_of(admin.get("/admin/tokens"))
    assert re.search(r"TS\d{8}-\d+", text_of(admin.get("/admin/customer-links")))
    assert login("agent1").get("/admin/tokens").status_code == 403
    assert login("cs_manager").get("/admin/customer-links").status_code == 403


def test_the_admin_sees_each_departments_heads_staff_deputies_and_waiting_tasks(system, login):
    _at_analysis(system)  # analyse_and_propose waits in the logistics head's lane
    with UnitOfWork(system.db) as uow:
        deputies.appoint(uow, system.actor("head_logistics"), "agent2", clock.now(), clock.now() + timedelta(days=3))
    page = text_of(login("admin").get("/admin/departments"))
    logistics = re.search(r'data-department="logistics">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", logistics, re.S)]
    with UnitOfWork(system.db, write=False) as uow:
        head = uow.session.scalar(select(User.display_name).where(User.username == "head_logistics"))
    assert cells[:3] == ["储运部", "logistics", "有效"] and cells[3] == head and int(cells[4]) >= 1
    assert "李娜 (回访专员) 代理" in cells[5] and cells[6] == "1"
    quality = re.search(r'data-department="quality">(.*?)</tr>', page, re.S).group(1)
    assert "代理" not in quality and quality.rstrip().endswith("<td>0</td>")
    assert page.count("data-department=") == 5
    assert login("head_logistics").get("/admin/departments").status_code == 403


def test_everyone_changes_their_own_password(system, login):
    here, elsewhere = login("head_sales"), login("head_sales")
    assert here.post("/account/password", data={"current": "wrong-one", "password": "new-pass-2027"}).status_code == 422
    assert here.post("/account/password", data={"current": "demo-pass-2026", "password": "short"}).status_code == 422
    response = here.post("/account/password", data={"current": "demo-pass-2026", "password": "new-pass-2027"})
    assert response.status_code == 302
    assert here.get("/home").status_code == 200  # this session carries on
    assert elsewhere.get("/home").status_code == 302  # the other one ended
    login("head_sales", password="new-pass-2027")
    assert _events(system, "password_changed")[0].actor_name == "head_sales"


def test_a_deputy_works_through_the_api_too(system, app):
    cid = _at_analysis(system)
    task = open_task(system, cid)
    with UnitOfWork(system.db) as uow:
        token = tokens.create_token(uow, system.actor("agent2"), "agent2", "deputy")[1]
        deputies.appoint(uow, system.actor("head_logistics"), "agent2", clock.now(), clock.now() + timedelta(days=1))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers).status_code == 204
    assert _events(system, "acted_as_deputy")[0].data["on_behalf_of"] == "head_logistics"


def test_each_desk_post_commits_once(system, login, commits):
    """Like tests/web/test_one_commit.py, for the desk's posts: one commit each, and none for reading."""
    from tests.web.test_one_commit import once

    first, second = _at_analysis(system), _at_analysis(system)
    head, manager, admin, agent = login("head_logistics"), login("cs_manager"), login("admin"), login("agent1")
    commits.clear()
    for client, url in ((head, "/home"), (head, "/tasks/queue?claim=unclaimed&q=x"), (admin, "/admin/users")):
        assert client.get(url).status_code == 200
    assert commits == []
    tasks = [open_task(system, c).id for c in (first, second)]
    assert once(commits, lambda: head.post("/tasks/claim", data={"task_ids": tasks})).status_code == 302
    own = open_task(system, start(system).complaint_id).id
    assert once(commits, lambda: manager.post(f"/task/{own}/assign", data={"assignee": "agent2"})).status_code == 302
    period = {"deputy": "agent2", "starts_at": "2026-11-23T17:00", "ends_at": "2026-11-24T17:00"}
    assert once(commits, lambda: head.post("/deputies", data=period)).status_code == 302
    appointment = re.search(r'data-appointment="(\d+)"', text_of(head.get("/deputies"))).group(1)
    assert once(commits, lambda: head.post(f"/deputies/{appointment}/end")).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        note = uow.session.scalars(select(Notification).where(
            Notification.user_id == system.actor("agent2").id)).first()
    agent2 = login("agent2")
    assert once(commits, lambda: agent2.post(f"/notifications/{note.id}/open")).status_code == 302
    assert once(commits, lambda: agent.post("/notifications/read")).status_code == 302
    user = {"username": "agent7", "display_name": "新同事", "role": "agent", "department": "", "email": "",
            "password": "long-enough-1"}
    assert once(commits, lambda: admin.post("/admin/users/new", data=user)).status_code == 302
    uid = system.actor("agent7").id
    assert once(commits, lambda: admin.post(f"/admin/users/{uid}", data=dict(user, display_name="新同事甲"))) \
        .status_code == 302
    assert once(commits, lambda: admin.post(f"/admin/users/{uid}/password", data={"password": "another-pass-1"})) \
        .status_code == 302
    assert once(commits, lambda: admin.post(f"/admin/users/{uid}/active", data={"active": "0"})).status_code == 302
    assert once(commits, lambda: agent.post("/account/password", data={
        "current": "demo-pass-2026", "password": "new-pass-2027"})).status_code == 302
