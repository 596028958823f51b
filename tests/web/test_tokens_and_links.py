"""API tokens that end (password change, deactivation, expiry), read-only tokens, their list with the last
use; customer links revoked from the complaint page; process owners who see models but no complaints;
pending uploads cleaned up and capped per user. Through the real app and database."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import clock
from engine.complaints import customer_link as surveys
from engine.complaints import evidence
from engine.db import UnitOfWork
from engine.models import ApiToken, Complaint, Evidence
from engine.people import tokens as api_tokens
from engine.people import users as staff
from engine.people.roles import SYSTEM
from tests.conftest import examples
from tests.lifecycle import INTAKE, start
from tests.web.conftest import make_app, text_of
from web.cli import main as cli


def _token(system, username: str = "agent1", **options) -> str:
    with UnitOfWork(system.db) as uow:
        return api_tokens.create_token(uow, SYSTEM, username, "tests", **options)[1]


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- tokens --------------------------------------------------------------------------------------------

def test_a_password_change_ends_every_token(system, client):
    token = _token(system)
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 200
    with UnitOfWork(system.db) as uow:
        staff.set_password(uow, "agent1", "a new password 123")
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    # A token made after the change works.
    assert client.get("/api/v1/tasks", headers=_bearer(_token(system))).status_code == 200


def test_deactivation_ends_tokens_for_good(system, client):
    token = _token(system)
    with UnitOfWork(system.db) as uow:
        staff.set_active(uow, "agent1", False)
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    with UnitOfWork(system.db) as uow:
        staff.set_active(uow, "agent1", True)
    # Reactivated, the user signs in again, but the old token stays dead.
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401


def test_tokens_expire(system, client):
    token = _token(system, days=1)
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 200
    clock.advance(timedelta(days=1))
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401


def test_default_lifetime_and_bounds(system):
    with UnitOfWork(system.db) as uow:
        api_tokens.create_token(uow, SYSTEM, "agent1", "default")
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalars(select(ApiToken)).one()
    assert row.expires_at - row.created_at == timedelta(days=api_tokens.DEFAULT_DAYS)
    for days in (0, -1, api_tokens.MAX_DAYS + 1):
        with UnitOfWork(system.db) as uow, pytest.raises(api_tokens.InvalidInput) as refused:
            api_tokens.create_token(uow, SYSTEM, "agent1", "bad", days=days)
        assert list(refused.value.errors) == ["days"]


def test_a_read_only_token_reads_but_changes_nothing(system, client):
    token = _token(system, read_only=True)
    assert client.get("/api/v1/complaints", headers=_bearer(token)).status_code == 200
    refused = client.post("/api/v1/complaints", json=INTAKE, headers=_bearer(token))
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "read" in refused.get_json()["detail"]
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(Complaint)).all() == []
    writer = _token(system)
    assert client.post("/api/v1/complaints", json=INTAKE, headers=_bearer(writer)).status_code == 201
    document = client.get("/api/v1/openapi.json").get_json()
    assert "403" in document["paths"]["/api/v1/complaints"]["post"]["responses"]
    assert "read-only" in document["info"]["description"]


def test_the_tokens_page_creates_read_only_expiring_tokens_and_lists_their_use(system, login):
    client = login("agent1", locale="en")
    page = client.post("/account/api-tokens", data={"name": "report script", "days": "30", "read_only": "1"})
    assert page.status_code == 200
    html = text_of(page)
    token = html.split('<code class="token">')[1].split("<")[0]
    assert "read only" in html and "never" in html
    assert client.get("/api/v1/complaints", headers=_bearer(token)).status_code == 200
    html = text_of(client.get("/account/api-tokens"))
    assert "report script" in html and "never" not in html.split("report script")[1].split("</tr>")[0]
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalars(select(ApiToken)).one()
    assert row.read_only and row.expires_at - row.created_at == timedelta(days=30)


@pytest.mark.parametrize("days", ["0", "367", "abc", "1.5", "-3", "９", "99999"])
def test_the_tokens_page_refuses_a_bad_lifetime_beside_the_field(system, login, days):
    client = login("agent1", locale="en")
    page = client.post("/account/api-tokens", data={"name": "x", "days": days})
    assert page.status_code == 422
    html = text_of(page)
    assert "has-error" in html.split('id="token-days"')[0].rsplit('<div class="field', 1)[1]
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(ApiToken)).all() == []


def test_the_tokens_page_refuses_repeated_or_unknown_fields(login):
    client = login("agent1")
    assert client.post("/account/api-tokens", data={"name": "x", "scope": "admin"}).status_code == 400
    assert client.post("/account/api-tokens", data={"name": "x", "days": ["1", "2"]}).status_code == 400


def test_the_cli_creates_and_lists_tokens_with_expiry_and_scope(system, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    monkeypatch.setenv("COMPLAINTS_INSTANCE", str(system.settings.instance_dir))
    runner = CliRunner()
    made = runner.invoke(cli, ["tokens", "create", "--user", "agent1", "--days", "7", "--read-only"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"read_only": true' in listed.output and '"status": "active"' in listed.output
    assert runner.invoke(cli, ["tokens", "create", "--user", "agent1", "--days", "400"]).exit_code != 0


# --- customer links ---------------------------------------------------------------------------------

def test_customer_links_are_revoked_from_the_complaint_page(system, app, login):
    cid = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        reference = uow.session.get(Complaint, cid).reference
    old = "/c/" + surveys.link_token(app.secret_key, cid, reference)
    customer = app.test_client()
    assert customer.get(old).status_code == 200
    agent = login("agent1", locale="en")
    assert "Revoke the customer" in text_of(agent.get(f"/complaints/{cid}"))
    response = agent.post(f"/complaints/{cid}/customer-link/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/complaints/{cid}/customer-link")
    assert customer.get(old).status_code == 404
    page = text_of(agent.get(f"/complaints/{cid}/customer-link"))
    new = page.split('id="customer-link" class="link-text" value="')[1].split('"')[0]
    assert new != old and customer.get(new.removeprefix(system.settings.public_base_url)).status_code == 200
    with UnitOfWork(system.db, write=False) as uow:
        kinds = [e.kind for e in uow.session.scalars(select(surveys.audit.AuditEvent).where(
            surveys.audit.AuditEvent.complaint_id == cid))]
    assert "customer_link_revoked" in kinds


def test_only_staff_working_on_the_complaint_revoke_its_links(system, login):
    cid = start(system).complaint_id
    for user in ("admin", "owner", "head_quality"):
        assert login(user).post(f"/complaints/{cid}/customer-link/revoke").status_code == 403
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, cid).customer_link_generation == 0


# --- least privilege -------------------------------------------------------------------------------------

def test_process_owners_see_models_but_no_complaint(system, login):
    cid = start(system).complaint_id
    with UnitOfWork(system.db) as uow:
        [stored] = evidence.store_uploads(uow, system.settings, system.actor("agent1"),
                                          [evidence.Upload("n.txt", b"notes")], cid)
    owner = login("owner", locale="en")
    for url in (f"/complaints/{cid}", f"/complaints/{cid}/customer-link", f"/evidence/{stored}", "/search",
                "/search.csv", "/reports/export.csv", f"/complaints/{cid}/model.bpmn"):
        assert owner.get(url).status_code == 403, url
    assert owner.get("/models/").status_code == 200
    assert 'href="/search"' not in text_of(owner.get("/models/"))
    token = _token(system, "owner")
    client = owner.application.test_client()
    assert client.get("/api/v1/complaints", headers=_bearer(token)).status_code == 403
    assert client.get(f"/api/v1/complaints/{cid}", headers=_bearer(token)).status_code == 403
    assert client.get("/api/v1/process-models", headers=_bearer(token)).status_code == 200


# --- pending uploads ---------------------------------------------------------------------------------------

def _pending(system, user: str, content: bytes, name: str = "notes.txt") -> str:
    with UnitOfWork(system.db) as uow:
        return evidence.store_uploads(uow, system.settings, system.actor(user), [evidence.Upload(name, content)])[0]


def test_pending_uploads_are_deleted_after_the_set_hours(system):
    settings = replace(system.settings, pending_evidence_hours=2)
    system = replace(system, settings=settings)
    old = _pending(system, "agent1", b"old notes")
    clock.advance(timedelta(hours=1))
    young = _pending(system, "agent1", b"young notes")
    cid = start(system).complaint_id
    with UnitOfWork(system.db) as uow:
        attached = evidence.store_uploads(uow, settings, system.actor("agent1"),
                                          [evidence.Upload("kept.txt", b"kept")], cid)[0]
    clock.advance(timedelta(hours=1, minutes=1))
    folder = evidence.evidence_folder(settings)
    assert (folder / old).exists()
    cleaned = evidence.clean_pending(system.db, settings)
    assert (cleaned.files, cleaned.bytes) == (1, len(b"old notes"))
    assert not (folder / old).exists() and (folder / young).exists() and (folder / attached).exists()
    with UnitOfWork(system.db, write=False) as uow:
        assert sorted(uow.session.scalars(select(Evidence.id))) == sorted([young, attached])
    clock.advance(timedelta(days=30))
    evidence.clean_pending(system.db, settings)
    assert (folder / attached).exists() and not (folder / young).exists()


def test_pending_uploads_have_a_size_cap_per_user(system):
    settings = replace(system.settings, pending_evidence_max_bytes=100)
    system = replace(system, settings=settings)
    _pending(system, "agent1", b"x" * 60)
    with pytest.raises(evidence.InvalidInput) as refused:
        _pending(system, "agent1", b"y" * 41)
    assert list(refused.value.errors) == ["evidence"]
    _pending(system, "agent1", b"y" * 40)  # up to the cap
    _pending(system, "cs_manager", b"z" * 60)  # another user has a budget of their own
    cid = start(system).complaint_id
    with UnitOfWork(system.db) as uow:  # evidence of a complaint is not pending: no cap
        evidence.store_uploads(uow, settings, system.actor("agent1"), [evidence.Upload("a.txt", b"a" * 500)], cid)


def test_the_intake_page_shows_the_cap(system, login):
    settings = replace(system.settings, pending_evidence_max_bytes=10)
    app = make_app(replace(system, settings=settings))
    client = app.test_client()
    from engine.bootstrap import DEMO_PASSWORD

    client.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD})
    client.post("/language", data={"locale": "en", "next": "/"})
    data = {**{k: str(v) for k, v in INTAKE.items()}, "description": ""}
    page = client.post("/complaints/new", data={**data, "evidence": (io.BytesIO(b"x" * 20), "a.txt")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert "waiting for a new complaint" in text_of(page)


def test_the_worker_and_the_cli_clean_pending_uploads(system, monkeypatch):
    stored = _pending(system, "agent1", b"forgotten")
    clock.advance(timedelta(hours=system.settings.pending_evidence_hours, minutes=1))
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    monkeypatch.setenv("COMPLAINTS_INSTANCE", str(system.settings.instance_dir))
    monkeypatch.setenv("COMPLAINTS_ALLOW_CLOCK_OVERRIDE", "1")
    monkeypatch.setenv("COMPLAINTS_NOW", clock.now().isoformat())
    result = CliRunner().invoke(cli, ["clean-evidence"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 expired pending upload(s) (9 bytes)" in result.output
    assert not (evidence.evidence_folder(system.settings) / stored).exists()


def test_fuzzed_token_forms_are_refused_beside_the_field_or_create_one_token(system, login):
    """Hostile names, lifetimes and flags on the tokens form: a token within the bounds, or a 400/422 and
    no token; never a server error."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    client = login("agent1")
    texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=120)

    @settings(max_examples=examples(60))
    @given(name=texts, days=st.one_of(texts, st.integers(-10, 1000).map(str)), read_only=st.sampled_from(
        ["", "1", "0", "true", "\u202e1"]))
    def check(name, days, read_only):
        with UnitOfWork(system.db, write=False) as uow:
            before = len(uow.session.scalars(select(ApiToken)).all())
        response = client.post("/account/api-tokens", data={"name": name, "days": days, "read_only": read_only})
        with UnitOfWork(system.db, write=False) as uow:
            made = uow.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
        wellformed = days.strip() == "" or (days.strip().isascii() and days.strip().isdigit()
                                            and 1 <= int(days.strip()) <= api_tokens.MAX_DAYS)
        if response.status_code == 200:
            assert wellformed and len(made) == before + 1
            assert made[0].read_only == (read_only == "1")
        else:
            assert response.status_code in (400, 422) and len(made) == before
            assert not wellformed or len(name.strip()) > api_tokens.MAX_NAME or "\x00" in name

    check()


def test_the_timer_worker_cleans_pending_uploads_every_few_minutes(system):
    """The worker's first pass clears expired uploads; later passes within CLEAN_EVERY_SECONDS do not look."""
    import time

    from engine.complaints import timer_worker
    from web import mail

    stored = _pending(system, "agent1", b"forgotten")
    clock.advance(timedelta(hours=system.settings.pending_evidence_hours, minutes=1))
    evidence._last_clean.pop(system.settings.database_url, None)
    stop = timer_worker.start_worker_thread(system.db, system.settings, mail.renderer(system.settings))
    try:
        deadline = time.monotonic() + 10
        while (evidence.evidence_folder(system.settings) / stored).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    assert not (evidence.evidence_folder(system.settings) / stored).exists()
    assert evidence.clean_pending_if_due(system.db, system.settings) is None  # looked a moment ago
