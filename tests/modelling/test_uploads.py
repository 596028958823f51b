"""Models made elsewhere: what this engine can run is accepted into a draft, the rest is refused with the
element, line and a hint; unsafe, broken or oversized files are refused before anything is stored."""
from __future__ import annotations

import html
import io
import re

import pytest

from engine.db import UnitOfWork
from engine.errors import ModelCode as M
from engine.models import ModelDraft, ProcessVersion
from engine.workflow.deploy import validate_bundle
from engine.workflow.model_xml import ModelInvalid
from tests.modelling.variants import FILES, shipped
from tests.web.conftest import text_of
from tests.web.test_error_codes import ENGLISH


def upload(client, name: str, data: bytes, url: str = "/models/upload"):
    return client.post(url, data={"files": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def drafts(system) -> list[str]:
    with UnitOfWork(system.db, write=False) as uow:
        return [d.process_id for d in uow.session.query(ModelDraft)]


@pytest.fixture
def owner(login):
    return login("owner", "en")


def test_a_camunda_modeler_file_is_accepted_validated_and_deployed(system, owner):
    response = upload(owner, "diagram_1.bpmn", (FILES / "camunda_return_request.bpmn").read_bytes())
    assert response.status_code == 303 and response.location.endswith("/models/return_request/draft")
    assert "Uploaded into your draft: diagram_1.bpmn" in text_of(owner.get(response.location))
    check = owner.post("/models/return_request/draft/test").json
    # What this system adds to a Camunda model: every user task has a time limit (or says why not).
    assert {(p["element_id"], p["code"], p["message"]) for p in check["problems"]} == {
        ("Activity_check", M.NO_TIME_LIMIT, "The user task has no time limit."),
        ("Activity_approve", M.NO_TIME_LIMIT, "The user task has no time limit.")}
    untimed = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="untimed" '
               'value="退货审核不计时" /></spiffworkflow:properties></bpmn:extensionElements>')
    fixed = (FILES / "camunda_return_request.bpmn").read_text(encoding="utf-8").replace(
        'xmlns:bpmn=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:bpmn=', 1)
    for task in ('<bpmn:userTask id="Activity_check" name="Check the return" camunda:assignee="agent">',
                 '<bpmn:userTask id="Activity_approve" name="Approve the return">'):
        fixed = fixed.replace(task, task + untimed)
    assert owner.post("/models/return_request/draft/files", json={"files": {"diagram_1.bpmn": fixed}}).json
    check = owner.post("/models/return_request/draft/test").json
    assert check["problems"] == [] and check["passed"] and check["results"] == []
    # Activity_check names no form: the preview shows the generic one, with the variable its gateway reads.
    preview = owner.get("/models/return_request/draft/tasks/Activity_check/preview").json["html"]
    assert 'name="note"' in preview and 'name="acceptable"' in preview
    deployed = owner.post("/models/return_request/draft/deploy")
    assert deployed.status_code == 200, deployed.json
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(ProcessVersion).filter_by(process_id="return_request").count() == 1
    assert "return_request" not in drafts(system)


def test_the_chinese_modeller_and_upload_page_word_each_problem_in_chinese(system, login):
    owner = login("owner", "zh")
    refused = upload(owner, "not_xml.bpmn", b"PK\x03\x04 this is a zip, not XML")
    assert refused.status_code == 303
    [line] = [html.unescape(re.sub("<[^>]+>", "", t)) for t in text_of(owner.get(refused.location)).splitlines()
              if "not_xml.bpmn:1" in t]
    assert "不是 XML 文件：它不以 < 开头。" in line and "请从建模器另存为" in line and not ENGLISH.search(line), line
    uploaded = upload(owner, "diagram_1.bpmn", (FILES / "camunda_return_request.bpmn").read_bytes())
    check = owner.post("/models/return_request/draft/validate").json  # what the modeller lists
    assert {(p["element_id"], p["line"] is not None, p["code"], p["message"]) for p in check["problems"]} == {
        ("Activity_check", True, M.NO_TIME_LIMIT, "用户任务没有时限。"),
        ("Activity_approve", True, M.NO_TIME_LIMIT, "用户任务没有时限。")}, uploaded.location
    assert all(p["hint"].startswith("请附加一个属性为") and not ENGLISH.search(p["hint"]) for p in check["problems"])


@pytest.mark.parametrize(("name", "element", "line", "code", "hint"), [
    ("feel_condition.bpmn", "Flow_yes", 44, M.EXPRESSION_FEEL, "Python"),
    ("complex_gateway.bpmn", "Gateway_ok", 26, M.COMPLEX_GATEWAY, "exclusive or inclusive"),
])
def test_what_cannot_run_here_is_refused_at_validation(system, owner, name, element, line, code, hint):
    response = upload(owner, name, (FILES / name).read_bytes())
    assert response.status_code == 303 and "/draft" in response.location
    process_id = response.location.split("/")[-2]
    check = owner.post(f"/models/{process_id}/draft/validate").json
    problem = next(p for p in check["problems"] if p["element_id"] == element)
    assert problem["file"] == name and problem["line"] == line
    assert problem["code"] == code and problem["message"] and hint in problem["hint"]
    refused = owner.post(f"/models/{process_id}/draft/deploy")
    assert refused.status_code == 422 and refused.json["problems"]


def test_camunda_habits_are_named_with_hints():
    text = (FILES / "camunda_return_request.bpmn").read_text()
    text = text.replace('<bpmn:userTask id="Activity_approve" name="Approve the return">',
                        '<bpmn:userTask id="Activity_approve" name="Approve the return" camunda:formKey="approve">')
    text = text.replace("acceptable == True", "${acceptable}")
    text = text.replace('<bpmn:startEvent id="StartEvent_1" name="Return asked">',
                        '<bpmn:startEvent id="StartEvent_1" name="Return asked"><bpmn:timerEventDefinition '
                        'id="t"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT30M</bpmn:timeDuration>'
                        '</bpmn:timerEventDefinition>')
    dmn = shipped()["routing.dmn"].replace('<text>"logistics"</text>\n        </inputEntry>',
                                           '<text>"logistics","invoice"</text>\n        </inputEntry>')
    with pytest.raises(ModelInvalid) as refused:  # the same checks run for every upload, API call and CLI
        validate_bundle({"r.bpmn": text, "routing.dmn": dmn})
    problems = {p.element_id: p for p in refused.value.problems}
    assert (problems["Activity_approve"].code, problems["Activity_approve"].params) == (
        M.FOREIGN_FEATURE, {"feature": "formKey"})
    assert problems["Flow_yes"].code == M.JUEL_EXPRESSION
    assert (problems["StartEvent_1"].code, problems["StartEvent_1"].params) == (M.TIMER_NOT_QUOTED, {"source": "PT30M"})
    assert problems["routing_logistics_in"].params["python"] == '? in ("logistics","invoice")'


@pytest.mark.parametrize(("name", "message"), [
    ("xxe.bpmn", "DOCTYPE and entity declarations are not allowed"),
    ("billion_laughs.bpmn", "DOCTYPE and entity declarations are not allowed"),
    ("not_xml.bpmn", "Not an XML file"),
    ("broken.bpmn", "The namespace prefix bpmn (on definitions) is not declared."),
    ("garbled.bpmn", "A tag is not finished at line 1, column 20"),  # libxml2 65, by its number
])
def test_unsafe_or_broken_xml_is_refused_and_never_stored(system, owner, name, message):
    data = {"not_xml.bpmn": b"PK\x03\x04 this is a zip, not XML", "broken.bpmn": b"<bpmn:definitions>",
            "garbled.bpmn": b'<definitions id="d"'}.get(name)
    content = data if data is not None else (FILES / name).read_bytes()
    response = upload(owner, name, content)
    assert response.status_code == 303 and response.location.endswith("/models/")
    page = text_of(owner.get("/models/"))
    assert f"{name} was refused" in page and message in page
    assert drafts(system) == []
    # Into an existing draft, too.
    owner.post("/models/complaint_lifecycle/draft/open")
    again = upload(owner, name, content, url="/models/complaint_lifecycle/draft/upload")
    assert again.status_code == 303
    assert message in text_of(owner.get("/models/complaint_lifecycle/draft"))
    with UnitOfWork(system.db, write=False) as uow:
        draft = uow.session.query(ModelDraft).one()
        assert name not in {f.path for f in draft.files}


def test_a_50_mb_upload_is_refused_before_it_is_read(system, owner):
    response = upload(owner, "huge.bpmn", b"<" + b"x" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than 21 MB, the limit for model files" in text_of(response)
    assert drafts(system) == []
    saved = owner.post("/models/complaint_lifecycle/draft/open")
    assert saved.status_code == 303
    too_big = owner.post("/models/complaint_lifecycle/draft/files", json={"files": {"a.bpmn": "x" * (22 << 20)}})
    assert too_big.status_code == 413 and "limit for model files" in too_big.json["error"]
