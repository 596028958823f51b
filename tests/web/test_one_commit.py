"""Every use case commits once: each form post, API operation and CLI command that changes data makes exactly
one commit (counted with SQLAlchemy's `after_commit` event), and its files appear only once it committed."""
from __future__ import annotations

import io
import json
import os
import re
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import clock
from engine.complaints import evidence, tasks
from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import Conflict, InvalidInput
from engine.modelling.deployment import deploy_models
from engine.models import Complaint, Deferral, Evidence, Notification, WorkTask
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from engine.workflow.deploy import read_bundle
from tests.lifecycle import ANSWERS, INTAKE, open_task, start, step
from tests.web.conftest import text_of
from tests.web.test_evidence import PDF, png
from web.cli import main as cli

HAPPY = ["judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"]


def once(commits: list, call):
    """Run `call` and prove it committed exactly once; return what it returned."""
    commits.clear()
    result = call()
    assert len(commits) == 1, f"{len(commits)} commits"
    return result


def _rows(system, model, *where):
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(model).where(*where)))


def _folder(system):
    return evidence.evidence_folder(system.settings)


def test_staff_pages_commit_once_per_post(system, login, commits):
    agent, gm, head = login("agent1"), login("gm"), login("head_logistics")
    # Intake with evidence: the complaint, its files and the customer's link together.
    recorded = once(commits, lambda: agent.post("/complaints/new", content_type="multipart/form-data", data=dict(
        INTAKE, evidence=[(io.BytesIO(png()), "照片.png"), (io.BytesIO(PDF), "单据.pdf")])))
    assert recorded.status_code == 302, text_of(recorded)
    cid = int(recorded.headers["Location"].rsplit("/", 1)[1])
    files = _rows(system, Evidence, Evidence.complaint_id == cid)
    assert len(files) == 2 and all((_folder(system) / f.id).exists() for f in files)
    assert not list(_folder(system).glob(".upload-*"))  # every temporary name became a real one
    assert _rows(system, Notification, Notification.kind == "customer_link", Notification.complaint_id == cid)
    # Completing a task: the completion and dropping its drafts together.
    task = open_task(system, cid)
    draft = once(commits, lambda: agent.post(f"/task/{task.id}", data={"_action": "draft", "_version": "1",
                                                                        "validity_reason": "还在核实"}))
    assert draft.status_code == 302
    version = re.search(r'name="_version" value="(\d+)"', text_of(agent.get(f"/task/{task.id}"))).group(1)
    done = once(commits, lambda: agent.post(f"/task/{task.id}", data={
        "_version": version, "valid": "true", "validity_reason": "核实完毕"}))
    assert done.status_code == 302
    assert "还在核实" not in text_of(agent.get(f"/task/{open_task(system, cid).id}"))
    # Claim and release.
    task = open_task(system, cid)
    assert once(commits, lambda: agent.post(f"/tasks/{task.id}/claim")).status_code == 302
    assert once(commits, lambda: agent.post(f"/tasks/{task.id}/release")).status_code == 302
    # Comment, contact, evidence on the complaint page.
    commented = once(commits, lambda: agent.post(f"/complaints/{cid}/comments", data={"body": "已致电"}))
    assert commented.status_code == 302
    contact = once(commits, lambda: agent.post(f"/complaints/{cid}/contacts", data={
        "contacted_at": "2026-11-23T16:50", "channel": "phone", "summary": "顾客同意等待"}))
    assert contact.status_code == 302
    uploaded = once(commits, lambda: agent.post(f"/complaints/{cid}/evidence",
                                                content_type="multipart/form-data",
                                                data={"files": [(io.BytesIO(PDF), "补充.pdf")]}))
    assert uploaded.status_code == 302
    revoked = once(commits, lambda: agent.post(f"/complaints/{cid}/customer-link/revoke"))
    assert revoked.status_code == 302
    # A deferral request and its decision.
    asked = once(commits, lambda: agent.post(f"/task/{task.id}/deferral",
                                             data={"until": "2026-11-23T20:00", "reason": "顾客手机关机"}))
    assert asked.status_code == 302
    [deferral] = _rows(system, Deferral, Deferral.complaint_id == cid)
    decided = once(commits, lambda: gm.post(f"/deferrals/{deferral.id}", data={"decision": "approve"}))
    assert decided.status_code == 302
    commits.clear()
    assert head.get("/tasks/queue").status_code == 200  # reading commits nothing
    assert commits == []


def _with_evidence_on_judge_validity(system) -> None:
    """Deploy the shipped model with a file field on the judge_validity form (as a process owner would)."""
    files = read_bundle(PROJECT_ROOT / "workflows")
    schema = json.loads(files["forms/judge_validity.schema.json"])
    schema["properties"]["evidence"] = {"type": "array", "title": "证据", "items": {"type": "string"},
                                        "maxItems": 10}
    ui = json.loads(files["forms/judge_validity.uischema.json"])
    ui["evidence"] = {"ui:widget": "file"}
    files["forms/judge_validity.schema.json"] = json.dumps(schema, ensure_ascii=False)
    files["forms/judge_validity.uischema.json"] = json.dumps(ui, ensure_ascii=False)
    with UnitOfWork(system.db) as uow:
        deploy_models(uow, system.actor("owner"), files)


