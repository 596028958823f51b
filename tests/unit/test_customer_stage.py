"""What the customer's page says comes from the model (`customerStage` on user tasks and end events), not from
task names written into the engine."""
from __future__ import annotations

from engine.complaints import customer_link
from engine.config import PROJECT_ROOT
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.versions import from_bundle

WORKFLOWS = PROJECT_ROOT / "workflows"


def test_every_user_task_and_end_of_the_shipped_model_names_a_known_stage():
    version = from_bundle(validate_bundle(read_bundle(WORKFLOWS)))
    undeclared = [name for name, meta in version.tasks.items()
                  if meta.customer_stage not in customer_link.STAGE_ORDER]
    assert undeclared == []
    assert version.tasks["judge_validity"].customer_stage == "reviewing"
    assert version.tasks["follow_up"].customer_stage == "follow_up"
    assert version.end_stages == {"end_not_valid": "answered", "end_archived": "resolved",
                                  "end_closed_by_gm": "closed", "end_malicious": "closed",
                                  "end_answered": "answered", "end_withdrawn": "withdrawn"}


def test_a_model_without_stages_says_handling_and_closed():
    files = read_bundle(WORKFLOWS)
    bpmn = "complaint_lifecycle.bpmn"
    lines = files[bpmn].splitlines(keepends=True)
    files[bpmn] = "".join(line for line in lines if 'name="customerStage"' not in line)
    version = from_bundle(validate_bundle(files))
    assert {meta.customer_stage for meta in version.tasks.values()} == {None}
    assert version.end_stages == {}
    assert customer_link._stage_of(version.tasks["judge_validity"].customer_stage) == customer_link.DEFAULT_STAGE
