"""Harassment and malicious complaints (issue 17): the verdict needs evidence, goes to the CS manager's review
queue, ends at its own end with the complainant flagged (shown at intake, not blocked), and the reports count
them by source."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.complaints import reports
from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.models import Complaint, Customer
from tests.conftest import START
from tests.lifecycle import open_task, start, step
from tests.web.conftest import text_of

VERDICT = {"valid": False, "validity_reason": "同一号码一天来电 20 次辱骂", "is_malicious": True,
           "malicious_evidence": "通话录音 3 段（已上传）"}


def test_the_verdict_needs_evidence(system):
    complaint_id = start(system).complaint_id
    with pytest.raises(InvalidInput) as refused:
        step(system, complaint_id, "judge_validity", **dict(VERDICT, malicious_evidence=""))
    assert "malicious_evidence" in refused.value.errors


def test_confirmed_harassment_ends_apart_flags_the_customer_and_is_reported(system, login):
    complaint_id = start(system, customer_contact="13911112222", channel="online_chat").complaint_id
    step(system, complaint_id, "judge_validity", **VERDICT)
    review = open_task(system, complaint_id)
    assert (review.name, review.role) == ("review_malicious", "cs_manager")
    step(system, complaint_id, "review_malicious", user="cs_manager", malicious_confirmed=True,
         malicious_action="blocked", review_note="录音属实")
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, complaint_id)
        assert (complaint.status, complaint.outcome) == ("closed", "end_malicious")
        assert uow.session.get(Customer, complaint.customer_record_id).flag == "malicious"
    # Not blocked: the same customer can complain again, and the agent sees the flag while typing.
    again = start(system, customer_contact="139 1111 2222").complaint_id
    assert again
    found = login("agent1").get("/customers/lookup?contact=13911112222").get_json()["customer"]
    assert found["flag"] == "malicious"
    with UnitOfWork(system.db, write=False) as uow:
        report = reports.build_report(uow, system.actor("gm"), "month", date(2026, 11, 23), ZoneInfo("Asia/Shanghai"))
    assert [(f.key, f.current) for f in report.malicious_by_channel] == [("online_chat", 1)]
    page = text_of(login("gm", locale="en").get("/reports?kind=month&date=2026-11-23"))
    assert "Harassment / malicious complaints by source" in page


def test_not_confirmed_goes_back_to_be_judged(system):
    complaint_id = start(system).complaint_id
    step(system, complaint_id, "judge_validity", **VERDICT)
    step(system, complaint_id, "review_malicious", user="cs_manager", malicious_confirmed=False, review_note="证据不足")
    assert open_task(system, complaint_id).name == "judge_validity"
    step(system, complaint_id, "judge_validity")  # valid after all: handled as usual
    assert open_task(system, complaint_id).name == "hand_over"


def test_an_enquiry_is_answered_outside_the_complaint_flow(system, login):
    enquiry = start(system, request_type="enquiry", description="请问七天无理由退货从哪天算起？").complaint_id
    task = open_task(system, enquiry)
    assert task.name == "answer_request"
    assert (task.due_at - START).total_seconds() == 24 * 3600  # the policy's reply limit: 24 hours
    step(system, enquiry, "answer_request", user="agent1", answer_channel="phone", answer_text="签收次日起 7 天")
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, enquiry).outcome == "end_answered"
    # A complaint without a type is a complaint (the form's default).
    assert open_task(system, start(system).complaint_id).name == "judge_validity"


def test_the_verdict_without_the_evidence_field_at_all_is_refused(system):
    complaint_id = start(system).complaint_id
    without = {k: v for k, v in VERDICT.items() if k != "malicious_evidence"}
    with pytest.raises(InvalidInput) as refused:
        step(system, complaint_id, "judge_validity", **without)
    assert "malicious_evidence" in refused.value.errors


def test_the_outcome_is_named_by_the_model(system, login):
    """The end event's name in the model says how the complaint ended, in the page's language."""
    enquiry = start(system, request_type="enquiry").complaint_id
    step(system, enquiry, "answer_request", user="agent1", answer_channel="phone", answer_text="签收次日起 7 天")
    assert "已答复建议或咨询" in text_of(login("agent1", "zh").get(f"/complaints/{enquiry}"))
    english = text_of(login("agent1", "en").get(f"/complaints/{enquiry}"))
    assert "(Suggestion or enquiry answered)" in english and "end_answered" not in english
    exported = login("agent1", "zh").get("/search.csv?status=closed").get_data(as_text=True)
    assert "已答复建议或咨询" in exported and "Suggestion" not in exported


def test_the_review_has_its_own_limit_not_the_sign_off_limit(system):
    """The policy's sla_malicious_review (4 hours; the CS manager's sign-off has 8): a wrongly flagged customer
    waits without an answer, so the review comes first (docs/data-dictionary.md §20)."""
    complaint_id = start(system, level="major").complaint_id  # counted on the clock at this level
    step(system, complaint_id, "judge_validity", **VERDICT)
    review = open_task(system, complaint_id)
    assert review.name == "review_malicious"
    assert review.due_at == START + timedelta(hours=4)