def test_a_task_form_with_files_is_one_commit(system, login, commits):
    _with_evidence_on_judge_validity(system)
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = login("agent1")
    version = re.search(r'name="_version" value="(\d+)"', text_of(agent.get(f"/task/{task.id}"))).group(1)
    # Shown again (a field is missing): the file is kept as the complaint's evidence, in its own commit.
    again = once(commits, lambda: agent.post(f"/task/{task.id}", content_type="multipart/form-data", data={
        "_version": version, "valid": "true", "evidence": [(io.BytesIO(PDF), "通话.pdf")]}))
    assert again.status_code == 422
    [kept] = _rows(system, Evidence)
    assert kept.complaint_id == cid and f'value="{kept.id}"' in text_of(again)
    # Sent whole: the new file, the completion and the kept file's id together.
    done = once(commits, lambda: agent.post(f"/task/{task.id}", content_type="multipart/form-data", data={
        "_version": version, "valid": "true", "validity_reason": "核实完毕",
        "evidence": [kept.id, (io.BytesIO(png()), "照片.png")]}))
    assert done.status_code == 302, text_of(done)
    rows = _rows(system, Evidence)
    assert {r.original_name for r in rows} == {"通话.pdf", "照片.png"} and {r.complaint_id for r in rows} == {cid}
    assert all((_folder(system) / r.id).exists() for r in rows)
    with UnitOfWork(system.db, write=False) as uow:
        assert sorted(uow.session.get(Complaint, cid).variables["evidence"]) == sorted(r.id for r in rows)


def test_a_failed_post_commits_nothing_and_leaves_no_file(system, login, commits):
    agent = login("agent1")
    commits.clear()
    refused = agent.post("/complaints/new", content_type="multipart/form-data",
                         data=dict(INTAKE, level="nonsense", evidence=[(io.BytesIO(PDF), "x.pdf")]))
    assert refused.status_code == 422
    # The form is shown again keeping the file: that is the one commit (the upload, waiting for an intake).
    assert len(commits) == 1
    assert _rows(system, Complaint) == []
    [pending] = _rows(system, Evidence)
    assert pending.complaint_id is None and (_folder(system) / pending.id).exists()
    assert not list(_folder(system).glob(".upload-*"))


def test_a_use_case_that_raises_removes_its_files(system, commits):
    """Files are written under a temporary name in the transaction: a refusal after they were written leaves
    neither a row nor a file; a success moves them into place only when it commits."""
    cid = start(system).complaint_id
    task = open_task(system, cid)
    agent = system.actor("agent1")
    upload = evidence.Upload("通话记录.txt", "顾客说包装破损".encode())
    files = evidence.Files([upload], system.settings)
    commits.clear()
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput):
        tasks.complete_task(uow, agent, task.id, {"valid": "not a boolean"}, files=files)
    with UnitOfWork(system.db) as uow:
        version = uow.session.get(Complaint, cid).lock_version
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        tasks.complete_task(uow, agent, task.id, ANSWERS["judge_validity"], version - 1, files=files)
    assert commits == [] and _rows(system, Evidence) == [] and not any(_folder(system).iterdir())
    with UnitOfWork(system.db) as uow:
        result = once(commits, lambda: tasks.complete_task(uow, agent, task.id, dict(ANSWERS["judge_validity"]),
                                                           files=files))
    assert result.open_tasks[0]["task"] == "hand_over"
    [row] = _rows(system, Evidence)
    assert row.id == upload.id and row.complaint_id == cid
    assert (_folder(system) / row.id).read_bytes() == upload.content
    assert not list(_folder(system).glob(".upload-*"))


class _Caller:
    """The app's test client calling the API with a fresh token of a demo user."""

    def __init__(self, app, system, username: str):
        with UnitOfWork(system.db) as uow:
            secret = api_tokens.create_token(uow, SYSTEM, username, "tests")[1]
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
        self.get("/api/v1/tasks?scope=mine")  # the token's first use is stamped (its own commit, once a minute)

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self.headers, **kwargs)


