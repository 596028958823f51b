"""The customer's page over HTTP: plain status in Chinese or English, no internal data, the survey."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.bootstrap import DEMO_PASSWORD
from engine.complaints import casework, tasks
from engine.complaints import customer_link as surveys
from engine.db import UnitOfWork
from engine.errors import Conflict
from engine.models import Complaint, Survey
from tests.lifecycle import ANSWERS, open_task, start, step
from tests.web.conftest import compile_catalogues

HAPPY = ["judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"]


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    compile_catalogues()


def link_of(app, system, cid) -> str:
    with UnitOfWork(system.db, write=False) as uow:
        reference = uow.session.get(Complaint, cid).reference
    return "/c/" + surveys.link_token(app.secret_key, cid, reference)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def offer(html: str) -> str:
    return re.search(r'name="offer" value="([^"]+)"', html)[1]


def test_status_in_chinese_by_default_and_english_on_request(app, system, client):
    cid = start(system).complaint_id
    with UnitOfWork(system.db) as uow:
        casework.add_comment(uow, system.actor("agent1"), cid, "内部备注：顾客脾气很大")
    url = link_of(app, system, cid)
    zh = client.get(url).get_data(as_text=True)
    assert "我们正在核实您的投诉。" in zh and "物流" in zh
    en = app.test_client().get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "We are looking into your complaint." in en
    switched = client.get(url + "?lang=en").get_data(as_text=True)
    assert "We are looking into your complaint." in switched
    for page in (zh, en):  # nothing internal: no staff, no notes, no customer data beyond the reference
        assert "王芳" not in page and "agent1" not in page and "内部备注" not in page and "13800000000" not in page


@pytest.mark.parametrize("mangle", [lambda u: u + "x", lambda u: u[:-5], lambda u: "/c/abc", lambda u: u[:12]])
def test_broken_links_are_404_without_data(app, system, client, mangle):
    cid = start(system).complaint_id
    response = client.get(mangle(link_of(app, system, cid)))
    assert response.status_code == 404
    assert "TS2026" not in response.get_data(as_text=True)


def test_survey_on_the_page_decides_the_follow_up_once(app, system, client):
    cid = start(system).complaint_id
    for name in HAPPY:
        step(system, cid, name)
    follow_up = open_task(system, cid)
    url = link_of(app, system, cid)
    html = client.get(url).get_data(as_text=True)
    assert "您对我们的处理结果满意吗？" in html
    form = {"csrf_token": csrf(html), "offer": offer(html), "comment": "很好"}
    bad = client.post(url + "/survey", data=dict(form, rating="9"))
    assert bad.status_code == 422 and "error" in bad.get_data(as_text=True)
    assert client.post(url + "/survey", data=dict(form, satisfied="yes", rating="5")).status_code == 302
    assert "感谢您的反馈" in client.get(url + "?thanks=1").get_data(as_text=True)
    assert open_task(system, cid).name == "cs_sign_off"
    again = client.post(url + "/survey", data=dict(form, satisfied="no"))
    assert again.status_code == 409 and "您已经填写过" in again.get_data(as_text=True)
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(Survey)))
    assert [(r.satisfied, r.rating, r.comment, r.applied) for r in rows] == [(True, 5, "很好", True)]
    # The agent's follow-up, opened before the answer came, is refused.
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        tasks.complete_task(uow, system.actor("agent1"), follow_up.id, ANSWERS["follow_up"])
    assert client.post(url + "/survey", data=dict(form, satisfied="yes", extra="x")).status_code == 400
    assert client.post(url + "/survey", data={"satisfied": "yes", "offer": form["offer"]}).status_code == 400


def test_staff_see_the_customers_link(app, system):
    cid = start(system).complaint_id
    app.config["WTF_CSRF_ENABLED"] = False
    agent = app.test_client()
    agent.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD})
    page = agent.get(f"/complaints/{cid}/customer-link")
    assert page.status_code == 200 and "/c/" in page.get_data(as_text=True)
    assert app.test_client().get(f"/complaints/{cid}/customer-link").status_code == 302
