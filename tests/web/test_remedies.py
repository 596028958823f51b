"""Remedies tracked (issue 17): refunds to done, returns and re-shipments with waybills, courier claims, the 7-day
no-reason return check from the delivery date, several solutions offered and one chosen, logistics sub-types in
the reports."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.complaints import reports, timers
from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.models import AuditEvent, Complaint, Penalty, Remedy, Timer
from tests.lifecycle import start, step
from tests.web.conftest import text_of


def _remedies(system, complaint_id: int) -> list[Remedy]:
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(Remedy).where(Remedy.complaint_id == complaint_id)
                                        .order_by(Remedy.id)))
        for row in rows:
            uow.session.expunge(row)
        return rows


def _kinds(system, complaint_id: int) -> list[str]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.complaint_id == complaint_id)))


def test_a_refund_is_tracked_to_done(system, login):
    complaint_id = start(system).complaint_id
    agent = login("agent1", locale="zh")
    response = agent.post(f"/complaints/{complaint_id}/remedies",
                          data={"kind": "refund", "amount": "39.9", "promised_on": "2026-11-26", "note": "原路退回"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#remedies")
    (refund,) = _remedies(system, complaint_id)
    assert (refund.state, refund.amount, refund.promised_on, refund.done_on) == (
        "promised", Decimal("39.90"), date(2026, 11, 26), None)
    page = text_of(agent.get(f"/complaints/{complaint_id}"))
    assert "39.90 元" in page and "已承诺" in page and "2026-11-26" in page
    done = agent.post(f"/complaints/{complaint_id}/remedies/{refund.id}",
                      data={"state": "done", "done_on": "2026-11-25"})
    assert done.status_code == 302
    (refund,) = _remedies(system, complaint_id)
    assert (refund.state, refund.done_on) == ("done", date(2026, 11, 25))
    assert "已退款" in text_of(agent.get(f"/complaints/{complaint_id}"))
    assert {"remedy_added", "remedy_updated"} <= set(_kinds(system, complaint_id))


def test_returns_reshipments_and_courier_claims(system, login):
    complaint_id = start(system).complaint_id
    head = login("head_logistics", locale="en")
    step(system, complaint_id, "judge_validity")
    step(system, complaint_id, "hand_over")
    assert head.post(f"/complaints/{complaint_id}/remedies",
                     data={"kind": "reshipment", "waybill": "SF1234567890", "courier": "顺丰"}).status_code == 302
    assert head.post(f"/complaints/{complaint_id}/remedies",
                     data={"kind": "courier_claim", "amount": "120"}).status_code == 302
    reship, claim = _remedies(system, complaint_id)
    assert (reship.state, reship.waybill, reship.courier) == ("sent", "SF1234567890", "顺丰")
    assert (claim.state, claim.amount) == ("filed", Decimal("120.00"))
    head.post(f"/complaints/{complaint_id}/remedies/{claim.id}", data={"state": "refused"})
    head.post(f"/complaints/{complaint_id}/remedies/{reship.id}", data={"state": "delivered"})
    reship, claim = _remedies(system, complaint_id)
    assert (claim.state, claim.done_on) == ("refused", date(2026, 11, 23))
    assert reship.state == "delivered"
    # A state of another kind is refused, named by its field; nothing changes.
    response = head.post(f"/complaints/{complaint_id}/remedies/{claim.id}", data={"state": "received"},
                         follow_redirects=True)
    assert "Status: " in response.get_data(as_text=True)
    assert _remedies(system, complaint_id)[1].state == "refused"


def test_bad_remedies_are_refused_field_by_field(system, login):
    complaint_id = start(system).complaint_id
    agent = login("agent1", locale="en")
    page = agent.post(f"/complaints/{complaint_id}/remedies", data={"kind": "refund", "amount": "-5"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Amount (yuan): Must be at least 0." in page
    page = agent.post(f"/complaints/{complaint_id}/remedies", data={"kind": "return", "promised_on": "soon"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Waybill number:" in page and "Promised for:" in page
    page = agent.post(f"/complaints/{complaint_id}/remedies", data={"kind": "cash"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Remedy:" in page
    assert _remedies(system, complaint_id) == []
    assert agent.post(f"/complaints/{complaint_id}/remedies/999", data={"state": "done"}).status_code == 404
    assert login("head_quality").post(f"/complaints/{complaint_id}/remedies",
                                      data={"kind": "refund", "amount": "1"}).status_code == 403


def test_seven_day_no_reason_return_from_the_delivery_date(system, login):
    within = start(system, delivered_on="2026-11-17").complaint_id  # received 2026-11-23: 6 days
    outside = start(system, delivered_on="2026-11-10").complaint_id
    unknown = start(system).complaint_id
    agent = login("agent1", locale="en")
    assert "Within the 7-day no-reason return: delivered 2026-11-17, 6 day(s)" in text_of(
        agent.get(f"/complaints/{within}"))
    assert "Outside the 7-day no-reason return: delivered 2026-11-10, 13 day(s)" in text_of(
        agent.get(f"/complaints/{outside}"))
    assert 'id="no-reason-return"' not in text_of(agent.get(f"/complaints/{unknown}"))


def test_several_solutions_offered_the_chosen_one_recorded(system):
    complaint_id = start(system).complaint_id
    step(system, complaint_id, "judge_validity")
    step(system, complaint_id, "hand_over")
    step(system, complaint_id, "analyse_and_propose", solutions_offered=["refund", "exchange", "gift"],
         solution_type="refund", refund_amount=59.5, refund_promised_on="2026-11-25")
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, complaint_id)
        assert complaint.solution_type == "refund"
        assert complaint.variables["solutions_offered"] == ["refund", "exchange", "gift"]
        assert complaint.variables["refund_promised_on"] == "2026-11-25"


def test_logistics_sub_types_are_counted_in_the_report(system, login):
    for issue in ("damaged", "damaged", "lost"):
        start(system, logistics_issue=issue)
    start(system, category="invoice")
    with UnitOfWork(system.db, write=False) as uow:
        report = reports.build_report(uow, system.actor("gm"), "month", date(2026, 11, 23),
                                      ZoneInfo("Asia/Shanghai"))
    assert [(f.key, f.current) for f in report.by_logistics_issue] == [("damaged", 2), ("lost", 1)]
    html = text_of(login("gm", locale="zh").get("/reports?kind=month&date=2026-11-23"))
    assert "物流问题类型" in html and "破损" in html and "丢件" in html


def test_bad_review_window_and_outcome(system, login):
    review = start(system, category="review", trade_completed_on="2026-11-13").complaint_id  # closes 11-28
    agent = login("agent1", locale="en")
    assert "Bad review: it can be changed until 2026-11-28 (5 day(s) left)." in text_of(
        agent.get(f"/complaints/{review}"))
    old = start(system, category="review", trade_completed_on="2026-11-01").complaint_id
    assert "the window to change it closed on 2026-11-16" in text_of(agent.get(f"/complaints/{old}"))
    assert 'id="review-window"' not in text_of(agent.get(f"/complaints/{start(system).complaint_id}"))
    for name in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, review, name)
    with pytest.raises(InvalidInput) as refused:  # not changed: the explanation posted must say something
        step(system, review, "follow_up", review_changed="not_changed", review_explanation="")
    assert "review_explanation" in refused.value.errors
    step(system, review, "follow_up", review_changed="not_changed", review_explanation="已在评价下说明：已补发并致歉")
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, review).variables["review_changed"] == "not_changed"


def _timers(system, cid: int, name: str) -> list[tuple[str, datetime]]:
    with UnitOfWork(system.db, write=False) as uow:
        return [(t.status, t.due_at) for t in uow.session.scalars(
            select(Timer).where(Timer.complaint_id == cid, Timer.name == name).order_by(Timer.due_at))]


def test_the_bad_review_window_is_a_deadline_with_a_warning(system):
    """15 days after 交易成功 (trade 11-13, last day 11-28 in Beijing: due 2026-11-28 16:00 UTC), warned 3 days
    before (the policy's warning ratio), on whatever task holds the complaint; a timeout when it passes."""
    review = start(system, category="review", trade_completed_on="2026-11-13").complaint_id
    closes = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert _timers(system, review, "judge_validity_review_deadline") == [("waiting", closes)]
    assert _timers(system, review, "judge_validity_review_warning") == [("waiting", closes - timedelta(days=3))]
    for name in ("judge_validity", "hand_over"):
        step(system, review, name)
    assert _timers(system, review, "judge_validity_review_deadline") == [("cancelled", closes)]
    clock.set_now(closes - timedelta(days=3) + timedelta(seconds=1))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        kinds = [e.kind for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == review, AuditEvent.task_name == "analyse_and_propose"))]
    assert "deadline_warning" in kinds
    clock.set_now(closes + timedelta(seconds=1))
    timers.run_due(system.db)
    assert _timers(system, review, "analyse_and_propose_review_deadline") == [("fired", closes)]
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(Penalty.deadline).where(
            Penalty.complaint_id == review, Penalty.deadline == closes)).all() == [closes]


