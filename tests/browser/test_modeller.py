"""A process owner adds a legal review for counterfeit claims in the browser modeller, runs the model's
tests and deploys; a complaint started before stays on the old version and finishes there, a new one
goes through the new step."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import Complaint, ProcessVersion
from tests.browser.conftest import ROOT
from tests.browser.test_walkthrough import sign_in
from tests.lifecycle import audit_kinds, open_task, start, step
from tests.modelling.variants import LEGAL_CASE, LEGAL_FORM, shipped

pytestmark = pytest.mark.browser

VENDOR = ROOT / "web" / "static" / "vendor"


@pytest.fixture(scope="module")
def modeller_assets():
    """dmn-js and the modeller bundle, as `make assets` leaves them (built here when missing)."""
    if not (VENDOR / "dmn-js").exists():
        shutil.copytree(ROOT / "node_modules" / "dmn-js" / "dist", VENDOR / "dmn-js")
    bundle = VENDOR / "modeller" / "modeller.js"
    sources = list((ROOT / "web" / "static" / "modeller").glob("*.js*"))
    if not bundle.exists() or bundle.stat().st_mtime < max(s.stat().st_mtime for s in sources):
        (VENDOR / "modeller").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "node_modules" / "@bpmn-io" / "properties-panel" / "dist" / "assets" /
                    "properties-panel.css", VENDOR / "modeller")
        subprocess.run([str(ROOT / "node_modules" / ".bin" / "esbuild"), "web/static/modeller/modeller.js",
                        "--bundle", "--minify", "--format=iife", "--target=es2019", "--log-level=warning",
                        f"--outfile={bundle}"], cwd=ROOT, check=True)


#: Adds the gateway, the task and the flows with the modeller's own API (dragging shapes is fiddly);
#: the condition is then typed into the properties panel.
ADD_LEGAL_REVIEW = """() => {
  const m = window.modeler;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling'), bpmnFactory = m.get('bpmnFactory');
  const pool = registry.get('participant_complaint');
  const handOver = registry.get('hand_over');
  const gateway = modeling.createShape({ type: 'bpmn:ExclusiveGateway' }, { x: 900, y: 420 }, pool);
  modeling.updateProperties(gateway, { id: 'gw_counterfeit', name: '假货投诉? Counterfeit?' });
  const gmLane = registry.get('lane_general_manager');  // wherever the layout puts it
  const task = modeling.createShape({ type: 'bpmn:UserTask' }, { x: 900, y: gmLane.y + gmLane.height / 2 }, pool);
  modeling.updateProperties(task, { id: 'legal_review', name: '法务审核 Legal review' });
  modeling.reconnectEnd(registry.get('flow_not_on_site'), gateway, { x: 900, y: 420 });
  const toReview = modeling.connect(gateway, task);
  modeling.updateProperties(toReview, { id: 'flow_counterfeit' });
  const otherwise = modeling.connect(gateway, handOver);
  modeling.updateProperties(gateway, { default: otherwise.businessObject });
  modeling.connect(task, handOver);
  const property = (name, value) => bpmnFactory.create('spiffworkflow:Property', { name, value });
  modeling.updateProperties(task, { extensionElements: bpmnFactory.create('bpmn:ExtensionElements', { values: [
    bpmnFactory.create('spiffworkflow:InstructionsForEndUser', { value: '请审核假货投诉：{{ description }}' }),
    bpmnFactory.create('spiffworkflow:Properties', { properties: [
      property('formJsonSchemaFilename', 'forms/legal_review.schema.json'), property('title_en', 'Legal review'),
      property('untimed', '法务审核按案件而定')] }),
  ] }) });
  m.get('selection').select(toReview);
  return m.get('elementRegistry').get('legal_review').businessObject.lanes.map((l) => l.name);
}"""


def test_process_owner_adds_a_step_and_deploys_it(system, live_server, pages, modeller_assets):
    before = start(system, category="counterfeit").complaint_id
    page = pages.open()
    sign_in(page, live_server, "owner")
    page.click("nav >> text=流程模型")
    page.click("text=在建模器中编辑")
    page.wait_for_selector("#modeller[data-ready='1']")

    # The model's test cases for the new step come as a file made elsewhere, uploaded into the draft.
    tests = json.loads(shipped()["tests/lifecycle.json"])
    tests["cases"].append(LEGAL_CASE)
    page.click("[data-tab=files]")
    page.set_input_files("#panel-files input[type=file]", files=[{
        "name": "tests/lifecycle.json", "mimeType": "application/json",
        "buffer": json.dumps(tests, ensure_ascii=False).encode()}])
    page.click("#panel-files button:has-text('上传')")
    page.wait_for_selector(".flash-success")
    page.wait_for_selector("#modeller[data-ready='1']")

    # The form, written as JSON Schema, previewed by the server's renderer.
    page.click("[data-tab=forms]")
    page.once("dialog", lambda dialog: dialog.accept("legal_review"))
    page.click("#form-new")
    page.wait_for_function("document.getElementById('form-schema').value.includes('\"title\": \"legal_review\"')")
    page.fill("#form-schema", json.dumps(LEGAL_FORM, ensure_ascii=False, indent=2))
    page.wait_for_selector("#form-preview >> text=确认为假货")

    # The step in the diagram, in the general manager's lane; its condition typed in the properties panel.
    page.click("[data-tab=diagram]")
    lanes = page.evaluate(ADD_LEGAL_REVIEW)
    assert lanes == ["general_manager"]
    page.click("#bpmn-properties .bio-properties-panel-group-header:has-text('条件')")
    condition = page.locator("#bio-properties-panel-spiff-condition")
    condition.fill('category === "counterfeit"')
    condition.press("Tab")
    page.click("#btn-save")
    page.wait_for_selector("#modeller-status.good")

    # A mistake is reported with file, line and element; clicking it selects the element again.
    page.click("#btn-validate")
    page.wait_for_selector("#modeller-results[data-state=invalid]")
    assert "条件第 1 行第 12 列有语法错误" in page.inner_text("#modeller-results")  # in the page language, placed
    page.evaluate("() => window.modeler.get('selection').select([])")
    page.click("#modeller-results .problem-where:has-text('[flow_counterfeit]')")
    selected = "() => window.modeler.get('selection').get().map((e) => e.id)"
    page.wait_for_function(f"({selected})().includes('flow_counterfeit')")
    condition.fill('category == "counterfeit"')
    condition.press("Tab")
    page.click("#btn-validate")
    page.wait_for_selector("#modeller-results[data-state=valid]")
    page.click("#btn-test")
    page.wait_for_selector("#modeller-results[data-state=passed]")
    assert "假货投诉经法务审核" in page.inner_text("#modeller-results")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-deploy")
    page.wait_for_url("**/models/versions/*")
    page.wait_for_selector(".flash-success")
    page.wait_for_selector("[data-diagram][data-ready='1']")

    with UnitOfWork(system.db, write=False) as uow:
        current = uow.session.scalar(select(ProcessVersion).where(ProcessVersion.is_current.is_(True)))
        old_version = uow.session.get(Complaint, before).version_id
        bpmn = next(f.content for f in current.files if f.path.endswith(".bpmn"))
    assert current.id != old_version
    assert "legal_review.schema.json" in bpmn and "counterfeit" in bpmn

    # A new counterfeit claim passes the legal review; the general manager sees it in the browser.
    after = start(system, category="counterfeit").complaint_id
    step(system, after, "judge_validity")
    assert open_task(system, after).name == "legal_review"
    gm = pages.open()
    sign_in(gm, live_server, "gm")
    gm.goto(f"{live_server}/task/{open_task(system, after).id}")
    gm.check("input[name=counterfeit_confirmed][value=true]")
    gm.fill("textarea[name=legal_opinion], input[name=legal_opinion]", "经鉴定为假货")
    gm.click("button.primary")
    gm.wait_for_url(lambda url: "/task/" not in url)
    assert open_task(system, after).name == "hand_over"

    # The complaint started before stays on its version and finishes without the new step.
    for name in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution",
                 "implement_solution", "follow_up", "cs_sign_off", "gm_review"):
        user = "head_quality" if name in ("analyse_and_propose", "implement_solution") else None
        data = {"department": "quality"} if name == "hand_over" else {}
        step(system, before, name, user=user, **data)
    with UnitOfWork(system.db, write=False) as uow:
        finished = uow.session.get(Complaint, before)
        assert (finished.version_id, finished.status, finished.outcome) == (old_version, "closed", "end_archived")
    assert ("task_opened", "legal_review") not in audit_kinds(system, before)


def test_the_modellers_own_words_are_chinese_in_the_chinese_ui(live_server, pages, modeller_assets):
    page = pages.open()
    sign_in(page, live_server, "owner")
    page.click("nav >> text=流程模型")
    page.click("text=在建模器中编辑")
    page.wait_for_selector("#modeller[data-ready='1']")
    assert page.get_attribute(".djs-palette .entry.bpmn-icon-hand-tool", "aria-label") == "抓手工具"
    assert page.get_attribute(".djs-palette .entry.bpmn-icon-task", "aria-label") == "创建任务"
    page.evaluate("() => window.modeler.get('selection').select("
                  "window.modeler.get('elementRegistry').get('judge_validity'))")
    page.wait_for_selector("#bpmn-properties >> text=常规")
    assert page.locator('#bpmn-properties >> text="General"').count() == 0
