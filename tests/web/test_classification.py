"""The automatic first classification: rules the process owner edits (workflows/classification.json, deployed
with the model), shown to the agent at the validity check with the words that matched, confirmed or changed
there — the change routes the complaint — and counted in the reports."""
from __future__ import annotations

import io
import json
import shutil
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.complaints import classify, reports
from engine.db import UnitOfWork
from engine.errors import ModelCode
from engine.models import Classification, Complaint
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from engine.workflow.classification_rules import RULES_FILE, rules_problems
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from forms.errors import error
from tests.lifecycle import open_task, step
from tests.web.conftest import text_of
from tests.web.test_public_form import FORM, _post

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
RULES = (WORKFLOWS / RULES_FILE).read_text()


def _suggest(**texts):
    return classify.suggest(classify.parse_rules(RULES), texts)


@pytest.mark.parametrize(("text", "category", "level", "words"), [
    ("快递三天了还没收到", "logistics", "dissatisfied", {"快递", "没收到"}),
    ("买到的是假货，不是正品，我要去12315投诉", "counterfeit", "major", {"假货", "不是正品", "12315"}),
    ("The kettle arrived broken and the courier was rude", "product_quality", "dissatisfied", {"broken"}),
    ("客服态度很差，第二次了，我要曝光到微博", "service_attitude", "crisis", {"态度", "曝光", "微博"}),
    ("Please send the invoice for my order", "invoice", "dissatisfied", {"invoice"}),
    ("谢谢", "transaction_dispute", "dissatisfied", set()),  # nothing matched: the rules' default
    # 不理 is a whole word of the segmented text in the first, the start of 不理解 in the second.
    ("问了三次客服都不理我", "service_attitude", "dissatisfied", {"不理"}),
    ("我不理解为什么订单被取消了", "transaction_dispute", "dissatisfied", set()),
])
def test_the_shipped_rules_suggest_from_chinese_and_english_text(text, category, level, words):
    suggestion = _suggest(description=text)
    assert (suggestion.category, suggestion.level) == (category, level)
    assert words <= {m["word"] for m in suggestion.matched}


def test_latin_words_match_whole_words_only_and_case_blind():
    rules = classify.parse_rules(json.dumps({"categories": [{"category": "a", "words": ["fire"]}],
                                             "levels": [{"level": "crisis", "words": ["Fire"]}]}))
    assert classify.suggest(rules, {"description": "Fireworks were late"}).category is None
    assert classify.suggest(rules, {"demand": "It caught FIRE!"}).matched == [
        {"word": "fire", "field": "demand", "for": "category"}, {"word": "fire", "field": "demand", "for": "level"}]


def test_whole_words_count_only_where_the_segmentation_cuts_at_both_ends():
    rules = classify.parse_rules(json.dumps({"categories": [
        {"category": "attitude", "words": ["态度"], "whole_words": ["不理"]},
        {"category": "tone", "words": ["不理"]}]}))
    assert [(s.category, s.words("category")) for s in map(_suggest_with(rules), (
        "客服不理我", "我不理解这个规定", "对我不理不睬"))] == [
        ("attitude", ["不理"]),  # both rules match once: the earlier wins
        ("tone", ["不理"]),  # a substring rule still matches inside 不理解
        ("tone", ["不理"])]  # 不理不睬 is one word: the whole word 不理 is not there
    assert rules_problems(json.dumps({"categories": [{"category": "x", "words": ["y"], "whole_words": "z"}]})) == [
        error(ModelCode.RULES_NOT_LIST, list="categories[1].whole_words")]


def _suggest_with(rules):
    return lambda text: classify.suggest(rules, {"description": text})


def test_a_rules_file_with_mistakes_is_named_entry_by_entry():
    assert rules_problems(RULES) == []
    bad = json.dumps({"categories": [{"category": "x", "words": []}, {"words": ["y"]}], "levels": "no"})
    assert rules_problems(bad) == [error(ModelCode.RULES_ENTRY_NEEDS_WORDS, entry="categories[1]", value="x"),
                                   error(ModelCode.RULES_ENTRY_NEEDS_KEY, entry="categories[2]", key="category"),
                                   error(ModelCode.RULES_NOT_LIST, list="levels")]
    assert rules_problems("{")[0].code == ModelCode.RULES_INVALID_JSON
    assert rules_problems("{")[0].params["line"] == 1
    assert classify.parse_rules("[1]") == classify.Rules()


def test_deploying_rules_that_name_no_category_of_the_form_is_refused(tmp_path):
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    rules = json.loads(RULES)
    rules["categories"][1]["category"] = "quality"
    (tmp_path / "workflows" / RULES_FILE).write_text(json.dumps(rules, ensure_ascii=False))
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(read_bundle(tmp_path / "workflows"))
    (problem,) = refused.value.problems
    assert problem.file == RULES_FILE and problem.code == ModelCode.RULES_VALUE_NOT_OFFERED
    assert problem.params["value"] == "quality" and problem.params["key"] == "category"


