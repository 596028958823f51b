"""The model check that every user task has a time limit (or says why it has none), and the model test
cases that walk the progress call and the second visit (docs/data-dictionary.md, "Time limits")."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import ModelCode
from engine.modelling.cases import read_cases, run_cases
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from engine.workflow.versions import from_bundle

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
BPMN = "complaint_lifecycle.bpmn"
#: The approval's deadline boundary events (its own limit and a bad review's window), as the model writes them.
APPROVAL_DEADLINE = re.compile(r'    <bpmn:boundaryEvent id="approve_solution(_review|)_deadline".*?'
                               r'</bpmn:boundaryEvent>\n'
                               r'.*?<bpmn:sequenceFlow id="approve_solution\1_deadline_flow"[^>]*/>\n', re.S)


def _without_approval_deadline(files: dict[str, str]) -> dict[str, str]:
    text, removed = APPROVAL_DEADLINE.subn("", files[BPMN])
    assert removed == 2
    for prefix in ("approve_solution", "approve_solution_review"):
        text = text.replace(f"<bpmn:flowNodeRef>{prefix}_deadline</bpmn:flowNodeRef>", "")
        text = text.replace(f"<bpmn:flowNodeRef>{prefix}_deadline_end</bpmn:flowNodeRef>", "")
    text = re.sub(r'<bpmndi:BPMN(Shape|Edge) id="approve_solution(_review)?_deadline(_end|_flow)?_di".*?'
                  r'</bpmndi:BPMN\1>', "", text, flags=re.S)
    return dict(files, **{BPMN: text})


def test_every_user_task_of_the_lifecycle_has_a_deadline_and_a_warning():
    text = validate_bundle(read_bundle(WORKFLOWS)).files[BPMN]
    tasks = re.findall(r'<bpmn:userTask id="([a-z_]+)"', text)
    assert len(tasks) == 16  # review of harassment, answer to suggestions / enquiries, on-the-spot handling (issue 17)
    for task in tasks:
        for kind in ("deadline", "warning"):  # and the warning before it (预警)
            assert re.search(rf'attachedToRef="{task}">\s*<bpmn:extensionElements>\s*<spiffworkflow:properties>\s*'
                             rf'<spiffworkflow:property name="sla" value="{kind}"', text), (task, kind)


def test_a_user_task_without_a_time_limit_is_refused_naming_it():
    files = _without_approval_deadline(read_bundle(WORKFLOWS))
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(files)
    problems = [(p.element_id, p.code) for p in refused.value.problems]
    assert problems == [("approve_solution", ModelCode.NO_TIME_LIMIT)]


def test_a_task_marked_untimed_with_a_reason_is_accepted_and_without_one_refused():
    files = _without_approval_deadline(read_bundle(WORKFLOWS))
    marker = '<spiffworkflow:property name="title_en" value="Approve the solution" />'
    with_reason = files[BPMN].replace(marker, marker + '\n          <spiffworkflow:property name="untimed" '
                                      'value="批示在会上当场作出 decided at the meeting" />')
    validate_bundle(dict(files, **{BPMN: with_reason}))
    without = files[BPMN].replace(marker, marker + '\n          <spiffworkflow:property name="untimed" value="" />')
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(dict(files, **{BPMN: without}))
    assert [p.code for p in refused.value.problems] == [ModelCode.UNTIMED_NEEDS_REASON]


def test_the_model_test_cases_pass_including_progress_call_and_second_visit():
    files = read_bundle(WORKFLOWS)
    results = run_cases(from_bundle(validate_bundle(files)), read_cases(files))
    names = [r.name for r in results]
    assert any("3天" in n for n in names) and any("二次到店" in n for n in names)
    assert [(r.name, r.failures) for r in results if not r.passed] == []


def test_complaints_validate_and_test_models_refuse_it_with_exit_2(tmp_path):
    from click.testing import CliRunner

    from web.cli import main as cli

    for path, text in _without_approval_deadline(read_bundle(WORKFLOWS)).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    refused = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert refused.exit_code == 2
    assert "[approve_solution] The user task has no time limit. (hint: Attach a timer boundary event" in refused.output
    untested = CliRunner().invoke(cli, ["test-models", str(tmp_path)])  # the model test cases run no such model
    assert untested.exit_code == 2 and "[approve_solution]: The user task has no time limit." in untested.output
    assert CliRunner().invoke(cli, ["validate", str(WORKFLOWS)]).exit_code == 0
