"""A deployed model that fails while it runs (docs/MODELLING.md, "When a model fails while it runs"): starting a
complaint on it is a clear refusal on every path, naming the element, with nothing recorded; a timer whose
step fails becomes an incident naming the element, fixed by moving the complaint to a repaired version and
retrying."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import func, select

from engine import clock
from engine.complaints import incidents, timers
from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import Code, Conflict
from engine.modelling.deployment import deploy_models
from engine.modelling.migration import MigrationRefused, check_migration, migrate_complaint
from engine.models import Complaint, Timer
from engine.workflow.deploy import deploy_bundle, read_bundle, validate_bundle
from tests.lifecycle import INTAKE, start
from tests.web.conftest import text_of
from tests.web.test_error_codes import ENGLISH
from web.cli import main as cli

WORKFLOWS = PROJECT_ROOT / "workflows"
BPMN = "complaint_lifecycle.bpmn"
PLAIN_TASK = (Path(__file__).parent / "corpus" / "plain_task" / "plain_task.bpmn").read_text().replace(
    '"plain_task"', '"complaint_lifecycle"')


def _store_past_the_checks(system, model: str) -> None:
    """As if stored before deploy refused it: parsed as SpiffWorkflow alone would, made current."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(model.encode(), filename=BPMN)
    bundle = validate_bundle(read_bundle(WORKFLOWS))
    bundle.files = {BPMN: model}
    bundle.spec = parser.get_spec("complaint_lifecycle")
    bundle.subprocess_specs = parser.get_subprocess_specs("complaint_lifecycle")
    bundle.content_hash = "stored-before-the-checks"
    with UnitOfWork(system.db) as uow:
        deploy_bundle(uow.session, bundle, "owner", source="cli")
        uow.commit()


def _complaints(system) -> int:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Complaint))


def test_starting_on_a_model_that_stops_is_refused_on_the_command_line_and_the_intake_page(system, login):
    """A plain task (stored before deploy refused it): `complaints start` once died with a KeyError traceback;
    now it exits 2 naming the task, and the intake page answers 422 naming it; no complaint is recorded."""
    _store_past_the_checks(system, PLAIN_TASK)
    result = CliRunner().invoke(cli, ["start", "--user", "agent1"], input=json.dumps(INTAKE),
                                env={"DATABASE_URL": system.settings.database_url})
    assert result.exit_code == 2, result.output
    assert "check_goods" in result.output and "Traceback" not in result.output
    # The model has no intake form: the page offers no field (it once failed with a 500) and the start is refused.
    agent = login("agent1", "en")
    assert agent.get("/complaints/new").status_code == 200
    page = agent.post("/complaints/new", data={})
    assert page.status_code == 422 and "check_goods" in text_of(page)
    assert _complaints(system) == 0


#: A script task between the first-response warning and its end event that fails when the warning fires (valid,
#: stored past the model's test cases, which would catch it).
BROKEN_WARNING = (
    '<bpmn:sequenceFlow id="judge_validity_warning_flow" sourceRef="judge_validity_warning" '
    'targetRef="judge_validity_warning_end" />',
    '<bpmn:sequenceFlow id="judge_validity_warning_flow" sourceRef="judge_validity_warning" '
    'targetRef="note_warning" />'
    '<bpmn:scriptTask id="note_warning" scriptFormat="python"><bpmn:incoming>judge_validity_warning_flow'
    '</bpmn:incoming><bpmn:outgoing>note_warning_flow</bpmn:outgoing><bpmn:script>ratio = 1 // 0</bpmn:script>'
    '</bpmn:scriptTask>'
    '<bpmn:sequenceFlow id="note_warning_flow" sourceRef="note_warning" targetRef="judge_validity_warning_end" />')


def _broken_bundle() -> dict[str, str]:
    files = read_bundle(WORKFLOWS)
    assert BROKEN_WARNING[0] in files[BPMN]
    files[BPMN] = files[BPMN].replace(*BROKEN_WARNING)
    return files