def test_the_page_shows_the_window_the_model_set(system, login):
    """The last day shown is the one the review-window timer waits for, counted from the complaint's own value of
    the policy's `sla_review_window`: there is no second copy of the 15 days in the program."""
    review = start(system, category="review", trade_completed_on="2026-11-13").complaint_id
    [(_, due)] = _timers(system, review, "judge_validity_review_deadline")
    last_day = (due.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(seconds=1)).date().isoformat()
    agent = login("agent1", locale="en")
    page = text_of(agent.get(f"/complaints/{review}"))
    assert f"it can be changed until {last_day} (5 day(s) left)" in page

    def policy_gave(window: str) -> str:
        with UnitOfWork(system.db) as uow:
            complaint = uow.session.get(Complaint, review)
            complaint.variables = {**complaint.variables, "sla_review_window": window}
            uow.commit()
        return text_of(agent.get(f"/complaints/{review}"))

    assert "it can be changed until 2026-11-23 (0 day(s) left)" in policy_gave("P10D")
    assert "the window to change it closed on 2026-11-18" in policy_gave("P5D")


def test_no_window_deadline_for_other_complaints_or_a_window_closed_before_receipt(system):
    late = start(system, category="review", trade_completed_on="2026-11-01").complaint_id  # closed 11-16
    other = start(system, category="logistics", trade_completed_on="2026-11-20").complaint_id
    for cid in (late, other):
        assert _timers(system, cid, "judge_validity_review_deadline") == []  # no_deadline(): never stored
