"""Every API endpoint and its errors, over HTTP (the Flask test client) on a real database."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from engine import clock
from engine.complaints import withdrawal
from engine.db import UnitOfWork
from engine.models import ApiToken, Complaint, Notification, ProcessVersion
from engine.people import tokens as api_tokens
from tests.api.conftest import problem
from tests.lifecycle import ANSWERS, INTAKE, handed_over, open_task, start, step

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def count(system, model, *where):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


# --- the document and authentication ------------------------------------------------------------

def test_openapi_document_is_valid_and_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert {("POST", "/api/v1/complaints"), ("GET", "/api/v1/complaints"), ("GET", "/api/v1/complaints/{complaint_id}"),
            ("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/{task_id}"), ("POST", "/api/v1/tasks/{task_id}/claim"),
            ("POST", "/api/v1/tasks/{task_id}/release"), ("POST", "/api/v1/tasks/{task_id}/complete"),
            ("GET", "/api/v1/reports/{kind}"), ("GET", "/api/v1/process-models"),
            ("POST", "/api/v1/process-models/validate"), ("POST", "/api/v1/process-models/deploy"),
            ("POST", "/api/v1/deferrals"), ("GET", "/api/v1/deferrals"),
            ("POST", "/api/v1/deferrals/{deferral_id}/decision")} <= operations
    assert client.get("/api/v1/").get_json() == {"openapi": "/api/v1/openapi.json"}


@pytest.mark.parametrize("header", [None, "Basic YWdlbnQxOnB3", "Bearer", "Bearer cpt_unknown", "Bearer x" * 300])
def test_requests_without_a_valid_token_are_401(client, header):
    body = problem(client.get("/api/v1/complaints", headers={"Authorization": header} if header else {}), 401)
    assert "Bearer" in body["detail"]


def test_revoked_token_is_refused_and_use_is_recorded(system, client, token):
    secret = token("agent1")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalars(select(ApiToken)).one()
    assert row.last_used_at == clock.now() and row.token_hash != secret and secret.startswith(row.prefix)
    with UnitOfWork(system.db) as uow:
        api_tokens.revoke_token(uow, system.actor("agent1"), row.id)
    problem(client.get("/api/v1/tasks", headers=headers), 401)


def test_unknown_paths_and_methods(api):
    agent = api("agent1")
    problem(agent.get("/api/v1/nothing/here"), 404)
    body = problem(agent.delete("/api/v1/complaints"), 405)
    assert "GET" in body["detail"]
    problem(agent.get("/api/v1/reports/decade"), 404)
    problem(agent.get("/api/v1/complaints/abc"), 404)


# --- complaints ----------------------------------------------------------------------------------

def test_create_complaint_gives_the_customer_link_and_queues_it(system, api):
    response = api("agent1").post("/api/v1/complaints", json=dict(INTAKE, customer_contact="kunde@example.cn"))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/complaints/{body['complaint_id']}"
    assert body["status"] == "open" and body["open_tasks"][0]["task"] == "judge_validity"
    assert body["customer_link"].startswith(system.settings.public_base_url + "/c/")
    with UnitOfWork(system.db, write=False) as uow:
        note = uow.session.scalars(select(Notification).where(Notification.kind == "customer_link")).one()
    assert note.email == "kunde@example.cn" and note.params["link"] == body["customer_link"]


def test_idempotency_key_creates_once(system, api):
    agent = api("agent1")
    first = agent.post("/api/v1/complaints", json=INTAKE, headers={"Idempotency-Key": "order-77"})
    again = agent.post("/api/v1/complaints", json=dict(reversed(list(INTAKE.items()))),
                       headers={"Idempotency-Key": "order-77"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert count(system, Complaint) == 1
    body = problem(agent.post("/api/v1/complaints", json=dict(INTAKE, demand="其他"),
                              headers={"Idempotency-Key": "order-77"}), 422)
    assert "Idempotency-Key" in body["errors"]
    # Keys are per user: another agent's same key is a new request.
    assert api("agent2").post("/api/v1/complaints", json=INTAKE,
                              headers={"Idempotency-Key": "order-77"}).status_code == 201
    problem(agent.post("/api/v1/complaints", json=INTAKE, headers={"Idempotency-Key": "k" * 201}), 422)
    assert count(system, Complaint) == 2


def test_create_complaint_errors(system, api):
    body = problem(api("agent1").post("/api/v1/complaints", json={"customer_name": "", "level": "huge"}), 422)
    assert {"customer_contact", "level"} <= set(body["errors"])
    problem(api("owner").post("/api/v1/complaints", json=INTAKE), 403)
    assert count(system, Complaint) == 0


def test_list_complaints_filters_pages_and_departments(system, api):
    for category in ("logistics", "logistics", "product_quality"):
        cid = start(system, category=category).complaint_id
        step(system, cid, "judge_validity")
    agent = api("agent1")
    everything = agent.get("/api/v1/complaints").get_json()
    assert everything["total"] == 3 and everything["pages"] == 1
    page = agent.get("/api/v1/complaints?category=logistics&per_page=1&page=2").get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (2, 2, 1)
    assert page["items"][0]["category"] == "logistics"
    assert api("head_quality").get("/api/v1/complaints").get_json()["total"] == 1
    since = (clock.now() + timedelta(hours=1)).isoformat()
    assert agent.get("/api/v1/complaints", query_string={"created_from": since}).get_json()["total"] == 0
    body = problem(agent.get("/api/v1/complaints?per_page=1000&status=gone&created_from=yesterday"), 422)
    assert {"per_page", "status", "created_from"} <= set(body["errors"])
    problem(agent.get("/api/v1/complaints?colour=blue"), 422)
    problem(agent.get("/api/v1/complaints?page=1&page=2"), 422)


def test_get_complaint_with_its_timeline(system, api):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    body = api("agent1").get(f"/api/v1/complaints/{cid}").get_json()
    assert body["id"] == cid and body["version"] >= 2 and body["open_tasks"][0]["task"] == "hand_over"
    assert [e["kind"] for e in body["timeline"]][:3] == ["complaint_started", "task_opened", "task_completed"]
    assert body["customer_link"].startswith(system.settings.public_base_url)
    problem(api("agent1").get("/api/v1/complaints/999999"), 404)
    step(system, cid, "hand_over")
    problem(api("head_quality").get(f"/api/v1/complaints/{cid}"), 403)
    form = api("agent1").get("/api/v1/complaints/form").get_json()
    assert "customer_name" in form["form"]["schema"]["properties"] and form["title_en"]


# --- tasks ---------------------------------------------------------------------------------------

def test_task_lists_and_task_with_its_form(system, api):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = api("agent1")
    mine = agent.get("/api/v1/tasks?scope=mine").get_json()
    assert [t["id"] for t in mine["items"]] == [task.id]
    assert agent.get("/api/v1/tasks?scope=overdue").get_json()["total"] == 0
    assert agent.get("/api/v1/tasks?scope=due_soon").get_json()["total"] == 1
    problem(agent.get("/api/v1/tasks?scope=everything"), 422)
    detail = agent.get(f"/api/v1/tasks/{task.id}").get_json()
    assert detail["name"] == "judge_validity" and "valid" in detail["form"]["schema"]["properties"]
    assert detail["complaint"]["id"] == cid and detail["status"] == "open"
    problem(agent.get("/api/v1/tasks/no-such-task"), 404)
    problem(api("gm").get(f"/api/v1/tasks/{task.id}"), 403)


def test_claim_release_and_complete_with_optimistic_locking(system, api):
    cid, task = handed_over(system)
    head = api("head_logistics")
    version = head.get(f"/api/v1/tasks/{task.id}").get_json()["complaint"]["version"]
    assert head.post(f"/api/v1/tasks/{task.id}/claim").status_code == 204
    problem(api("head_quality").post(f"/api/v1/tasks/{task.id}/claim"), 403)
    assert head.post(f"/api/v1/tasks/{task.id}/release").status_code == 204
    body = problem(head.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"cause": ""}, "version": version}),
                   422)
    assert "cause" in body["errors"]
    problem(head.post(f"/api/v1/tasks/{task.id}/complete",
                      json={"data": ANSWERS["analyse_and_propose"], "version": version - 1}), 409)
    done = head.post(f"/api/v1/tasks/{task.id}/complete",
                     json={"data": ANSWERS["analyse_and_propose"], "version": version})
    assert done.status_code == 200 and done.get_json()["open_tasks"][0]["task"] == "approve_solution"
    assert done.get_json()["version"] > version
    problem(head.post(f"/api/v1/tasks/{task.id}/complete", json={"data": ANSWERS["analyse_and_propose"]}), 409)
    problem(head.post("/api/v1/tasks/nope/claim"), 404)
    problem(head.post(f"/api/v1/tasks/{task.id}/complete", json={"version": 1}), 422)


# --- reports -------------------------------------------------------------------------------------

def test_reports(system, api):
    start(system)
    month = api("gm").get("/api/v1/reports/month").get_json()
    assert month["total"]["current"] == 1 and month["period"]["first_day"] == "2026-11-01"
    assert {row["level"] for row in month["first_response"]} >= {"dissatisfied", "*"}
    week = api("head_logistics").get("/api/v1/reports/week?date=2026-11-23").get_json()
    assert week["department"] == "logistics" and week["period"]["first_day"] == "2026-11-23"
    assert api("gm").get("/api/v1/reports/year?date=2025-06-01").get_json()["total"]["current"] == 0
    problem(api("head_logistics").get("/api/v1/reports/month?department=quality"), 403)
    problem(api("owner").get("/api/v1/reports/month"), 403)
    problem(api("gm").get("/api/v1/reports/month?date=2026-13-01"), 422)


# --- process models ------------------------------------------------------------------------------

def _bundle_zip(change=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(WORKFLOWS.rglob("*")):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                if change and path.name == "complaint_lifecycle.bpmn":
                    text = change(text)
                archive.writestr(f"workflows/{path.relative_to(WORKFLOWS).as_posix()}", text)
        archive.writestr("workflows/README.txt", "notes")
    return buffer.getvalue()


def test_process_models_list_validate_and_deploy(system, api):
    owner = api("owner")
    versions = owner.get("/api/v1/process-models").get_json()
    assert len(versions) == 1 and versions[0]["current"] is True
    problem(api("agent1").get("/api/v1/process-models"), 403)
    checked = owner.post("/api/v1/process-models/validate",
                         data={"files": (io.BytesIO(_bundle_zip()), "workflows.zip")}).get_json()
    assert checked["valid"] is True and checked["ignored"] == ["workflows/README.txt"]
    assert all(r["passed"] for r in checked["test_results"]) and checked["test_results"]
    renamed = _bundle_zip(lambda t: t.replace('name="回访顾客 Follow up with the customer"',
                                              'name="回访顾客（新） Follow up with the customer"'))
    deployed = owner.post("/api/v1/process-models/deploy", data={"files": (io.BytesIO(renamed), "w.zip")})
    assert deployed.status_code == 201 and deployed.get_json()["current"] is True
    assert count(system, ProcessVersion) == 2
    problem(api("agent1").post("/api/v1/process-models/deploy",
                               data={"files": (io.BytesIO(renamed), "w.zip")}), 403)


def test_single_broken_file_is_reported_with_its_problems(system, api):
    owner = api("owner")
    broken = (WORKFLOWS / "complaint_lifecycle.bpmn").read_text(encoding="utf-8").replace(
        'sourceRef="follow_up" targetRef="gw_satisfied"', 'sourceRef="follow_up" targetRef="nowhere"')
    checked = owner.post("/api/v1/process-models/validate",
                         data={"files": (io.BytesIO(broken.encode()), "complaint_lifecycle.bpmn")}).get_json()
    assert checked["valid"] is False and any(
        p["code"] == "flow_end_missing" and p["params"]["target"] == "nowhere" and p["line"] and p["message"]
        for p in checked["problems"])
    assert "forms/intake.schema.json" in checked["files"]  # laid over the current version's files
    body = problem(owner.post("/api/v1/process-models/deploy",
                              data={"files": (io.BytesIO(broken.encode()), "complaint_lifecycle.bpmn")}), 422)
    assert body["code"] == "model_not_deployable"
    assert any(p["code"] == "flow_end_missing" for p in body["problems"])
    assert any("nowhere" in m for m in body["errors"]["files"])
    # worded in the request's language, code and place unchanged
    chinese = problem(owner.post("/api/v1/process-models/deploy", headers={"Accept-Language": "zh"},
                                 data={"files": (io.BytesIO(broken.encode()), "complaint_lifecycle.bpmn")}), 422)
    [missing] = [p for p in chinese["problems"] if p["code"] == "flow_end_missing"]
    assert missing["message"] == "targetRef 指向不存在的元素 nowhere。" and missing["line"]
    assert count(system, ProcessVersion) == 1
    problem(owner.post("/api/v1/process-models/validate", json={"files": {}}), 422)
    problem(owner.post("/api/v1/process-models/validate", data={"files": (io.BytesIO(b"PK\x03\x04junk"), "a.zip")}),
            422)
    problem(owner.post("/api/v1/process-models/validate",
                       data={"files": (io.BytesIO(b"x"), "../evil.bpmn")}), 422)
    problem(owner.post("/api/v1/process-models/validate",
                       data={"files": (io.BytesIO(b"x"), "a.bpmn"), "extra": "y"}), 422)


# --- deferrals -----------------------------------------------------------------------------------

def test_deferral_request_and_decision(system, api):
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent, gm = api("agent1"), api("gm")
    until = (clock.now() + timedelta(hours=5)).isoformat()
    created = agent.post("/api/v1/deferrals", json={"task_id": task.id, "reason": "电话无人接听", "until": until})
    assert created.status_code == 201
    deferral_id = created.get_json()["id"]
    problem(agent.post("/api/v1/deferrals", json={"task_id": task.id, "reason": "again", "until": until}), 409)
    problem(agent.post(f"/api/v1/deferrals/{deferral_id}/decision", json={"approve": True}), 403)
    assert gm.post(f"/api/v1/deferrals/{deferral_id}/decision",
                   json={"approve": True, "note": "同意"}).status_code == 204
    assert open_task(system, cid).due_at == clock.now() + timedelta(hours=5)
    problem(gm.post(f"/api/v1/deferrals/{deferral_id}/decision", json={"approve": False}), 409)
    problem(gm.post("/api/v1/deferrals/99999/decision", json={"approve": False}), 404)
    problem(agent.post("/api/v1/deferrals", json={"task_id": "nope", "reason": "x", "until": until}), 404)
    body = problem(agent.post("/api/v1/deferrals", json={"task_id": task.id, "reason": "x",
                                                         "until": "2026-11-23T10:00:00"}), 422)
    assert "until" in body["errors"]


def test_deferral_lists(system, api):
    """The general manager sees every request; the others see what they asked for."""
    agent, head, gm = api("agent1"), api("head_logistics"), api("gm")
    until = (clock.now() + timedelta(hours=5)).isoformat()
    first, second = start(system).complaint_id, start(system).complaint_id
    asked = [agent.post("/api/v1/deferrals", json={"task_id": open_task(system, cid).id, "reason": "关机",
                                                    "until": until}).get_json()["id"] for cid in (first, second)]
    assert [d["id"] for d in gm.get("/api/v1/deferrals").get_json()] == asked
    assert [d["id"] for d in agent.get("/api/v1/deferrals").get_json()] == asked
    assert head.get("/api/v1/deferrals").get_json() == []
    decided = gm.post(f"/api/v1/deferrals/{asked[0]}/decision", json={"approve": False, "note": "请再联系"})
    assert decided.status_code == 204
    pending = gm.get("/api/v1/deferrals").get_json()
    assert [d["id"] for d in pending] == [asked[1]] and pending[0]["requested_by"] == "agent1"
    rejected = gm.get("/api/v1/deferrals?status=rejected").get_json()
    assert [(d["id"], d["status"], d["note"]) for d in rejected] == [(asked[0], "rejected", "请再联系")]
    assert [d["id"] for d in agent.get(f"/api/v1/deferrals?status=all&complaint_id={second}").get_json()] == [asked[1]]
    problem(gm.get("/api/v1/deferrals?status=maybe"), 422)


# --- what clients may send -----------------------------------------------------------------------

@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400),
    ("NaN", "application/json", 400),
    ("[" * 100_000 + "]" * 100_000, "application/json", 400),
    ('{"a": ' + "9" * 5000 + "}", "application/json", 400),
    ("[1, 2]", "application/json", 422),
    ('"text"', "application/json", 422),
    ("", "application/json", 422),
    ("customer_name=x", "application/x-www-form-urlencoded", 415),
    ("{}", "text/plain", 415),
])
def test_bodies_that_cannot_be_used_are_4xx(system, api, data, content_type, status):
    problem(api("agent1").post("/api/v1/complaints", data=data, content_type=content_type), status)
    assert count(system, Complaint) == 0


def test_huge_body_is_413(api):
    problem(api("agent1").post("/api/v1/complaints", data=json.dumps({"description": "x" * 2_000_000}),
                               content_type="application/json"), 413)


@pytest.mark.parametrize("body", [{"data": "text"}, {"data": {}, "version": "two"}, {"data": {}, "version": 0},
                                  {"data": {}, "extra": 1}, {"data": [1]}])
def test_wrong_types_are_422(system, api, body):
    cid = start(system).complaint_id
    errors = problem(api("agent1").post(f"/api/v1/tasks/{open_task(system, cid).id}/complete", json=body),
                     422)["errors"]
    assert errors and all(isinstance(v, list) for v in errors.values())


def test_nul_characters_are_refused_not_stored(system, api):
    agent = api("agent1")
    body = problem(agent.post("/api/v1/complaints", json=dict(INTAKE, description="a\x00b")), 422)
    assert "description" in body["errors"]
    problem(agent.get("/api/v1/complaints", query_string={"channel": "x\x00"}), 422)
    assert count(system, Complaint) == 0


def test_dates_out_of_range_are_422(api):
    problem(api("gm").get("/api/v1/reports/year?date=0001-01-11"), 422)


# --- withdrawal (撤诉) ------------------------------------------------------------------------------

def test_withdrawal_closes_the_complaint_as_on_the_page(system, api):
    cid = start(system, channel="platform", platform_dispute_id="TB-2026-002").complaint_id
    step(system, cid, "judge_validity")
    url = f"/api/v1/complaints/{cid}/withdraw"
    problem(api("head_logistics").post(url, json={"reason": "refunded"}), 403)  # the page's roles only
    problem(api("agent1").post("/api/v1/complaints/999999/withdraw", json={"reason": "refunded"}), 404)
    assert "note" in problem(api("agent1").post(url, json={"reason": "other"}), 422)["errors"]
    assert "reason" in problem(api("agent1").post(url, json={"reason": "changed_mind"}), 422)["errors"]
    assert count(system, Complaint, Complaint.id == cid, Complaint.status == "open") == 1
    assert api("cs_manager").post(url, json={"reason": "refunded", "note": "平台已退款"}).status_code == 204
    body = api("agent1").get(f"/api/v1/complaints/{cid}").get_json()
    assert (body["status"], body["outcome"], body["open_tasks"]) == ("closed", "end_withdrawn", [])
    assert "complaint_withdrawn" in [e["kind"] for e in body["timeline"]]
    assert problem(api("agent1").post(url, json={"reason": "refunded"}), 409)["code"] == "complaint_closed"


def test_withdrawal_is_described_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/complaints/{complaint_id}/withdraw"]["post"]
    assert set(operation["responses"]) >= {"204", "403", "404", "409", "422"}
    assert "`end_withdrawn`" in operation["description"]
    name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    body = document["components"]["schemas"][name]
    assert body["required"] == ["reason"] and body["properties"]["reason"]["enum"] == list(withdrawal.REASONS)