def _warning_timer(system, cid: int) -> Timer:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalars(select(Timer).where(Timer.complaint_id == cid,
                                                       Timer.name == "judge_validity_warning")).one()


def test_a_timer_whose_step_fails_becomes_an_incident_fixed_by_migrating(system, login):
    with UnitOfWork(system.db) as uow:
        broken, _created = deploy_bundle(uow.session, validate_bundle(_broken_bundle()), "owner", source="cli")
        uow.commit()
    cid = start(system).complaint_id
    warning = _warning_timer(system, cid)
    clock.set_now(warning.due_at + timedelta(minutes=1))  # before the deadline (09:30)
    for attempt in range(timers.MAX_ATTEMPTS):
        timers.run_due(system.db)
        clock.advance(timers.BACKOFF * 2 ** attempt)
    with UnitOfWork(system.db, write=False) as uow:
        [incident] = incidents.incidents(uow, system.actor("owner"))
    assert (incident.id, incident.complaint_id, incident.element) == (warning.id, cid, "judge_validity_warning")
    failure = incident.failure  # the step that failed, and why, as a code: worded where it is shown
    assert failure is not None and failure.code == Code.STEP_FAILED_AT
    assert (failure.params["element"], failure.params["reason"]) == ("note_warning", Code.RUN_DIVISION_BY_ZERO)
    assert "ZeroDivisionError" in failure.detail and "detail" not in failure.params
    cell = text_of(login("owner", "zh").get("/incidents")).split(f'data-incident="{warning.id}"')[1].split("</tr>")[0]
    assert "流程模型在元素 note_warning 处运行出错：出现了除以零的运算。" in cell
    assert "技术细节" in cell and "ZeroDivisionError" in cell  # the library's words, on their own folded line
    assert not ENGLISH.search(cell.split("<details")[0]), cell
    assert incident.attempts == timers.MAX_ATTEMPTS
    # The fix: the shipped model again, and the complaint moved to it, where the due warning fires at once.
    with UnitOfWork(system.db) as uow:
        fixed, _report = deploy_models(uow, system.actor("owner"), read_bundle(WORKFLOWS), source="cli")
    assert fixed.id != broken.id
    with UnitOfWork(system.db) as uow:
        migrate_complaint(uow, system.actor("owner"), cid, fixed.id)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Timer, warning.id).status == "fired"
        assert incidents.incidents(uow) == []
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        incidents.retry_incident(uow, system.actor("owner"), warning.id)


def test_a_migration_onto_a_version_that_fails_is_refused_naming_the_element(system, login):
    """Moving a complaint runs the new version from the migrated state within the step budget: a step that
    fails there is the reason the migration is refused (on the check and on the move), and nothing changes."""
    cid = start(system).complaint_id
    warning = _warning_timer(system, cid)
    with UnitOfWork(system.db) as uow:
        broken, _created = deploy_bundle(uow.session, validate_bundle(_broken_bundle()), "owner", source="cli")
        uow.commit()
    clock.set_now(warning.due_at + timedelta(minutes=1))  # the warning is due: migrating fires it
    with UnitOfWork(system.db, write=False) as uow:
        check = check_migration(uow, system.actor("owner"), cid, broken.id)
    assert not check.allowed
    assert [(r.code, r.params["element"]) for r in check.reasons] == [(Code.STEP_FAILED_AT, "note_warning")]
    page = text_of(login("owner", "zh").get(f"/models/versions/{broken.id}"))  # the reason, its detail apart
    assert "流程模型在元素 note_warning 处运行出错：出现了除以零的运算。" in page
    assert '<details class="technical"><summary>技术细节</summary><code>' in page and "ZeroDivisionError" in page
    with UnitOfWork(system.db) as uow, pytest.raises(MigrationRefused):
        migrate_complaint(uow, system.actor("owner"), cid, broken.id)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, cid).version_id != broken.id
        assert uow.session.get(Timer, warning.id).status == "waiting"
