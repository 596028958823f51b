"""Incidents — timers whose firing failed after every retry — on the page, in the API and the command line:
listed with complaint, element, error, attempts and time, retried after the cause is fixed, fired once."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine import clock
from engine.complaints import timers
from engine.db import UnitOfWork
from engine.models import AuditEvent, Penalty, Timer
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from engine.workflow import runtime
from tests.lifecycle import start
from tests.web.conftest import text_of
from web import cli


@pytest.fixture
def incident(system, monkeypatch):
    """A complaint whose first-response timers failed MAX_ATTEMPTS times (the cause then fixed)."""
    cid = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        clock.set_now(uow.session.scalar(select(func.max(Timer.due_at)).where(Timer.complaint_id == cid)))
    monkeypatch.setattr(runtime, "fire_due_timers", lambda *a, **k: {}["relay"])
    for attempt in range(timers.MAX_ATTEMPTS):
        timers.run_due(system.db)
        clock.advance(timers.BACKOFF * 2 ** attempt)
    monkeypatch.undo()
    with UnitOfWork(system.db, write=False) as uow:
        failed = list(uow.session.scalars(select(Timer).where(Timer.status == "incident").order_by(Timer.name)))
    assert failed
    return cid, failed


def _penalties(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Penalty).where(Penalty.complaint_id == cid))


@pytest.mark.parametrize("locale, words", [("zh", ("故障定时器", "尝试次数", "重试")),
                                           ("en", ("Incidents", "Attempts", "Retry"))])
def test_the_page_lists_incidents_and_a_retry_fires_the_timer_once(system, login, incident, locale, words):
    cid, failed = incident
    owner = login("owner", locale)
    html = text_of(owner.get("/incidents"))
    assert all(w in html for w in words)
    for timer in failed:
        assert f'data-incident="{timer.id}"' in html and timer.name in html
    assert "KeyError" in html and f">{timers.MAX_ATTEMPTS}<" in html
    assert f'href="/complaints/{cid}"' not in html, "process owners do not open complaints"
    assert 'href="/incidents"' in text_of(owner.get("/models/"))  # in the menu
    admin_html = text_of(login("admin", locale).get("/incidents"))
    assert f'href="/complaints/{cid}"' in admin_html
    for timer in failed:
        response = owner.post(f"/incidents/{timer.id}/retry")
        assert response.status_code == 302
    assert owner.post(f"/incidents/{failed[0].id}/retry").status_code == 409
    assert text_of(owner.get("/incidents")).count("data-incident=") == 0
    assert login("gm").get("/incidents").status_code == 403
    timers.run_due(system.db)
    timers.run_due(system.db)
    assert _penalties(system, cid) == 1


def test_the_api_lists_and_retries_incidents(system, app, incident):
    cid, failed = incident
    client = app.test_client()

    def bearer(username):
        with UnitOfWork(system.db) as uow:
            return {"Authorization": f"Bearer {api_tokens.create_token(uow, SYSTEM, username, 'tests')[1]}"}

    owner, gm = bearer("owner"), bearer("gm")
    listed = client.get("/api/v1/incidents", headers=owner)
    assert listed.status_code == 200
    assert {(i["id"], i["complaint_id"], i["element"], i["attempts"]) for i in listed.json} == {
        (t.id, cid, t.name, timers.MAX_ATTEMPTS) for t in failed}
    assert all("KeyError" in i["error"] and i["failed_at"] and i["due_at"] for i in listed.json)
    assert client.get("/api/v1/incidents", headers=gm).status_code == 403
    assert client.post(f"/api/v1/incidents/{failed[0].id}/retry", headers=gm).status_code == 403
    assert client.post("/api/v1/incidents/no-such-timer/retry", headers=owner).status_code == 404
    for timer in failed:
        assert client.post(f"/api/v1/incidents/{timer.id}/retry", headers=owner).status_code == 204
    assert client.post(f"/api/v1/incidents/{failed[0].id}/retry", headers=owner).status_code == 409
    assert client.get("/api/v1/incidents", headers=owner).json == []
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/incidents"] and "post" in paths["/api/v1/incidents/{timer_id}/retry"]


def test_the_command_line_lists_and_retries_incidents(system, incident, monkeypatch):
    cid, failed = incident
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["incidents", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {i["id"] for i in json.loads(listed.output)} == {t.id for t in failed}
    text = runner.invoke(cli.main, ["incidents"]).output
    assert all(t.id in text and t.name in text for t in failed) and "KeyError" in text
    assert runner.invoke(cli.main, ["incidents", "--retry", failed[0].id]).exit_code == 2  # --user needed
    refused = runner.invoke(cli.main, ["incidents", "--retry", failed[0].id, "--user", "agent1"])
    assert refused.exit_code == 4
    for timer in failed:
        done = runner.invoke(cli.main, ["incidents", "--retry", timer.id, "--user", "admin"])
        assert done.exit_code == 0 and "due again" in done.output
    assert runner.invoke(cli.main, ["incidents", "--retry", failed[0].id, "--user", "admin"]).exit_code == 3
    assert runner.invoke(cli.main, ["incidents"]).output.strip() == "no incidents"
    with UnitOfWork(system.db, write=False) as uow:
        retried = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "incident_retried", AuditEvent.complaint_id == cid))
    assert retried == len(failed)


def test_incidents_are_counted_on_the_first_pages_of_those_who_handle_them(system, login, incident):
    from tests.web.test_desk import _nav, _tile

    _cid, failed = incident
    owner = text_of(login("owner").get("/", follow_redirects=True))  # the process owner's first page: the models
    assert _tile(owner, "incidents") == len(failed) and _nav(owner, "incidents") == len(failed)
    admin = text_of(login("admin").get("/home"))
    assert _tile(admin, "incidents") == len(failed) and _nav(admin, "incidents") == len(failed)
    gm = text_of(login("gm").get("/home"))
    assert 'data-tile="incidents"' not in gm and _nav(gm, "incidents") == 0
    client = login("owner")
    for timer in failed:
        client.post(f"/incidents/{timer.id}/retry")
    assert _tile(text_of(client.get("/models/")), "incidents") == 0
