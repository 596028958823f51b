"""Model files are data, never pages: markup is refused at deploy, and model XML is served as sandboxed text,
also for versions stored before deploying refused markup."""
from __future__ import annotations

import pytest

from engine.db import UnitOfWork
from engine.errors import ModelCode
from engine.workflow.deploy import deploy_bundle, read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from tests.lifecycle import start
from tests.modelling.test_deployments import BPMN, WORKFLOWS

SCRIPT = ('<bpmn:documentation><html:script xmlns:html="http://www.w3.org/1999/xhtml">'
          'fetch("/api/v1/tokens", {method: "POST"})</html:script></bpmn:documentation>')


def with_script() -> dict[str, str]:
    files = read_bundle(WORKFLOWS)
    marker = '<bpmn:userTask id="judge_validity"'
    head, rest = files[BPMN].split(marker, 1)
    tag_end = rest.index(">") + 1
    files[BPMN] = head + marker + rest[:tag_end] + SCRIPT + rest[tag_end:]
    return files


@pytest.mark.parametrize("namespace", ["http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"])
def test_markup_in_a_model_is_refused_with_its_line(namespace):
    files = with_script()
    files[BPMN] = files[BPMN].replace("http://www.w3.org/1999/xhtml", namespace)
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(files)
    [problem] = refused.value.problems
    line = next(i for i, text in enumerate(files[BPMN].splitlines(), 1) if "<html:script" in text)
    assert (problem.file, problem.line, problem.element_id) == (BPMN, line, "judge_validity")
    assert problem.code == ModelCode.MARKUP_ELEMENT and problem.params["tag"] == "script"


def test_stored_markup_is_served_as_sandboxed_text(system, login):
    shipped = validate_bundle(read_bundle(WORKFLOWS))
    shipped.files = with_script()  # as if stored before deploying refused it
    shipped.content_hash = "stored-before-the-markup-check"
    with UnitOfWork(system.db) as uow:
        version, _created = deploy_bundle(uow.session, shipped, "owner", source="cli")
        uow.commit()
    complaint_id = start(system).complaint_id
    for user, url in (("agent1", f"/complaints/{complaint_id}/model.bpmn"),
                      ("owner", f"/models/versions/{version.id}/files/{BPMN}")):
        response = login(user, "en").get(url)
        assert response.status_code == 200 and response.mimetype == "text/plain"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "html:script" in response.get_data(as_text=True)  # shown as text, never run
    download = login("agent1", "en").get(f"/complaints/{complaint_id}/model.bpmn")
    assert download.headers["Content-Disposition"].startswith("attachment;")