def test_the_agent_sees_the_suggestion_and_changes_it_which_routes_the_complaint(system, app, login):
    assert _post(app.test_client(), description="水壶底座有裂纹，快递外箱完好", demand="换货").status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.scalar(select(Complaint))
    assert complaint.category == "product_quality"
    task = open_task(system, complaint.id)
    agent = login("agent1")
    page = text_of(agent.get(f"/task/{task.id}"))
    assert "系统建议的分类" in page and "命中词语：裂、快递" not in page and "命中词语：裂" in page

    changed = agent.post(f"/complaints/{complaint.id}/classification",
                         data={"task": task.id, "category": "logistics"})
    assert changed.status_code == 302 and changed.headers["Location"].endswith(f"/task/{task.id}")
    assert "类别已改为：物流。" in text_of(agent.get(f"/task/{task.id}"))
    english = text_of(login("agent1", locale="en").get(f"/task/{task.id}"))  # the user's language from now on
    assert "Suggested classification" in english and "Quality management" in english
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalar(select(Classification))
        complaint = uow.session.get(Complaint, complaint.id)
    assert row.kept is False and row.decided_category == "logistics" and complaint.category == "logistics"
    step(system, complaint.id, "judge_validity")
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, complaint.id).department == "logistics"  # routed by the decision

    with UnitOfWork(system.db, write=False) as uow:
        report = reports.build_report(uow, system.actor("cs_manager"), "month", date(2026, 11, 23),
                                      ZoneInfo("Asia/Shanghai"))
    assert report.suggestion_kept.current == 0.0 and report.suggestion_kept.previous is None
    with UnitOfWork(system.db, write=False) as uow:  # a department head's report counts their department's
        own, other = (reports.build_report(uow, system.actor(head), "month", date(2026, 11, 23),
                                           ZoneInfo("Asia/Shanghai")).suggestion_kept.current
                      for head in ("head_logistics", "head_quality"))
    assert (own, other) == (0.0, None)
    assert "系统建议类别的采纳率" in text_of(login("cs_manager").get("/reports?kind=month&day=2026-11-23"))


def test_a_confirmed_suggestion_counts_as_kept(system, app, login):
    assert _post(app.test_client()).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.scalar(select(Complaint))
    task = open_task(system, complaint.id)
    login("agent1").post(f"/complaints/{complaint.id}/classification", data={"task": task.id, "category": "logistics"})
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(Classification.kept)) is True
        report = reports.build_report(uow, system.actor("cs_manager"), "month", date(2026, 11, 23),
                                      ZoneInfo("Asia/Shanghai"))
    assert report.suggestion_kept.current == 1.0
    exported = login("cs_manager").get("/reports/export.csv?kind=month&day=2026-11-23").get_data(as_text=True)
    (row,) = [line for line in exported.splitlines() if line.startswith("系统建议类别的采纳率")]
    assert "100" in row, row
    with UnitOfWork(system.db) as uow:
        bearer = api_tokens.create_token(uow, SYSTEM, "gm", "tests")[1]
    month = app.test_client().get("/api/v1/reports/month?date=2026-11-23",
                                  headers={"Authorization": f"Bearer {bearer}"}).get_json()
    assert month["suggestion_kept"]["current"] == 1.0


def test_only_the_validity_checks_holders_decide_and_only_offered_categories(system, app, login):
    assert _post(app.test_client(), **FORM).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.scalar(select(Complaint))
    task = open_task(system, complaint.id)
    url = f"/complaints/{complaint.id}/classification"
    assert login("head_logistics").post(url, data={"task": task.id, "category": "invoice"}).status_code in (403, 404)
    refused = login("agent1").post(url, data={"task": task.id, "category": "no-such"}, follow_redirects=True)
    assert "请选择投诉登记表中的一个类别。" in text_of(refused)
    assert login("agent1").post(url, data={"task": "x/../y", "category": "invoice"}).status_code == 400
    step(system, complaint.id, "judge_validity")
    assert login("agent1").post(url, data={"task": task.id, "category": "invoice"}).status_code == 409
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(Classification.decided_at)) is None


def test_the_process_owner_changes_the_rules_and_new_complaints_follow_them(system, app, login):
    words = {"description": "积分一直没有到账", "demand": "请补上积分", "order_id": None}
    assert _post(app.test_client(), **words, customer_contact="139 0000 0001").status_code == 302
    rules = json.loads(RULES)
    next(r for r in rules["categories"] if r["category"] == "invoice")["words"].append("积分")
    owner = login("owner")  # through the models pages: the rules file uploaded into a draft, then deployed
    assert owner.post("/models/complaint_lifecycle/draft/open").status_code == 303
    uploaded = owner.post("/models/complaint_lifecycle/draft/upload", content_type="multipart/form-data",
                          data={"files": (io.BytesIO(json.dumps(rules, ensure_ascii=False).encode()), RULES_FILE)})
    assert uploaded.status_code == 303
    deployed = owner.post("/models/complaint_lifecycle/draft/deploy")
    assert deployed.status_code == 200, deployed.json
    assert _post(app.test_client(), **words, customer_contact="139 0000 0002").status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        before, after = uow.session.scalars(select(Complaint).order_by(Complaint.id))
        matched = uow.session.scalar(select(Classification.matched).where(Classification.complaint_id == after.id))
    assert before.category == "transaction_dispute" and after.category == "invoice"  # the default, then the rule
    assert {"word": "积分", "field": "description", "for": "category"} in matched
    assert after.version_id != before.version_id
