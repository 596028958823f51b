"""The process new complaints start is configured in one place (`COMPLAINTS_PROCESS`, `Settings.process_id`), and
every path a bundle comes in by takes the bundle's main process from there (docs/MODELLING.md, "One validation
for every path"): a bundle whose lifecycle has another id, beside a process named like the shipped default, with
the setting naming the lifecycle, gets the same verdict and the same main process on the command line, the API,
the web upload and at start-up."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from engine.bootstrap import DEMO_PASSWORD, deploy_workflows
from engine.config import DEFAULT_PROCESS_ID, PROJECT_ROOT
from engine.db import UnitOfWork
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from engine.workflow.deploy import current_version, read_bundle, validate_bundle
from tests.conftest import System
from tests.modelling.variants import zipped
from tests.web.conftest import make_app
from web.cli import main as cli

OTHER = "claims_lifecycle"


def two_roots() -> dict[str, str]:
    """The shipped bundle with its lifecycle under the process id OTHER, beside a small script process named
    like the shipped one: two top-level processes, only the setting says which one runs."""
    files = read_bundle(PROJECT_ROOT / "workflows")
    files[f"{OTHER}.bpmn"] = files.pop(f"{DEFAULT_PROCESS_ID}.bpmn").replace(f'"{DEFAULT_PROCESS_ID}"', f'"{OTHER}"')
    script = (Path(__file__).parent / "corpus" / "accepted_script" / "script_only.bpmn").read_text(encoding="utf-8")
    files[f"{DEFAULT_PROCESS_ID}.bpmn"] = script.replace('"script_only"', f'"{DEFAULT_PROCESS_ID}"')
    return files


def test_every_path_runs_the_configured_process(system, tmp_path):
    files = two_roots()
    # The bundle lets the setting decide: left at its default, the shipped process is the main one.
    assert validate_bundle(files, main=DEFAULT_PROCESS_ID).process_id == DEFAULT_PROCESS_ID
    folder = tmp_path / "workflows"
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(content, encoding="utf-8")
    env = {"DATABASE_URL": system.settings.database_url, "COMPLAINTS_PROCESS": OTHER}

    validated = CliRunner().invoke(cli, ["validate", "--json", str(folder)], env=env)
    assert validated.exit_code == 0, validated.output
    assert [(r["ok"], r["process"]) for r in json.loads(validated.stdout)] == [(True, OTHER)]
    deployed = CliRunner().invoke(cli, ["deploy", str(folder), "--user", "owner", "--json"], env=env)
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.stdout)["process"] == OTHER

    configured = System(db=system.db, settings=replace(system.settings, process_id=OTHER))
    app = make_app(configured)
    with UnitOfWork(system.db) as uow:
        token = api_tokens.create_token(uow, SYSTEM, "owner", "tests")[1]
    api = app.test_client()
    checked = api.post("/api/v1/process-models/validate", headers={"Authorization": f"Bearer {token}"},
                       data={"files": (io.BytesIO(zipped(files)), "workflows.zip")})
    assert checked.status_code == 200 and checked.json["process_id"] == OTHER, checked.json
    assert checked.json["valid"] is True and checked.json["test_results"], checked.json

    owner = app.test_client()
    assert owner.post("/login", data={"username": "owner", "password": DEMO_PASSWORD}).status_code == 302
    uploaded = owner.post("/models/upload", data={"files": (io.BytesIO(zipped(files)), "workflows.zip")},
                          content_type="multipart/form-data")
    assert uploaded.status_code == 303 and uploaded.location.endswith(f"/models/{OTHER}/draft"), uploaded.location
    checked = owner.post(f"/models/{OTHER}/draft/test").json
    assert checked["problems"] == [] and checked["results"] and checked["passed"], checked

    started = deploy_workflows(system.db, replace(configured.settings, workflows_dir=folder))
    assert started.process_id == OTHER and started.current.process_id == OTHER
    with UnitOfWork(system.db, write=False) as uow:
        current = current_version(uow.session, OTHER)
        assert current.id == started.current.id and current.content_hash == started.folder_hash
        # The shipped process stays as it was: nothing of the bundle was taken as its new version.
        assert current_version(uow.session, DEFAULT_PROCESS_ID).source == "startup"
        assert current_version(uow.session, DEFAULT_PROCESS_ID).content_hash != started.folder_hash
