"""The models pages: access, drafts (save, validate, test, deploy), form previews, versions, diffs, export."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from engine.workflow.deploy import validate_bundle
from tests.modelling.variants import BPMN, with_legal_review
from tests.web.conftest import make_app, text_of

DRAFT = "/models/complaint_lifecycle/draft"
GETS = ["/models/", "/models/versions/1", "/models/versions/1/export.zip", "/models/diff?from=1&to=1",
        "/models/versions/1/files/routing.dmn", DRAFT, f"{DRAFT}/files/routing.dmn",
        f"{DRAFT}/tasks/hand_over/preview"]
POSTS = ["/models/upload", f"{DRAFT}/open", f"{DRAFT}/files", f"{DRAFT}/upload", f"{DRAFT}/delete-file",
         f"{DRAFT}/discard", f"{DRAFT}/validate", f"{DRAFT}/test", f"{DRAFT}/deploy", "/models/form-preview",
         "/models/versions/1/migrate"]


@pytest.fixture
def owner(login):
    client = login("owner", "en")
    assert client.post(f"{DRAFT}/open").status_code == 303
    return client


@pytest.mark.parametrize("user", ["agent1", "gm", "head_logistics", "cs_manager"])
def test_only_process_owners_and_admins_get_in(login, user):
    client = login(user, "en")
    for url in GETS:
        assert client.get(url).status_code == 403, url
    for url in POSTS:
        assert client.post(url, json={}).status_code == 403, url
    assert "/models/" not in client.get("/tasks/mine").get_data(as_text=True)


def test_the_models_page_lists_versions_for_admins_too(login):
    page = text_of(login("admin", "en").get("/models/"))
    assert "complaint_lifecycle" in page and "version 1" in page and "Download (zip)" in page


def test_posts_need_the_csrf_token(system, login):
    app = make_app(system, csrf=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "owner", "password": "demo-pass-2026", "csrf_token": token})
    # signing in starts a new session, with a new token
    token = client.get("/models/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(f"{DRAFT}/open").status_code == 400
    assert client.post(f"{DRAFT}/open", headers={"X-CSRFToken": token}).status_code == 303
    assert client.post(f"{DRAFT}/validate").status_code == 400
    assert client.post(f"{DRAFT}/validate", headers={"X-CSRFToken": token}).status_code == 200


def test_the_editor_shows_the_draft(owner):
    page = text_of(owner.get(DRAFT))
    assert "Modeller · complaint_lifecycle" in page and "started from version 1" in page
    config = json.loads(page.split('id="modeller-config">')[1].split("</script>")[0])
    assert config["bpmnFiles"] == [BPMN] and config["decisions"] == ["customer_policy", "policy", "routing"]
    assert "forms/hand_over.schema.json" in config["formFiles"]
    assert owner.get(f"{DRAFT}/files/{BPMN}").get_data(as_text=True).startswith("<?xml")


def test_problems_name_file_line_element_and_hint(owner):
    files = with_legal_review()
    files[BPMN] = files[BPMN].replace('category == "counterfeit"', "category === 'counterfeit'")
    assert owner.post(f"{DRAFT}/files", json={"files": files}).status_code == 200
    problems = owner.post(f"{DRAFT}/validate").json["problems"]
    assert [(p["file"], p["element_id"]) for p in problems] == [(BPMN, "flow_counterfeit")]
    assert problems[0]["line"] > 500
    refused = owner.post(f"{DRAFT}/deploy")
    assert refused.status_code == 422 and refused.json["problems"][0]["element_id"] == "flow_counterfeit"


def test_a_failing_test_case_says_where_and_blocks_deploying(owner):
    files = with_legal_review()
    tests = json.loads(files["tests/lifecycle.json"])
    tests["cases"][-1]["expect"]["open"] = ["gm_review"]
    files["tests/lifecycle.json"] = json.dumps(tests)
    owner.post(f"{DRAFT}/files", json={"files": files})
    check = owner.post(f"{DRAFT}/test").json
    failed = [r for r in check["results"] if not r["passed"]]
    assert [r["name"] for r in failed] == ["假货投诉经法务审核 Counterfeit claims get a legal review"]
    assert failed[0]["failures"] == ["open tasks: expected ['gm_review'], found ['hand_over']"]
    refused = owner.post(f"{DRAFT}/deploy")
    assert refused.status_code == 422 and not refused.json["passed"]


def test_deploying_a_draft_makes_it_current_and_drops_the_draft(owner):
    owner.post(f"{DRAFT}/files", json={"files": with_legal_review()})
    deployed = owner.post(f"{DRAFT}/deploy")
    assert deployed.status_code == 200 and deployed.json["redirect"] == "/models/versions/2"
    page = text_of(owner.get("/models/versions/2"))
    assert "Version 2 of complaint_lifecycle is deployed" in page and "current" in page
    assert owner.get(DRAFT).status_code == 303
    diff = text_of(owner.get("/models/diff?from=1&to=2"))
    assert "legal_review" in diff and "lane: general_manager" in diff and 'data-marks' in diff


def test_draft_files_are_checked_before_they_are_stored(owner):
    for path in ("../escape.bpmn", "/abs.bpmn", "notes.txt"):
        response = owner.post(f"{DRAFT}/files", json={"files": {path: "<x/>"}})
        assert response.status_code == 422 and "relative path" in response.json["errors"]["path"][0]
    unsafe = owner.post(f"{DRAFT}/files", json={"files": {"a.bpmn": '<!DOCTYPE x [<!ENTITY e "e">]><x/>'}})
    assert unsafe.status_code == 422 and "DOCTYPE" in unsafe.json["errors"]["a.bpmn"][0]
    assert owner.post(f"{DRAFT}/files", json={"files": "nope"}).status_code == 400
    owner.post(f"{DRAFT}/files", json={"files": {"forms/extra.schema.json": '{"type": "object"}'}})
    assert owner.post(f"{DRAFT}/delete-file", data={"path": "forms/extra.schema.json"}).status_code == 303
    assert owner.get(f"{DRAFT}/files/forms/extra.schema.json").status_code == 404
    assert owner.post(f"{DRAFT}/discard").status_code == 303
    assert owner.get(DRAFT).status_code == 303


def test_form_preview_uses_the_task_form_renderer(owner):
    schema = {"type": "object", "properties": {
        "opinion": {"type": "string", "title": "意见", "x-title-en": "Opinion"},
        "kind": {"type": "string", "enum": ["a", "b"], "x-enum-titles-en": ["Alpha", "Beta"]}},
        "required": ["opinion"]}
    html = owner.post("/models/form-preview", json={"schema": json.dumps(schema),
                                                    "ui": '{"opinion": {"ui:widget": "textarea"}}'}).json["html"]
    assert '<textarea id="f-opinion" name="opinion"' in html and "Opinion" in html and "Beta" in html
    broken = owner.post("/models/form-preview", json={"schema": "{", "ui": "{}"}).json
    assert broken["html"] == "" and "Not valid JSON" in broken["error"]
    wrong = owner.post("/models/form-preview", json={"schema": "[]", "ui": "{}"}).json
    assert '"type": "object"' in wrong["error"]
    own = owner.get(f"{DRAFT}/tasks/hand_over/preview").json["html"]
    assert 'name="work_order_note"' in own


def test_a_version_exports_as_a_zip_that_validates_again(owner):
    response = owner.get("/models/versions/1/export.zip")
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        files = {n.split("/", 1)[1]: archive.read(n).decode() for n in names}
    assert all(n.startswith("complaint_lifecycle-v1/") for n in names)
    assert validate_bundle(files).process_id == "complaint_lifecycle"
    page = text_of(owner.get("/models/versions/1"))
    assert "Decision table" in page and "routing_counterfeit" in page and "forms/hand_over.schema.json" in page


def test_the_changes_are_named_in_the_page_language(owner, login):
    owner.post(f"{DRAFT}/files", json={"files": with_legal_review()})
    assert owner.post(f"{DRAFT}/deploy").status_code == 200
    english = text_of(owner.get("/models/diff?from=1&to=2"))
    assert "user task" in english and "to: hand_over → gw_counterfeit" in english and "userTask" not in english
    assert "Legal review <code>legal_review</code>" in english  # the English half of the model's name
    chinese = text_of(login("owner", "zh").get("/models/diff?from=1&to=2"))
    assert "用户任务" in chinese and "泳道：general_manager" in chinese
    assert "终点：hand_over → gw_counterfeit" in chinese
    assert "法务审核 <code>legal_review</code>" in chinese
    assert not {"userTask", "sequenceFlow", "targetRef", "formJsonSchemaFilename"} & set(re.findall(r"\w+", chinese))
