"""Model test cases: the shipped ones pass, a broken case says where, and deploy refuses failing models."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden
from engine.modelling.deployment import ModelTestsFailed, check_bundle, deploy_models, export_version, list_versions
from engine.models import AuditEvent, ProcessVersion
from engine.workflow.deploy import read_bundle
from tests.web.test_error_codes import ENGLISH
from web.messages import in_locale, render

CASES = "tests/lifecycle.json"


@pytest.fixture(scope="module")
def files():
    return read_bundle(PROJECT_ROOT / "workflows")


def with_cases(files, mutate):
    document = json.loads(files[CASES])
    mutate(document["cases"])
    return dict(files, **{CASES: json.dumps(document, ensure_ascii=False)})


def test_the_shipped_cases_pass(files):
    report = check_bundle(files)
    assert len(report.results) >= 8 and report.passed, [r.failures for r in report.results]


def test_a_failing_case_says_where(files):
    def break_cases(cases):
        cases[1]["expect"]["end"] = "end_closed_by_gm"
        cases[2]["steps"][2]["task"] = "approve_solution"  # out of order: analyse_and_propose is open
        cases[3]["steps"][0]["data"]["valid"] = "yes"

    results = check_bundle(with_cases(files, break_cases)).results
    failures = {r.name[:6]: r.failures for r in results if not r.passed}
    assert len(failures) == 3
    found = {f.code: f.params for fs in failures.values() for f in fs}
    assert found[Code.CASE_END].items() >= {"expected": "'end_closed_by_gm'", "reached": "'end_archived'"}.items()
    assert found[Code.CASE_TASK_NOT_OPEN] == {"step": 3, "task": "'approve_solution'",
                                              "open": "['analyse_and_propose']"}
    assert found[Code.CASE_STEP_FIELD]["step"] == 1 and found[Code.CASE_STEP_FIELD]["task"] == "judge_validity"
    worded = {code: (render(code, params, in_locale("en")), render(code, params, in_locale("zh")))
              for code, params in found.items()}
    assert worded[Code.CASE_END][0].startswith("end: expected 'end_closed_by_gm', reached 'end_archived'")
    assert worded[Code.CASE_TASK_NOT_OPEN] == (
        "step 3: expected task 'approve_solution' to be open; open: ['analyse_and_propose']",
        "第 3 步：任务 'approve_solution' 应处于待办状态，实际待办的是：['analyse_and_propose']")
    assert worded[Code.CASE_STEP_FIELD][1].startswith("第 1 步（judge_validity）：字段 valid：")
    assert not any(ENGLISH.search(chinese) for _english, chinese in worded.values()), worded


def test_a_model_failing_in_a_case_says_why_in_the_reader_language(files):
    """A case whose model fails while it runs says the step, the element and the reason (a code)."""
    broken = dict(files, **{"complaint_lifecycle.bpmn": files["complaint_lifecycle.bpmn"].replace(
        "<bpmn:script>", "<bpmn:script>probe = missing_amount\n", 1)})
    results = check_bundle(broken).results
    failure = next(f for r in results for f in r.failures)
    assert failure.code in (Code.CASE_START_FAILED, Code.CASE_MODEL_FAILED), failure
    assert (failure.params["reason"], failure.params["name"]) == (Code.RUN_UNDEFINED_NAME, "missing_amount")
    chinese = render(failure.code, failure.params, in_locale("zh"))
    assert "名称 missing_amount 未定义" in chinese and not ENGLISH.search(chinese), chinese


def test_deploy_runs_the_model_tests_first(system, files):
    changed = files["complaint_lifecycle.bpmn"].replace(
        ">round &lt;= max_rounds<", ">round &lt; max_rounds<").replace(">round <= max_rounds<", ">round < max_rounds<")
    assert changed != files["complaint_lifecycle.bpmn"]
    broken = dict(files, **{"complaint_lifecycle.bpmn": changed})
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        deploy_models(uow, system.actor("agent1"), broken)
    with UnitOfWork(system.db) as uow, pytest.raises(ModelTestsFailed) as info:
        deploy_models(uow, system.actor("owner"), broken)
    assert "round" in str(info.value) or "gm_decide" in str(info.value)
    with UnitOfWork(system.db, write=False) as uow:
        assert len(list(uow.session.scalars(select(ProcessVersion)))) == 1
    renamed = dict(files, **{"complaint_lifecycle.bpmn": files["complaint_lifecycle.bpmn"].replace(
        "回访顾客 Follow up with the customer", "回访顾客 Call the customer back")})
    with UnitOfWork(system.db) as uow:
        version, report = deploy_models(uow, system.actor("owner"), renamed)
    assert report.passed and version.is_current
    with UnitOfWork(system.db, write=False) as uow:
        versions = list_versions(uow, system.actor("owner"))
        exported = export_version(uow, version.id)
    assert [v["current"] for v in versions] == [True, False]
    assert exported == renamed
    with UnitOfWork(system.db, write=False) as uow:
        deployed = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "model_deployed")).one()
    assert (deployed.actor_name, deployed.data["version"], deployed.data["new"]) == ("owner", version.id, True)


@pytest.mark.slow  # runs the command as a subprocess
def test_the_command_fails_on_a_failing_case(tmp_path, files):
    folder = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "workflows", folder)
    cli = str(Path(sys.executable).parent / "complaints")
    assert subprocess.run([cli, "test-models", str(folder)], capture_output=True).returncode == 0
    (folder / CASES).write_text(with_cases(files, lambda c: c[0]["expect"].update(end="end_archived"))[CASES],
                                encoding="utf-8")
    result = subprocess.run([cli, "test-models", str(folder)], capture_output=True, text=True)
    assert result.returncode == 2 and "FAIL" in result.stdout and "reached 'end_not_valid'" in result.stdout
