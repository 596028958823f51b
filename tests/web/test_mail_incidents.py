"""What the mailbox could not file, for administrators, on the incidents page, in the API and the command line: a
message set aside after its attempts (sender, subject, Message-ID, error, attempts), retried or dismissed and
audited; refused messages with their reason worded in the page's language. Process owners, who see the timer
incidents, see no customer's address; nobody else sees any of it."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.complaints import mail_attempts, mail_incidents, mail_intake
from engine.db import UnitOfWork
from engine.models import AuditEvent, MailAttempt
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from tests.web.conftest import text_of
from web import cli

SECRET = "mail-incidents-secret"
STUCK = "<stuck@customer.example.cn>"


def _raw(sender: str, subject: str, body: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def trouble(system) -> int:
    """A message set aside after its one allowed attempt failed, one refused for its sender's address and one
    refused by the hourly limit (one complaint an hour); the set-aside message's id."""
    settings = replace(system.settings, mail_max_attempts=1, mail_sender_hourly_limit=1)
    raw = _raw("wang@customer.example.cn", "kettle", "订单号：JD-1001 水壶坏了。", STUCK)
    assert mail_attempts.begin(system.db, settings, STUCK, "wang@customer.example.cn", "kettle", raw) == "run"
    assert mail_attempts.failed(system.db, settings, STUCK, raw, RuntimeError("relay down"))
    for n, sender in enumerate(("nobody@localhost", "li@customer.example.cn", "li@customer.example.cn")):
        with UnitOfWork(system.db) as uow:
            mail_intake.take_message(uow, settings, SECRET, _raw(sender, f"courier {n}", f"order SH-200{n} lost",
                                                                 f"<m{n}@customer.example.cn>"))
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(MailAttempt.id).where(MailAttempt.message_id == STUCK))


@pytest.mark.parametrize("locale, words, foreign", [
    ("zh", ("搁置的邮件", "拒收的邮件", "发件人地址不是有效的电子邮件地址", "超出频率限制", "放弃"), "Rate limited"),
    ("en", ("Mail set aside", "Refused mail", "not a valid e-mail address", "Rate limited", "Dismiss"), "超出")])
def test_the_page_shows_administrators_what_the_mailbox_set_aside_and_refused(system, login, trouble, locale, words,
                                                                              foreign):
    admin = login("admin", locale)
    html = text_of(admin.get("/incidents"))
    assert all(w in html for w in words) and foreign not in html
    assert f'data-mail-incident="{trouble}"' in html and "wang@customer.example.cn" in html and "kettle" in html
    assert "&lt;stuck@customer.example.cn&gt;" in html and "RuntimeError: relay down" in html
    assert sorted(re.findall(r'data-reason="(\w+)"', html)) == ["invalid_sender", "rate_limited"]
    assert re.search(r'data-count="incidents">\s*1<', html)  # the navigation counts it
    owner = text_of(login("owner", locale).get("/incidents"))  # the timer incidents, without customers' mail
    assert "data-mail-incident" not in owner and "customer.example.cn" not in owner
    assert login("gm").get("/incidents").status_code == 403
    assert login("owner").post(f"/incidents/mail/{trouble}/dismiss").status_code == 403
    assert admin.post(f"/incidents/mail/{trouble}/dismiss").status_code == 302
    assert admin.post(f"/incidents/mail/{trouble}/dismiss").status_code == 409
    assert admin.post("/incidents/mail/999999/retry").status_code == 404
    assert "data-mail-incident" not in text_of(admin.get("/incidents"))
    record = text_of(admin.get("/admin/record"))  # the record of administration names it
    assert f"{'放弃处理邮件' if locale == 'zh' else 'dismissed the mail'} &lt;stuck@customer.example.cn&gt;" in record
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.get(MailAttempt, trouble)
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.kind == "mail_incident_dismissed"))
    assert row.status == "dismissed" and row.raw is None
    assert event.actor_name == "admin" and event.data == {"message": STUCK} and event.complaint_id is None


def test_the_api_lists_and_retries_and_refuses_others(system, app, trouble):
    client = app.test_client()

    def bearer(username):
        with UnitOfWork(system.db) as uow:
            return {"Authorization": f"Bearer {api_tokens.create_token(uow, SYSTEM, username, 'tests')[1]}"}

    admin, owner = bearer("admin"), bearer("owner")
    (listed,) = client.get("/api/v1/mail/incidents", headers=admin).json
    assert (listed["id"], listed["sender"], listed["subject"], listed["message_id"], listed["attempts"]) == (
        trouble, "wang@customer.example.cn", "kettle", STUCK, 1)
    assert json.loads(listed["error"]) == {"code": "mail_failed", "params": {"kind": "RuntimeError"},
                                           "detail": "RuntimeError: relay down"}
    assert listed["failed_at"] and listed["size"] > 0
    refused = client.get("/api/v1/mail/refused", headers=admin).json
    assert sorted((r["sender"], r["reason"]) for r in refused) == [
        ("li@customer.example.cn", "rate_limited"), ("nobody@localhost", "invalid_sender")]
    for url in ("/api/v1/mail/incidents", "/api/v1/mail/refused"):
        assert client.get(url, headers=owner).status_code == 403
    assert client.post(f"/api/v1/mail/incidents/{trouble}/retry", headers=owner).status_code == 403
    assert client.post(f"/api/v1/mail/incidents/{trouble}/retry", headers=admin).status_code == 204
    assert client.post(f"/api/v1/mail/incidents/{trouble}/dismiss", headers=admin).status_code == 409
    assert client.get("/api/v1/mail/incidents", headers=admin).json == []
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.get(MailAttempt, trouble)
    assert (row.status, row.attempts) == ("retrying", 0) and row.raw  # the worker files the kept copy
    assert mail_attempts.kept_for_retry(system.db) == [row.raw]
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/mail/incidents/{incident_id}/retry"] and "get" in paths["/api/v1/mail/refused"]


def test_the_command_line_lists_retries_and_dismisses(system, trouble, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["mail-incidents", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(i["id"], i["message_id"]) for i in json.loads(listed.output)] == [(trouble, STUCK)]
    text = runner.invoke(cli.main, ["mail-incidents"]).output
    assert STUCK in text and "wang@customer.example.cn" in text and "relay down" in text
    refused = runner.invoke(cli.main, ["mail-incidents", "--refused"]).output
    assert "rate_limited" in refused and "invalid_sender" in refused
    assert runner.invoke(cli.main, ["mail-incidents", "--dismiss", str(trouble)]).exit_code == 2  # --user needed
    assert runner.invoke(cli.main, ["mail-incidents", "--dismiss", str(trouble), "--user", "owner"]).exit_code == 4
    done = runner.invoke(cli.main, ["mail-incidents", "--dismiss", str(trouble), "--user", "admin"])
    assert done.exit_code == 0 and "dismissed" in done.output
    assert runner.invoke(cli.main, ["mail-incidents", "--retry", str(trouble), "--user", "admin"]).exit_code == 3
    assert runner.invoke(cli.main, ["mail-incidents"]).output.strip() == "no mail incidents"
    with UnitOfWork(system.db, write=False) as uow:
        assert mail_incidents.incidents(uow, system.actor("admin")) == []
