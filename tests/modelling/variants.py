"""Variants of the shipped complaint model, as a process owner would make them (for diff and migration tests)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from engine.workflow.deploy import read_bundle

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"
BPMN = "complaint_lifecycle.bpmn"

LEGAL_FORM = {
    "type": "object",
    "title": "法务审核",
    "x-title-en": "Legal review",
    "properties": {
        "counterfeit_confirmed": {"type": "boolean", "title": "确认为假货", "x-title-en": "Counterfeit confirmed"},
        "legal_opinion": {"type": "string", "title": "法务意见", "x-title-en": "Legal opinion",
                          "minLength": 1, "maxLength": 4000},
    },
    "required": ["counterfeit_confirmed", "legal_opinion"],
    "additionalProperties": False,
}

_LEGAL_XML = """
    <bpmn:exclusiveGateway id="gw_counterfeit" name="假货投诉? Counterfeit?" default="flow_not_counterfeit">
      <bpmn:incoming>flow_not_on_site</bpmn:incoming>
      <bpmn:outgoing>flow_counterfeit</bpmn:outgoing>
      <bpmn:outgoing>flow_not_counterfeit</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="legal_review" name="法务审核 Legal review">
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUser>请审核假货投诉 {{ description }}。</spiffworkflow:instructionsForEndUser>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="forms/legal_review.schema.json" />
          <spiffworkflow:property name="title_en" value="Legal review" />
          <spiffworkflow:property name="untimed" value="法务审核时限由法务部另行规定" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_counterfeit</bpmn:incoming>
      <bpmn:outgoing>flow_legal_review_to_hand_over</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_counterfeit" sourceRef="gw_counterfeit" targetRef="legal_review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">category == "counterfeit"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_not_counterfeit" sourceRef="gw_counterfeit" targetRef="hand_over" />
    <bpmn:sequenceFlow id="flow_legal_review_to_hand_over" sourceRef="legal_review" targetRef="hand_over" />
  </bpmn:process>"""

LEGAL_CASE = {
    "name": "假货投诉经法务审核 Counterfeit claims get a legal review",
    "start": {"request_type": "complaint", "customer_name": "顾客乙", "customer_contact": "13900000000",
              "channel": "phone", "description": "疑似假货", "demand": "退货", "category": "counterfeit",
              "level": "dissatisfied"},
    "steps": [
        {"task": "judge_validity", "data": {"valid": True, "validity_reason": "有证据", "is_malicious": False}},
        {"task": "legal_review", "data": {"counterfeit_confirmed": True, "legal_opinion": "属实"}},
    ],
    "expect": {"open": ["hand_over"], "path": ["judge_validity", "legal_review"]},
}


def shipped() -> dict[str, str]:
    """The bundle in workflows/, as deployed on start-up."""
    return read_bundle(ROOT / "workflows")


def with_legal_review(files: dict[str, str] | None = None) -> dict[str, str]:
    """Counterfeit claims pass a general manager's legal review between routing and hand-over."""
    files = dict(files or shipped())
    bpmn = files[BPMN]
    bpmn = bpmn.replace('<bpmn:sequenceFlow id="flow_not_on_site" sourceRef="gw_on_site" targetRef="hand_over" />',
                        '<bpmn:sequenceFlow id="flow_not_on_site" sourceRef="gw_on_site" targetRef="gw_counterfeit" />')
    bpmn = bpmn.replace("<bpmn:incoming>flow_not_on_site</bpmn:incoming>\n"
                        "      <bpmn:incoming>flow_not_settled_on_site</bpmn:incoming>",
                        "<bpmn:incoming>flow_not_counterfeit</bpmn:incoming>\n"
                        "      <bpmn:incoming>flow_legal_review_to_hand_over</bpmn:incoming>\n"
                        "      <bpmn:incoming>flow_not_settled_on_site</bpmn:incoming>")
    bpmn = bpmn.replace("<bpmn:flowNodeRef>gm_review</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>gm_review</bpmn:flowNodeRef>\n"
                        "        <bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>")
    bpmn = bpmn.replace("<bpmn:flowNodeRef>hand_over</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>hand_over</bpmn:flowNodeRef>\n"
                        "        <bpmn:flowNodeRef>gw_counterfeit</bpmn:flowNodeRef>")
    bpmn = bpmn.replace("\n  </bpmn:process>", _LEGAL_XML, 1)
    assert bpmn.count("gw_counterfeit") > 4, "the shipped model changed: update this variant"
    files[BPMN] = bpmn
    files["forms/legal_review.schema.json"] = json.dumps(LEGAL_FORM, ensure_ascii=False, indent=2)
    tests = json.loads(files["tests/lifecycle.json"])
    tests["cases"].append(LEGAL_CASE)
    files["tests/lifecycle.json"] = json.dumps(tests, ensure_ascii=False, indent=2)
    return files


def with_changed_form(task: str, files: dict[str, str] | None = None) -> dict[str, str]:
    """The task's form gets one more optional field."""
    files = dict(files or shipped())
    path = f"forms/{task}.schema.json"
    schema = json.loads(files[path])
    schema["properties"]["extra_note"] = {"type": "string", "title": "补充说明", "maxLength": 200}
    files[path] = json.dumps(schema, ensure_ascii=False, indent=2)
    return files


def with_lane(task: str, lane_from: str, lane_to: str, files: dict[str, str] | None = None) -> dict[str, str]:
    """Move a user task (and nothing else) to another lane."""
    files = dict(files or shipped())
    bpmn = files[BPMN]
    ref = f"        <bpmn:flowNodeRef>{task}</bpmn:flowNodeRef>\n"
    assert ref in bpmn
    bpmn = bpmn.replace(ref, "", 1)
    anchor = f'<bpmn:lane id="lane_{lane_to}" name="{lane_to}">\n'
    assert anchor in bpmn and lane_from in bpmn
    files[BPMN] = bpmn.replace(anchor, anchor + ref, 1)
    return files


def zipped(files: dict[str, str]) -> bytes:
    """A bundle as an upload's zip archive: each file under workflows/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(f"workflows/{path}", content)
    return buffer.getvalue()