def test_api_operations_commit_once(app, system, commits):
    agent, gm = _Caller(app, system, "agent1"), _Caller(app, system, "gm")
    created = once(commits, lambda: agent.post("/api/v1/complaints", json=INTAKE))
    assert created.status_code == 201
    cid = created.get_json()["complaint_id"]
    task = open_task(system, cid)
    assert once(commits, lambda: agent.post(f"/api/v1/tasks/{task.id}/claim")).status_code == 204
    assert once(commits, lambda: agent.post(f"/api/v1/tasks/{task.id}/release")).status_code == 204
    until = (clock.now() + timedelta(hours=3)).isoformat()
    asked = once(commits, lambda: agent.post("/api/v1/deferrals", json={
        "task_id": task.id, "reason": "电话无人接听", "until": until}))
    assert asked.status_code == 201
    decided = once(commits, lambda: gm.post(f"/api/v1/deferrals/{asked.get_json()['id']}/decision",
                                            json={"approve": False}))
    assert decided.status_code == 204
    version = agent.get(f"/api/v1/complaints/{cid}").get_json()["version"]
    done = once(commits, lambda: agent.post(f"/api/v1/tasks/{task.id}/complete", json={
        "data": ANSWERS["judge_validity"], "version": version}))
    assert done.status_code == 200
    withdrawn = once(commits, lambda: agent.post(f"/api/v1/complaints/{cid}/withdraw", json={"reason": "refunded"}))
    assert withdrawn.status_code == 204


def test_the_customers_survey_commits_once(app, system, commits):
    from tests.api.test_customer_pages import csrf, link_of, offer

    cid = start(system).complaint_id
    for name in HAPPY:
        step(system, cid, name)
    client = app.test_client()
    url = link_of(app, system, cid)
    html = client.get(url).get_data(as_text=True)
    answered = once(commits, lambda: client.post(url + "/survey", data={
        "csrf_token": csrf(html), "offer": offer(html), "satisfied": "yes", "rating": "5"}))
    assert answered.status_code == 302
    assert _rows(system, WorkTask, WorkTask.complaint_id == cid, WorkTask.name == "follow_up")[0].status \
        == "cancelled"


def test_customers_filing_themselves_commit_once(app, system, commits):
    """The public form (new complaint with a photo, then a repeat) and a mailbox message: one commit each, the
    files there once it committed (the mailbox's IMAP side: tests/workers/test_mail_intake.py)."""
    from email.message import EmailMessage

    from engine.complaints import mail_intake
    from engine.models import Contact, MailMessage
    from tests.web.test_public_form import _post

    client = app.test_client()
    assert once(commits, lambda: _post(client, files=[("破损.png", png())])).status_code == 302
    assert once(commits, lambda: _post(client, files=[("又一张.png", png())], description="还是没人联系")
                ).status_code == 302
    (complaint,) = _rows(system, Complaint)
    files = _rows(system, Evidence, Evidence.complaint_id == complaint.id)
    assert len(files) == 2 and all((_folder(system) / f.id).exists() for f in files)
    assert len(_rows(system, Contact, Contact.complaint_id == complaint.id)) == 1

    message = EmailMessage()
    message["From"], message["Subject"] = "Li <li@customer.example.cn>", "Parcel never arrived"
    message["Message-ID"] = "<one-commit@customer.example.cn>"
    message.set_content("My parcel, order no. SH-2002, never arrived.")
    message.add_attachment(png(), maintype="image", subtype="png", filename="label.png")

    def take():
        with UnitOfWork(system.db) as uow:
            return mail_intake.take_message(uow, system.settings, "secret", bytes(message))

    assert once(commits, take).outcome == "complaint"
    (row,) = _rows(system, MailMessage)
    assert [f.original_name for f in _rows(system, Evidence, Evidence.complaint_id == row.complaint_id)] == \
        ["label.png"]


def test_cli_commands_commit_once_and_record_like_the_web(system, commits, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    monkeypatch.setenv("COMPLAINTS_INSTANCE", str(system.settings.instance_dir))
    runner = CliRunner()

    def run(*args, stdin=""):
        result = runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    started = once(commits, lambda: run("start", "--user", "agent1", "--json", stdin=json.dumps(INTAKE)))
    cid = json.loads(started.stdout)["complaint_id"]
    # The same use case as the intake page: the customer's link is queued here too.
    assert _rows(system, Notification, Notification.kind == "customer_link", Notification.complaint_id == cid)
    task = open_task(system, cid)
    once(commits, lambda: run("complete", task.id, "--user", "agent1", stdin=json.dumps(ANSWERS["judge_validity"])))
    once(commits, lambda: run("withdraw", str(cid), "--user", "agent1", "--reason", "refunded"))
    once(commits, lambda: run("users", "add", "agent9", "--role", "agent", "--password-stdin",
                              stdin="a-long-password\n"))
    once(commits, lambda: run("users", "password", "agent9", "--password-stdin", stdin="another-password\n"))
    once(commits, lambda: run("users", "deactivate", "agent9"))
    once(commits, lambda: run("tokens", "create", "--user", "agent1", "--name", "ci"))
    [token] = json.loads(run("tokens", "list", "--user", "agent1", "--json").stdout)
    once(commits, lambda: run("tokens", "revoke", str(token["id"])))


def test_temporaries_of_a_killed_process_are_removed_later(system):
    folder = _folder(system)
    stale, fresh = folder / ".upload-stale", folder / ".upload-fresh"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = time.time() - (system.settings.pending_evidence_hours + 1) * 3600
    os.utime(stale, (old, old))
    evidence.clean_pending(system.db, system.settings)
    assert not stale.exists() and fresh.exists()
