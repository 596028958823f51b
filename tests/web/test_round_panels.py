"""Each form shows the current round first: earlier rounds folded and labelled, the customer's survey answer
where staff decide, and a sent-back proposal reopened with its text and the approver's instruction on top."""
from __future__ import annotations

from engine.complaints import customer_link
from engine.db import UnitOfWork
from engine.models import Complaint
from tests.lifecycle import open_task, start, step

SECRET = "test-secret"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _survey(system, cid: int, satisfied: bool, rating: int, comment: str) -> None:
    with UnitOfWork(system.db, write=False) as uow:
        token = customer_link.link_token(SECRET, cid, uow.session.get(Complaint, cid).reference)
        offer = customer_link.customer_view(uow, SECRET, token).survey_offer
    with UnitOfWork(system.db) as uow:
        assert customer_link.submit_survey(uow, SECRET, token, offer,
                                           customer_link.Answer(satisfied, rating, comment)) is True


def test_the_sign_off_form_shows_round_two_first_with_the_survey_answer(system, login):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, cid, task)
    step(system, cid, "follow_up", satisfied=False, follow_up_notes="第一轮：仍有划痕，顾客不满意")
    step(system, cid, "analyse_and_propose", cause="第二轮原因：包装太薄")
    step(system, cid, "approve_solution")
    step(system, cid, "implement_solution", implementation_result="第二轮：已退货退款")
    _survey(system, cid, True, 5, "这次很满意")
    html = page(login("cs_manager"), f"/task/{open_task(system, cid).id}")
    side = html[html.index('class="side-column"'):]
    this_round, earlier = side.index("第 2 轮（本轮）"), side.index("第 1 轮")
    assert this_round < earlier
    current = side[this_round:earlier]
    assert "第二轮：已退货退款" in current and "第二轮原因：包装太薄" in current
    assert "顾客的满意度调查回复" in current and "这次很满意" in current and "评分（1–5）" in current
    assert "第一轮：仍有划痕" not in current and "第一轮：仍有划痕" in side[earlier:]
    assert '<details class="round current" open>' in side and '<details class="round">' in side
    # The complaint's own data above the rounds no longer mixes in answers of a round.
    assert side.index("第一轮：仍有划痕") > this_round


def test_a_sent_back_proposal_reopens_with_its_text_and_the_instruction_on_top(system, login):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over"):
        step(system, cid, task)
    step(system, cid, "analyse_and_propose", solution_detail="补偿 10 元运费")
    step(system, cid, "approve_solution", approved=False, approval_comment="补偿不够，请改为换新并补偿运费")
    html = page(login("head_logistics"), f"/task/{open_task(system, cid).id}")
    top = html[html.index("<main"):html.index('class="schema-form"')]
    assert "您提交的方案被退回" in top and "补偿不够，请改为换新并补偿运费" in top
    assert "补偿 10 元运费</textarea>" in html or 'value="补偿 10 元运费"' in html
    assert 'value="运输途中挤压"' in html or "运输途中挤压</textarea>" in html


def test_a_new_round_starts_from_an_empty_form(system, login):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, cid, task)
    step(system, cid, "follow_up", satisfied=False)
    html = page(login("head_logistics"), f"/task/{open_task(system, cid).id}")
    form = html[html.index('class="schema-form"'):]
    form = form[:form.index("</form>")]
    assert "运输途中挤压" not in form and "您提交的方案被退回" not in html
