"""Signing in, roles, departments, unknown ids and CSRF: every refusal is a page with the right status."""
from __future__ import annotations

import re

from engine.db import UnitOfWork
from engine.models import AuditEvent, Comment
from engine.people import users as staff
from tests.lifecycle import handed_over, open_task, start
from tests.web.conftest import make_app, text_of


def test_pages_need_a_signed_in_user(client):
    for url in ("/", "/tasks/mine", "/complaints/new", "/complaints/1", "/search", "/search.csv", "/task/x"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_sign_in_and_out(client):
    wrong = client.post("/login", data={"username": "agent1", "password": "wrong-password"})
    assert wrong.status_code == 200 and "用户名或密码错误" in text_of(wrong)
    unknown = client.post("/login", data={"username": "nobody", "password": "wrong-password"})
    assert "用户名或密码错误" in text_of(unknown)
    ok = client.post("/login?next=/search", data={"username": "agent1", "password": "demo-pass-2026",
                                                 "next": "/search"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/search"
    assert "王芳" in text_of(client.get("/search"))
    assert client.post("/logout").status_code == 302
    assert client.get("/tasks/mine").status_code == 302


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_signing_out_ends_the_session_on_the_server(app, login):
    agent = login("agent1")
    copied = _session_cookie(agent)
    assert agent.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/tasks/mine")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_new_password_or_deactivation_ends_every_session(system, app, login):
    laptop, phone = login("agent1"), login("agent2")
    with UnitOfWork(system.db) as uow:
        staff.set_password(uow, "agent1", "a-new-long-password")
    assert laptop.get("/tasks/mine").status_code == 302
    assert phone.get("/tasks/mine").status_code == 200  # other people's sessions are theirs
    login("agent1", password="a-new-long-password")
    with UnitOfWork(system.db) as uow:
        staff.set_active(uow, "agent2", False)
    assert phone.get("/tasks/mine").status_code == 302
    refused = app.test_client().post("/login", data={"username": "agent2", "password": "demo-pass-2026"})
    assert refused.status_code == 200 and "用户名或密码错误" in text_of(refused)


def test_sign_in_never_redirects_off_site(client):
    response = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026",
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_session_cookie_is_http_only_and_lax(client):
    response = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_when_configured(system):
    from dataclasses import replace

    system.settings = replace(system.settings, secure_cookies=True)
    client = make_app(system).test_client()
    response = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026"})
    assert "Secure" in response.headers["Set-Cookie"]


def test_unknown_things_are_404(login):
    agent = login("agent1")
    for url in ("/complaints/999", "/task/no-such-task", "/evidence/nope", "/tasks/everything",
                "/complaints/999/model.bpmn", "/no/such/page"):
        response = agent.get(url)
        assert response.status_code == 404, url
        assert "未找到" in text_of(response)
    assert agent.post("/tasks/no-such-task/claim").status_code == 404
    assert agent.post("/complaints/999/comments", data={"body": "x"}).status_code == 404


def test_roles_are_checked_on_every_action(system, login):
    cid = start(system).complaint_id
    task = open_task(system, cid)  # judge_validity, an agent's task
    gm, head, owner = login("gm"), login("head_logistics"), login("owner")
    assert owner.get("/complaints/new").status_code == 403  # anyone on the desk records; the model's owner does not
    assert owner.post("/complaints/new", data={"customer_name": "x"}).status_code == 403
    response = gm.get(f"/task/{task.id}")
    assert response.status_code == 403 and "无权操作" in text_of(response)
    assert gm.post(f"/task/{task.id}", data={"_version": "1", "valid": "true"}).status_code == 403
    assert gm.post(f"/tasks/{task.id}/claim").status_code == 403
    assert head.get(f"/complaints/{cid}").status_code == 403  # no department yet: routing comes later
    assert owner.post(f"/complaints/{cid}/comments", data={"body": "看一下"}).status_code == 403
    assert owner.get(f"/complaints/{cid}").status_code == 403  # process owners see models, not complaints
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Comment).count() == 0


def test_department_heads_see_only_their_department(system, login):
    cid, task = handed_over(system)  # logistics
    quality = login("head_quality")
    for url in (f"/complaints/{cid}", f"/complaints/{cid}/model.bpmn", f"/task/{task.id}"):
        assert quality.get(url).status_code == 403, url
    assert quality.post(f"/complaints/{cid}/comments", data={"body": "x"}).status_code == 403
    assert quality.post(f"/tasks/{task.id}/claim").status_code == 403
    reference = _reference(system, cid)
    assert reference not in quality.get("/tasks/queue").get_data(as_text=True)
    assert reference not in quality.get("/search").get_data(as_text=True)
    assert reference not in quality.get("/search?department=logistics").get_data(as_text=True)
    assert reference not in quality.get("/search.csv").get_data(as_text=True)
    logistics = login("head_logistics")
    assert reference in logistics.get("/tasks/queue").get_data(as_text=True)
    assert reference in logistics.get("/search").get_data(as_text=True)
    assert logistics.get(f"/task/{task.id}").status_code == 200


def test_claim_and_release_from_the_queue(system, login):
    cid, task = handed_over(system)
    head = login("head_logistics")
    queue = text_of(head.get("/tasks/queue"))
    assert f"/tasks/{task.id}/claim" in queue
    assert head.post(f"/tasks/{task.id}/claim", data={"next": "/tasks/queue"}).status_code == 302
    assert open_task(system, cid).assignee_id == system.actor("head_logistics").id
    mine = text_of(head.get("/tasks/mine"))
    assert f"/tasks/{task.id}/release" in mine
    head.post(f"/tasks/{task.id}/release")
    assert open_task(system, cid).assignee_id is None


def test_csrf_token_is_required(system):
    app = make_app(system, csrf=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    refused = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026"})
    assert refused.status_code == 400 and "表单已过期" in text_of(refused)
    signed_in = client.post("/login", data={"username": "agent1", "password": "demo-pass-2026",
                                            "csrf_token": token})
    assert signed_in.status_code == 302
    cid = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        before = uow.session.query(AuditEvent).count()
    response = client.post(f"/complaints/{cid}/comments", data={"body": "无令牌"})
    assert response.status_code == 400
    task = open_task(system, cid)
    assert client.post(f"/task/{task.id}", data={"_version": "2", "valid": "true"}).status_code == 400
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(AuditEvent).count() == before
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post(f"/complaints/{cid}/comments", data={"body": "有令牌", "csrf_token": token})
    assert accepted.status_code == 302


def _reference(system, cid) -> str:
    from engine.models import Complaint

    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, cid).reference
