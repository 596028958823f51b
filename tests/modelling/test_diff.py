"""What changed between two bundles: elements, lanes, conditions, timers, decision rules, form fields."""
from __future__ import annotations

import json
import re

from engine.modelling.diff import ADDED, CHANGED, REMOVED, diff_bundles
from tests.modelling.variants import BPMN, shipped, with_changed_form, with_lane, with_legal_review


def _by_id(diff):
    return {(c.kind, c.element_id or c.name): c for c in diff.changes}


def test_a_new_step_lists_its_elements_lane_form_and_test_case():
    changes = _by_id(diff_bundles(shipped(), with_legal_review()))
    task = changes[(ADDED, "legal_review")]
    assert task.what == "userTask"
    assert "lane: general_manager" in task.details
    assert "formJsonSchemaFilename: forms/legal_review.schema.json" in task.details
    assert (ADDED, "gw_counterfeit") in changes
    assert 'condition: category == "counterfeit"' in changes[(ADDED, "flow_counterfeit")].details
    assert changes[(CHANGED, "flow_not_on_site")].details == ["targetRef: hand_over → gw_counterfeit"]
    assert (ADDED, "forms/legal_review.schema.json") in changes
    assert any(c.what == "test case" and c.kind == ADDED for c in changes.values())


def test_lane_condition_timer_and_sla_changes():
    files = with_lane("hand_over", "agent", "cs_manager")
    bpmn = files[BPMN].replace("valid == True", "valid == True and not is_malicious", 1)
    timer = "deadline(received_at, sla_handover, basis_first_response)"
    assert bpmn.count(f">{timer}<") == 1
    bpmn = bpmn.replace(f">{timer}<", '>"2026-12-01T00:00:00+08:00"<')
    bpmn = bpmn.replace('name="sla" value="warning"', 'name="sla" value="deadline"', 1)
    files[BPMN] = bpmn
    changes = _by_id(diff_bundles(shipped(), files))
    assert changes[(CHANGED, "hand_over")].details == ["lane: agent → cs_manager"]
    assert changes[(CHANGED, "flow_valid")].details == [
        "condition: valid == True → valid == True and not is_malicious"]
    assert changes[(CHANGED, "hand_over_deadline")].details == [
        f'timer: timeDate {timer} → timeDate "2026-12-01T00:00:00+08:00"']
    assert changes[(CHANGED, "judge_validity_warning")].details == ["sla: warning → deadline"]


def test_decision_rules_and_form_fields():
    files = with_changed_form("hand_over")
    files["routing.dmn"] = files["routing.dmn"].replace(
        '<text>"quality"</text>\n        </outputEntry>\n      </rule>\n      <rule id="routing_review">',
        '<text>"sales"</text>\n        </outputEntry>\n      </rule>\n      <rule id="routing_review">')
    changes = _by_id(diff_bundles(shipped(), files))
    rule = changes[(CHANGED, "routing_counterfeit")]
    assert rule.what == "rule" and rule.details == ['then: department = "quality" → department = "sales"']
    assert changes[(ADDED, "extra_note")].what == "field"


def test_removed_elements_and_layout_only_changes():
    old = with_legal_review()
    new = dict(old)
    # judge_validity moved by 20 px, wherever the layout has it
    new[BPMN] = re.sub(r'(bpmnElement="judge_validity">\s*<dc:Bounds x=")(\d+)',
                       lambda m: m.group(1) + str(int(m.group(2)) + 20), old[BPMN], count=1)
    assert new[BPMN] != old[BPMN]
    layout = diff_bundles(old, new)
    assert layout.empty and layout.layout_only == [BPMN]
    back = diff_bundles(with_legal_review(), shipped())
    assert (REMOVED, "legal_review") in _by_id(back)
    assert back.ids(REMOVED) == ["flow_counterfeit", "flow_legal_review_to_hand_over", "flow_not_counterfeit",
                                 "gw_counterfeit", "legal_review"]


def test_unparsable_files_are_compared_as_text():
    old = {"forms/a.schema.json": "{not json", "p.bpmn": "x"}
    new = {"forms/a.schema.json": "{still not json", "p.bpmn": "y"}
    diff = diff_bundles(old, new)
    assert [(c.kind, c.what, c.file) for c in diff.changes] == [
        (CHANGED, "file", "forms/a.schema.json"), (CHANGED, "file", "p.bpmn")]
    assert json.dumps([c.details for c in diff.changes])
