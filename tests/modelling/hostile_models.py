"""Models that would hang or crash at run time, and a way to store one as the current version past deploy's
refusals (as if stored before the checks existed), for the tests that check run time never takes the system
down: `tests/modelling/test_deployments.py` in the app, `tests/sandbox/test_hostile_server.py` on a live server."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy.orm import Session

from engine.models import ProcessVersion
from engine.workflow.deploy import deploy_bundle, validate_bundle

BPMN = "complaint_lifecycle.bpmn"
CORPUS = Path(__file__).resolve().parent / "corpus"

#: Loops through engine steps for ever (a script and a gateway whose condition is always true): valid, so
#: only the model's tests or the step budget stop it.
LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="complaint_lifecycle" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>turns = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f4">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin" />
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="again" />
    <bpmn:sequenceFlow id="f3" sourceRef="again" targetRef="spin">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
#: Calls its own process: started, it would never return (refused at deploy).
SELF_CALL = (CORPUS / "self_call" / "self_call.bpmn").read_text().replace('"self_call"', '"complaint_lifecycle"')
#: A plain task, nobody's work: the engine once crashed on it with a KeyError (refused at deploy).
PLAIN_TASK = (CORPUS / "plain_task" / "plain_task.bpmn").read_text().replace('"plain_task"', '"complaint_lifecycle"')
#: Each hostile model with the element a failed start names.
HOSTILE = [(LOOP, "spin"), (SELF_CALL, "call_myself"), (PLAIN_TASK, "check_goods")]


def store_past_the_checks(session: Session, model: str, element: str) -> ProcessVersion:
    """Make `model` the current version of complaint_lifecycle straight in the database; what validation
    refuses is parsed as SpiffWorkflow alone would."""
    bundle = validate_bundle({BPMN: LOOP})
    bundle.process_id, bundle.files = "complaint_lifecycle", {BPMN: model}
    if model is not LOOP:
        parser = SpiffBpmnParser()
        parser.add_bpmn_str(model.encode(), filename=BPMN)
        bundle.spec = parser.get_spec("complaint_lifecycle")
        bundle.subprocess_specs = parser.get_subprocess_specs("complaint_lifecycle")
        bundle.content_hash = f"stored-before-the-checks-{element}"
    version, _created = deploy_bundle(session, bundle, "owner", source="cli")
    return version
