"""A BPMN file carrying an XHTML script (stored before deploying refused markup), opened the ways a reader
can open it: the complaint page's diagram, the model link itself, the version's file. The script never runs.

On SQLite only (`one_backend`): what is checked is what the browser runs of a stored file, which the
database it was stored in cannot change."""
from __future__ import annotations

import re

import pytest

from engine.db import UnitOfWork
from engine.workflow.deploy import deploy_bundle, read_bundle, validate_bundle
from tests.browser.test_walkthrough import sign_in
from tests.lifecycle import start
from tests.modelling.test_deployments import BPMN, WORKFLOWS

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]

#: What the script would do if it ran: ask for a URL the test watches for.
BAIT = "/pwned-by-model-script"
SCRIPT = (f'<bpmn:documentation><html:script xmlns:html="http://www.w3.org/1999/xhtml">'
          f'fetch("{BAIT}"); document.title = "pwned"</html:script></bpmn:documentation>')


def store_version_with_script(system) -> int:
    bundle = validate_bundle(read_bundle(WORKFLOWS))
    files = dict(bundle.files)
    files[BPMN] = re.sub(r'(<bpmn:userTask id="judge_validity"[^>]*>)', lambda m: m.group(1) + SCRIPT,
                         files[BPMN], count=1)
    assert SCRIPT in files[BPMN]
    bundle.files, bundle.content_hash = files, "stored-before-the-markup-check"
    with UnitOfWork(system.db) as uow:
        version, _created = deploy_bundle(uow.session, bundle, "owner", source="cli")
        uow.commit()
    return version.id


def test_a_model_script_never_runs(system, live_server, pages):
    version_id = store_version_with_script(system)
    cid = start(system).complaint_id
    page = pages.open()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, live_server, "agent1")

    page.goto(f"{live_server}/complaints/{cid}")
    page.wait_for_selector('#diagram[data-ready="1"]')
    with page.expect_download() as download:  # the model link is a download, never a page
        page.evaluate(f"() => {{ window.location = '/complaints/{cid}/model.bpmn'; }}")
    assert "html:script" in download.value.path().read_text(encoding="utf-8")

    owner = pages.open()
    owner.on("request", lambda request: asked.append(request.url))
    sign_in(owner, live_server, "owner")
    owner.goto(f"{live_server}/models/versions/{version_id}/files/{BPMN}")
    assert "html:script" in owner.inner_text("body")  # shown as plain text
    # No wait for what cannot happen: a script would run while the file is parsed, before the load event `goto`
    # waited for, and its request would be reported by then; and the file's sandbox leaves no timer to run later.
    assert owner.title() != "pwned" and page.title() != "pwned"
    assert not [url for url in asked if BAIT in url]
